import type { FastifyRequest } from 'fastify';

/** What a request log line says about the request: never the client's address (privacy). */
export function requestForLog(request: FastifyRequest) {
  return { method: request.method, url: request.url };
}
