// GET /lt.js: the built tracker, cacheable, with an ETag so revalidation is a 304.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { FastifyInstance, RouteShorthandOptions } from 'fastify';
import { HttpError } from '../errors.js';

function defaultTrackerFile(): string {
  return createRequire(import.meta.url).resolve('@linktrail/tracker/lt.js');
}

/**
 * If-None-Match compares weakly (RFC 9110 §13.1.2): W/"x" matches "x" (nginx weakens the ETag
 * when it gzips), `*` matches any current version, and the field may list several tags.
 */
function noneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  return (header.match(/(?:W\/)?"[^"]*"/g) ?? []).some((tag) => tag.replace(/^W\//, '') === etag);
}

/** `file` defaults to @linktrail/tracker's built dist/lt.js, looked up on first request. */
export function scriptRoutes(app: FastifyInstance, routeOptions: RouteShorthandOptions, file?: string): void {
  let cached: { body: Buffer; etag: string } | null = null;
  const load = () => {
    if (!cached) {
      let body: Buffer;
      try {
        body = readFileSync(file ?? defaultTrackerFile());
      } catch {
        throw new HttpError(404, 'not_built', 'lt.js is not built yet: run npm run build');
      }
      cached = { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"` };
    }
    return cached;
  };

  app.get('/lt.js', routeOptions, async (request, reply) => {
    const { body, etag } = load();
    reply
      .header('content-type', 'text/javascript; charset=utf-8')
      .header('cache-control', 'public, max-age=3600, stale-while-revalidate=86400')
      .header('access-control-allow-origin', '*')
      .header('etag', etag);
    if (noneMatch(request.headers['if-none-match'], etag)) return reply.code(304).send();
    return reply.send(body);
  });
}
