import type { FastifyBaseLogger, FastifyRequest } from 'fastify';

/** What a request log line says about the request: never the client's address (privacy). */
export function requestForLog(request: FastifyRequest) {
  return { method: request.method, url: request.url };
}

/** The level of the public routes' request logs (limits.ts): a line per hit would cost more than storing it. */
export const PUBLIC_LOG_LEVEL = 'warn';

/**
 * Fastify's childLoggerFactory: a request's logger. A route at the public level shares one
 * child at that level: a child per request at a level of its own (pino rebuilds its log
 * methods for each) took ~6% of the orders a second. Those lines carry the request's method
 * and URL (requestForLog), not a request id.
 */
export function requestLoggers() {
  const shared = new WeakMap<FastifyBaseLogger, FastifyBaseLogger>();
  return (logger: FastifyBaseLogger, bindings: Record<string, unknown>, opts: { level?: string }) => {
    if (opts.level !== PUBLIC_LOG_LEVEL) return logger.child(bindings, opts);
    let child = shared.get(logger);
    if (!child) shared.set(logger, (child = logger.child({}, { level: PUBLIC_LOG_LEVEL })));
    return child;
  };
}
