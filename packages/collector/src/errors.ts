import type { FastifyError, FastifyInstance } from 'fastify';
import { sendGif } from './gif.js';

/** An error whose message is safe to show the client. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    /** Headers the answer carries (e.g. Retry-After). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const badRequest = (message: string, code = 'invalid_request') => new HttpError(400, code, message);
export const notFound = (message: string) => new HttpError(404, 'not_found', message);
export const conflict = (message: string) => new HttpError(409, 'conflict', message);
export const unauthorized = (message: string, code = 'unauthorized') => new HttpError(401, code, message);

// Fastify's own 4xx codes, mapped to short codes for clients.
const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_VALIDATION: 'invalid_request',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
};

/**
 * What a schema error says, as Fastify words it (`body/items/0/qty must be integer`), except
 * that an unknown field is named (`body.items.0 has an unknown field "x"`); `dots` writes every
 * path with dots (the image fallback's `d.items.0.qty`).
 */
export function schemaMessage(
  where: string,
  e: { keyword: string; instancePath: string; message?: string; params: Record<string, unknown> },
  dots = false,
): string {
  const path = dots || e.keyword === 'additionalProperties' ? e.instancePath.replace(/\//g, '.') : e.instancePath;
  if (e.keyword === 'additionalProperties') return `${where}${path} has an unknown field ${JSON.stringify(e.params.additionalProperty)}`;
  return `${where}${path} ${e.message ?? 'is invalid'}`;
}

/**
 * One place decides what a client sees: details below 500, a bare message above. Pixel
 * routes (config.gif) answer every error as a GIF with the reason in X-Linktrail-Error.
 */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | HttpError, request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500;
    let code = 'internal';
    let message = 'internal error';
    if (status >= 500) {
      request.log.error({ req: request, err: error }, 'request failed');
    } else {
      code =
        error instanceof HttpError
          ? error.code
          : (FASTIFY_CODES[error.code] ?? (error instanceof SyntaxError ? 'invalid_json' : 'invalid_request'));
      message = error.message;
      const first = (error as FastifyError).validation?.[0];
      if (first?.keyword === 'additionalProperties') message = schemaMessage((error as FastifyError).validationContext ?? 'body', first);
      if (error instanceof HttpError) reply.headers(error.headers);
    }
    if (request.routeOptions.config?.gif) return sendGif(reply, status, message);
    return reply.code(status).send({ error: code, message });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` }),
  );
}
