import type { FastifyInstance } from 'fastify';
import type { Ctx } from '../context.js';

export function healthRoutes(app: FastifyInstance, ctx: Ctx): void {
  app.get('/healthz', async () => ({ ok: true, store: ctx.store.kind }));
}
