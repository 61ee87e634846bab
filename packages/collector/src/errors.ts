import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import sjson from 'secure-json-parse';
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

const PARSE = { protoAction: 'error', constructorAction: 'error' } as const;

/**
 * A JSON body, parsed with the prototype-poisoning protection of Fastify's own parser, or a
 * 400 saying what is wrong and where ("body is not JSON: Unexpected token } … position 12",
 * "… forbidden prototype property") instead of one sentence for every fault.
 */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') throw new HttpError(400, 'invalid_json', 'body is empty: send a JSON object');
  try {
    return sjson.parse(text, null, PARSE);
  } catch (error) {
    throw new HttpError(400, 'invalid_json', `body is not JSON: ${(error as Error).message}`);
  }
}

/** A compressed body would be read as garbage: a 415 naming its Content-Encoding. */
export function refuseEncoded(request: FastifyRequest): void {
  const encoding = request.headers['content-encoding'];
  if (encoding && encoding.toLowerCase() !== 'identity') {
    throw new HttpError(415, 'unsupported_media_type', `Content-Encoding ${encoding} is not accepted: send the body uncompressed`);
  }
}

/** Marks errors that came out of the database client (PostgreSQL store), for databaseUnavailable. */
export const FROM_DATABASE = Symbol.for('linktrail.fromDatabase');

/** What the client can't reach the database with: the network's words, pg's and pg-pool's. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED']);
const LOST = /^(Connection terminated|Connection ended|Client has encountered a connection error|Cannot use a pool after calling end)/;
const LATE = /^(timeout exceeded when trying to connect|Query read timeout|Connection terminated due to connection timeout)/;

/**
 * A server-reported SQL error (a SQLSTATE): the connection itself is fine and the transaction
 * can be rolled back. EPIPE is five capitals too, but a broken connection.
 */
export const isSqlError = (error: unknown): boolean => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !UNREACHABLE.has(code);
};

/**
 * Why the database can't serve the request now, in words for the client (no address or
 * detail), or null when the error is something else. Server states: connection exceptions
 * (08…), shutting down or starting (57P01-03), no free connection (53300), a statement past
 * its limit (57014). Connection failures (refused, reset, lost, timed out) count when they
 * came out of the database client (FROM_DATABASE).
 */
export function databaseUnavailable(error: unknown): string | null {
  if (typeof error !== 'object' || error === null) return null;
  const code = (error as { code?: unknown }).code;
  const message = (error as { message?: unknown }).message;
  if (typeof code === 'string' && isSqlError(error)) {
    if (code.startsWith('08')) return 'the connection to the database failed';
    if (code === '57P01' || code === '57P02' || code === '57P03') return 'the database is restarting';
    if (code === '53300') return 'the database has no free connection';
    if (code === '57014') return 'the database did not answer in time';
    return null;
  }
  if (!(FROM_DATABASE in error)) return null;
  if (code === 'ETIMEDOUT' || (typeof message === 'string' && LATE.test(message))) return 'the database did not answer in time';
  if ((typeof code === 'string' && UNREACHABLE.has(code)) || (typeof message === 'string' && LOST.test(message))) return 'the database is unreachable';
  return null;
}

/** Seconds a client is asked to wait before trying again when the database is unavailable. */
export const RETRY_AFTER_S = 5;

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
 * Requests Fastify refuses before routing (a path that does not decode): the same
 * `{ error, message }` as every other 4xx (Fastify's option `frameworkErrors`).
 */
export function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  void reply.code(400).send({ error: 'invalid_request', message: error.message });
}

/**
 * Requests Node's HTTP parser refuses (a Content-Length that is not the body's, broken
 * headers): Fastify's `clientErrorHandler`, answering `{ error, message }` with the parser's
 * reason instead of a bare "Client Error".
 */
export function clientErrorHandler(error: Error & { code?: string; reason?: string }, socket: Duplex): void {
  // A reset connection has no one to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, message] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'timeout', 'the request did not arrive in time']
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'headers_too_large', 'the request headers are too large']
        : [400, 'invalid_request', `malformed HTTP request: ${error.reason ?? error.message}`];
  const body = JSON.stringify({ error: code, message });
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(error);
}

/** While the database is unavailable, one log line per this many ms, counting the others. */
export const UNAVAILABLE_LOG_EVERY = 10_000;

/**
 * One place decides what a client sees: details below 500, a bare message above. Pixel
 * routes (config.gif) answer every error as a GIF with the reason in X-Linktrail-Error.
 */
export function installErrorHandler(app: FastifyInstance, now: () => number = Date.now): void {
  // An outage fails every request: at thousands a second, a line each would flood the log.
  // `unlogged`: the failures since the line before (which may have been an earlier outage's).
  let loggedAt = -Infinity;
  let unlogged = 0;
  app.setErrorHandler((error: FastifyError | HttpError, request, reply) => {
    let status = error.statusCode && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500;
    let code = 'internal';
    let message = 'internal error';
    const unavailable = status >= 500 && !(error instanceof HttpError) ? databaseUnavailable(error) : null;
    if (unavailable) {
      // Nothing was acknowledged: the client may send it again (a hit, an order: once only).
      if (now() - loggedAt >= UNAVAILABLE_LOG_EVERY) {
        request.log.error({ req: request, err: error, unlogged }, 'request failed: database unavailable');
        loggedAt = now();
        unlogged = 0;
      } else unlogged++;
      status = 503;
      code = 'database_unavailable';
      message = `${unavailable}; try again shortly`;
      reply.header('retry-after', String(RETRY_AFTER_S));
    } else if (status >= 500) {
      request.log.error({ req: request, err: error }, 'request failed');
    } else {
      code =
        error instanceof HttpError
          ? error.code
          : (FASTIFY_CODES[error.code] ?? (error instanceof SyntaxError ? 'invalid_json' : 'invalid_request'));
      message = error.message;
      if ((error as FastifyError).code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
        message = `Content-Type ${request.headers['content-type'] ?? '(none)'} is not accepted here: send application/json`;
      }
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
