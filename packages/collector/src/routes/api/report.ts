// GET /api/sites/:site/report: source and promoter breakdowns (SPEC §7).
import type { FastifyInstance } from 'fastify';
import type { Ctx } from '../../context.js';
import { badRequest } from '../../errors.js';
import { DIMENSIONS, type Dimension, type ReportQuery } from '../../report.js';
import { slug } from '../../schemas/common.js';
import { iso, parseRange } from '../../time.js';
import { withTeams } from '../../teams.js';
import { siteScope } from './scope.js';

export const reportQuerystring = {
  type: 'object',
  required: ['by'],
  additionalProperties: false,
  properties: {
    by: { type: 'string', minLength: 1, maxLength: 40 },
    from: { type: 'string', maxLength: 40 },
    to: { type: 'string', maxLength: 40 },
    event: slug,
    format: { type: 'string', enum: ['json'] },
  },
} as const;

export interface ReportParams {
  by: string;
  from?: string;
  to?: string;
  event?: string;
}

/** Reads by/from/to/event into a query; `from`/`to` default to the last 30 days. */
export function parseReportQuery(q: ReportParams, now: number): ReportQuery {
  const dims = q.by.split(',').map((d) => d.trim());
  if (dims.length > 2) throw badRequest('by takes one or two dimensions, e.g. by=code,ticket_type');
  for (const d of dims) {
    if (!(DIMENSIONS as readonly string[]).includes(d)) {
      throw badRequest(`by must be one or two of ${DIMENSIONS.join(', ')}; got ${JSON.stringify(d)}`);
    }
  }
  if (dims.length === 2 && dims[0] === dims[1]) throw badRequest('by names the same dimension twice');
  const range = parseRange(q, now);
  if (typeof range === 'string') throw badRequest(range);
  return { dims: dims as Dimension[], ...range, event: q.event ?? null };
}

/** Runs a report and shapes the answer; by=affiliate rows carry their team's roll-up. */
export async function runReport(ctx: Ctx, siteId: string, query: ReportQuery) {
  const { rows, totals } = await ctx.store.report(siteId, query);
  const shaped = query.dims.length === 1 && query.dims[0] === 'affiliate' ? withTeams(rows, await ctx.store.listAffiliates(siteId)) : rows;
  return { by: query.dims.join(','), from: iso(query.from), to: iso(query.to), event: query.event, rows: shaped, totals };
}

export function reportRoutes(app: FastifyInstance, ctx: Ctx): void {
  siteScope(app, ctx, (scope) => {
    scope.get('/api/sites/:site/report', { schema: { querystring: reportQuerystring } }, async (request) =>
      runReport(ctx, request.site!.id, parseReportQuery(request.query as ReportParams, ctx.now())),
    );
  });
}
