import type { FastifyInstance } from 'fastify';
import type { Ctx } from '../context.js';
import { databaseUnavailable, FROM_DATABASE, RETRY_AFTER_S } from '../errors.js';
import type { Store } from '../store.js';

/** How long /healthz waits for the database: a load balancer's check must not hang. */
export const HEALTH_TIMEOUT_MS = 2_000;

const answer = {
  type: 'object',
  required: ['ok', 'store'],
  properties: {
    ok: { type: 'boolean' },
    store: { type: 'string', enum: ['sqlite', 'postgres'] },
    error: { type: 'string' },
    message: { type: 'string' },
  },
} as const;

/** Resolves when the database answers a trivial read within `ms`. */
async function checkDatabase(store: Store, ms: number): Promise<void> {
  if (store.ping) return store.ping(ms);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${ms} ms`), { code: 'ETIMEDOUT', [FROM_DATABASE]: true })), ms);
  });
  try {
    await Promise.race([store.getSetting('cookie_secret'), late]);
  } finally {
    clearTimeout(timer);
  }
}

export function healthRoutes(app: FastifyInstance, ctx: Ctx): void {
  // 200 when the database answers; 503 with the reason when it does not (Retry-After: 5).
  app.get('/healthz', { schema: { response: { 200: answer, 503: answer } } }, async (request, reply) => {
    try {
      await checkDatabase(ctx.store, HEALTH_TIMEOUT_MS);
      return { ok: true, store: ctx.store.kind };
    } catch (error) {
      request.log.warn({ err: error }, 'health check: the database did not answer');
      const message = databaseUnavailable(error) ?? 'the database is unreachable';
      return reply.code(503).header('retry-after', String(RETRY_AFTER_S)).send({ ok: false, store: ctx.store.kind, error: 'database_unavailable', message });
    }
  });
}
