// GET /api/sites/:site/orders: the order list for payout checks. Every status stays visible
// (a refund shows as refunded), newest first, keyset-paginated. Never the customer key.
import type { FastifyInstance } from 'fastify';
import type { Ctx } from '../../context.js';
import { badRequest } from '../../errors.js';
import { fromMinor } from '../../money.js';
import { codeSlug, slug } from '../../schemas/common.js';
import { conversionType } from '../../schemas/conversion.js';
import { ORDER_STATUSES, type OrderStatus, type OrderSummary } from '../../store.js';
import { iso, parseRange } from '../../time.js';
import { siteScope } from './scope.js';

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

const querystring = {
  type: 'object',
  additionalProperties: false,
  properties: {
    code: codeSlug,
    affiliate: slug,
    status: { type: 'string', enum: ORDER_STATUSES },
    type: conversionType,
    from: { type: 'string', maxLength: 40, description: 'YYYY-MM-DD or YYYYMMDD (whole UTC day), ISO 8601 or epoch ms; default: 30 days before to' },
    to: { type: 'string', maxLength: 40, description: 'inclusive date or exclusive time; default: now' },
    limit: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT },
    cursor: { type: 'string', minLength: 1, maxLength: 300, pattern: '^[A-Za-z0-9_-]+$', description: '`next` of the previous page' },
  },
} as const;

const nullable = (type: string) => ({ type: [type, 'null'] }) as const;
const orderView = {
  type: 'object',
  properties: {
    order: { type: 'string' },
    ts: { type: 'string', format: 'date-time' },
    event: nullable('string'),
    type: { type: 'string' },
    status: { type: 'string', enum: ORDER_STATUSES },
    value: { type: 'string', description: 'major units, exact' },
    currency: { type: 'string' },
    tickets: { type: 'integer' },
    scanned: { type: 'integer' },
    code: nullable('string'),
    affiliate: nullable('string'),
    channel: { type: 'string' },
    source: nullable('string'),
  },
} as const;

const response = {
  200: {
    type: 'object',
    properties: {
      from: { type: 'string', format: 'date-time' },
      to: { type: 'string', format: 'date-time' },
      orders: { type: 'array', items: orderView },
      next: { ...nullable('string'), description: 'cursor of the next page; null on the last' },
    },
  },
} as const;

interface Query {
  code?: string;
  affiliate?: string;
  status?: OrderStatus;
  type?: string;
  from?: string;
  to?: string;
  limit: number;
  cursor?: string;
}

/** The cursor is the (ts, order) of the last row sent, opaque to clients. */
const encodeCursor = (o: OrderSummary) => Buffer.from(JSON.stringify([o.ts, o.order])).toString('base64url');

function decodeCursor(cursor: string): { ts: number; order: string } {
  try {
    const [ts, order] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (Number.isSafeInteger(ts) && typeof order === 'string' && order.length <= 128) return { ts: ts as number, order };
  } catch {
    // Falls through to the 400 below.
  }
  throw badRequest('cursor is not valid: pass the `next` value of a previous page');
}

export const orderSummaryView = (o: OrderSummary) => ({
  order: o.order,
  ts: iso(o.ts),
  event: o.event,
  type: o.type,
  status: o.status,
  value: fromMinor(o.valueMinor, o.currency),
  currency: o.currency,
  tickets: o.tickets,
  scanned: o.scanned,
  code: o.code,
  affiliate: o.affiliate,
  channel: o.channel,
  source: o.source,
});

export function orderRoutes(app: FastifyInstance, ctx: Ctx): void {
  siteScope(app, ctx, (scope) => {
    scope.get(
      '/api/sites/:site/orders',
      {
        schema: {
          summary: 'List orders and other conversions, newest first, with status and attribution',
          description: 'For payout checks: refunded, transferred, resold and cancelled orders stay listed with their status.',
          tags: ['orders'],
          querystring,
          response,
        },
      },
      async (request) => {
        const q = request.query as Query;
        const range = parseRange(q, ctx.now());
        if (typeof range === 'string') throw badRequest(range);
        const before = q.cursor === undefined ? null : decodeCursor(q.cursor);
        // One row more than asked tells whether another page follows.
        const rows = await ctx.store.listOrders(request.site!.id, {
          ...range,
          code: q.code?.toLowerCase() ?? null,
          affiliate: q.affiliate ?? null,
          status: q.status ?? null,
          type: q.type ?? null,
          before,
          limit: q.limit + 1,
        });
        const page = rows.slice(0, q.limit);
        return {
          from: iso(range.from),
          to: iso(range.to),
          orders: page.map(orderSummaryView),
          next: rows.length > q.limit ? encodeCursor(page[page.length - 1]!) : null,
        };
      },
    );
  });
}
