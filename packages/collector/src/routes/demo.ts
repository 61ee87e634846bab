// The demo (LINKTRAIL_DEMO=1): serves examples/ under /demo/ and the demo site's report
// without a token, so a newcomer can click through and read the result in the browser.
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Ctx } from '../context.js';
import { notFound } from '../errors.js';
import { parseReportQuery, reportQuerystring, runReport, sendReport, type ReportParams } from './api/report.js';

export const DEMO_SITE = 'demo';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export function demoRoutes(app: FastifyInstance, ctx: Ctx, dir: string): void {
  // Only the files that are there at start, by name: nothing else on disk is reachable.
  const files = new Set(readdirSync(dir).filter((f) => TYPES[extname(f)]));
  app.get('/', (_request, reply) => reply.redirect('/demo/', 302));
  app.get('/demo/', (_request, reply) => reply.redirect('/demo/index.html', 302));
  app.get('/demo/:file', async (request, reply) => {
    const { file } = request.params as { file: string };
    if (!files.has(file)) throw notFound(`no demo page ${file}`);
    return reply.header('content-type', TYPES[extname(file)]!).header('cache-control', 'no-cache').send(readFileSync(join(dir, file)));
  });
  app.get('/demo/report', { schema: { querystring: { ...reportQuerystring, required: [] } } }, async (request, reply) => {
    const params = { by: 'code', ...(request.query as Partial<ReportParams>) };
    const report = await runReport(ctx, DEMO_SITE, parseReportQuery(params, ctx.now()));
    if (params.format === 'csv' || params.format === 'xlsx') return sendReport(reply, DEMO_SITE, report, params.format, ctx.now());
    return { site: DEMO_SITE, ...report };
  });
}
