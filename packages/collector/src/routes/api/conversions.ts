// Server postbacks, the attribution explanation, order life and door scans.
import type { FastifyInstance } from 'fastify';
import type { Ctx } from '../../context.js';
import { conversionView, normalizeConversion } from '../../conversions.js';
import { notFound } from '../../errors.js';
import { throwIfError } from '../../public-ingest.js';
import { text } from '../../schemas/common.js';
import { conversionBody, type ConversionInput } from '../../schemas/conversion.js';
import { ORDER_STATUSES, type OrderStatus } from '../../store.js';
import { sameSite, siteScope } from './scope.js';

const orderParams = { type: 'object', properties: { order: text(128) } } as const;

export function conversionRoutes(app: FastifyInstance, ctx: Ctx): void {
  siteScope(app, ctx, (scope) => {
    scope.post('/api/sites/:site/conversions', { schema: { body: conversionBody }, bodyLimit: 64 * 1024 }, async (request, reply) => {
      const site = request.site!;
      const input = request.body as ConversionInput & { site?: string };
      sameSite(site, input.site, 'body.site');
      const record = normalizeConversion(site, input, ctx.now());
      const answer = await ctx.ingest.run({ kind: 'postback', site, record, sig: input.sig });
      throwIfError(answer);
      return reply.code(answer.status).send({ conversion: conversionView(answer.conversion!) });
    });

    scope.get('/api/sites/:site/conversions/:order', { schema: { params: orderParams } }, async (request) => {
      const { order } = request.params as { order: string };
      const c = await ctx.store.getConversion(request.site!.id, order);
      if (!c) throw notFound(`order ${order} not found`);
      const view = conversionView(c);
      return { conversion: view, attribution: view.attribution };
    });

    scope.post(
      '/api/sites/:site/orders/:order/status',
      {
        schema: {
          params: orderParams,
          body: { type: 'object', required: ['status'], additionalProperties: false, properties: { status: { type: 'string', enum: ORDER_STATUSES } } },
        },
      },
      async (request) => {
        const { order } = request.params as { order: string };
        const { status } = request.body as { status: OrderStatus };
        if (!(await ctx.store.setOrderStatus(request.site!.id, order, status))) throw notFound(`order ${order} not found`);
        return { order, status };
      },
    );

    scope.post(
      '/api/sites/:site/orders/:order/scans',
      {
        schema: {
          params: orderParams,
          body: { type: 'object', required: ['scanned'], additionalProperties: false, properties: { scanned: { type: 'integer', minimum: 0, maximum: 1_000_000 } } },
        },
      },
      async (request) => {
        const { order } = request.params as { order: string };
        const { scanned } = request.body as { scanned: number };
        if (!(await ctx.store.setScanned(request.site!.id, order, scanned))) throw notFound(`order ${order} not found`);
        const c = await ctx.store.getConversion(request.site!.id, order);
        return { order, scanned: c!.scanned, tickets: c!.tickets };
      },
    );
  });
}
