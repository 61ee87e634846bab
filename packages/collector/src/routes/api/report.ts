// GET /api/sites/:site/report: source and promoter breakdowns (SPEC §7).
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Ctx } from '../../context.js';
import { badRequest } from '../../errors.js';
import { exportFilename, reportCsv, reportXlsx, type ReportAnswer } from '../../export.js';
import { DIMENSIONS, type Dimension, type ReportQuery } from '../../report.js';
import { slug } from '../../schemas/common.js';
import { iso, parseRange } from '../../time.js';
import { withTeams } from '../../teams.js';
import type { Affiliate } from '../../store.js';
import { siteScope } from './scope.js';

export const reportQuerystring = {
  type: 'object',
  required: ['by'],
  additionalProperties: false,
  properties: {
    by: { type: 'string', minLength: 1, maxLength: 40, description: `one or two of ${DIMENSIONS.join(', ')}, comma-separated` },
    from: { type: 'string', maxLength: 40, description: 'YYYY-MM-DD or YYYYMMDD (whole UTC day), ISO 8601 or epoch ms; default: 30 days before to' },
    to: { type: 'string', maxLength: 40, description: 'inclusive date or exclusive time; default: now' },
    event: slug,
    format: { type: 'string', enum: ['json', 'csv', 'xlsx'], default: 'json' },
  },
} as const;

export interface ReportParams {
  by: string;
  from?: string;
  to?: string;
  event?: string;
  format?: 'json' | 'csv' | 'xlsx';
}

const counts = Object.fromEntries(
  ['visits', 'visitors', 'clicks', 'previews', 'orders', 'tickets', 'new_customers', 'scanned', 'unscanned'].map((k) => [k, { type: 'integer' }]),
);
const figures = {
  type: 'object',
  // Open: by=affiliate rows also carry parent and team (teams.ts).
  additionalProperties: true,
  properties: {
    ...counts,
    revenue: { type: 'object', additionalProperties: { type: 'integer' }, description: 'minor units per ISO 4217 currency' },
    conversion_rate: { type: ['number', 'null'], description: 'orders / visitors' },
    attendance_rate: { type: ['number', 'null'], description: 'scanned / tickets' },
    conversions: { type: 'object', additionalProperties: { type: 'integer' }, description: 'non-purchase conversions by type' },
  },
} as const;

export const reportResponse = {
  200: {
    type: 'object',
    description: 'JSON; with format=csv or xlsx the same rows and columns as a file download',
    properties: {
      by: { type: 'string' },
      from: { type: 'string', format: 'date-time' },
      to: { type: 'string', format: 'date-time' },
      event: { type: ['string', 'null'] },
      rows: {
        type: 'array',
        items: {
          ...figures,
          properties: {
            key: { type: ['string', 'null'] },
            keys: { type: 'array', items: { type: ['string', 'null'] } },
            ...figures.properties,
          },
        },
      },
      totals: figures,
    },
  },
} as const;

/** Answers the report as JSON, or as a CSV or XLSX download. */
export async function sendReport(reply: FastifyReply, siteId: string, report: ReportAnswer, format: ReportParams['format'], now: number) {
  if (format !== 'csv' && format !== 'xlsx') return report;
  const disposition = `attachment; filename="${exportFilename(siteId, report, format)}"`;
  reply.header('content-disposition', disposition).header('cache-control', 'private, no-store');
  if (format === 'csv') return reply.type('text/csv; charset=utf-8').send(reportCsv(report));
  return reply
    .type('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet')
    .send(await reportXlsx(report, new Date(now)));
}

/** Reads by/from/to/event into a query; `from`/`to` default to the last 30 days (UTC). */
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

/** Runs a report and shapes the answer; by=affiliate rows carry their team's roll-up, among
 *  `affiliates` (default: all of the site's; a promoter passes only their own team). */
export async function runReport(ctx: Ctx, siteId: string, query: ReportQuery, affiliates?: Affiliate[]) {
  const { rows, totals } = await ctx.store.report(siteId, query);
  const byAffiliate = query.dims.length === 1 && query.dims[0] === 'affiliate';
  const shaped = byAffiliate ? withTeams(rows, affiliates ?? (await ctx.store.listAffiliates(siteId))) : rows;
  return { by: query.dims.join(','), from: iso(query.from), to: iso(query.to), event: query.event, rows: shaped, totals };
}

export function reportRoutes(app: FastifyInstance, ctx: Ctx): void {
  siteScope(app, ctx, (scope) => {
    scope.get(
      '/api/sites/:site/report',
      {
        schema: {
          summary: 'Visits, clicks, orders, tickets, revenue and conversions by one or two dimensions',
          tags: ['reports'],
          querystring: reportQuerystring,
          response: reportResponse,
        },
      },
      async (request, reply) => {
        const params = request.query as ReportParams;
        const report = await runReport(ctx, request.site!.id, parseReportQuery(params, ctx.now()));
        return sendReport(reply, request.site!.id, report, params.format, ctx.now());
      },
    );
  });
}
