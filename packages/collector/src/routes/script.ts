// GET /lt.js: the built tracker, cacheable, with an ETag so revalidation is a 304.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
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

/** Accept-Encoding takes gzip: named with a q above 0, or else `*` with one (RFC 9110 §12.5.3). */
function takesGzip(header: string | undefined): boolean {
  const q = new Map<string, boolean>();
  for (const c of (header ?? '').toLowerCase().split(',')) {
    const [coding, ...params] = c.split(';').map((p) => p.trim());
    if (coding) q.set(coding, !params.some((p) => /^q\s*=\s*0(\.0*)?$/.test(p)));
  }
  return q.get('gzip') ?? q.get('*') ?? false;
}

/**
 * `file` defaults to @linktrail/tracker's built dist/lt.js, looked up on first request. Served
 * gzipped to clients that take it (every browser: 1.5 KB instead of 2.7), each encoding with its
 * own ETag, so a cache in between never hands one for the other.
 */
export function scriptRoutes(app: FastifyInstance, routeOptions: RouteShorthandOptions, file?: string): void {
  let cached: { body: Buffer; etag: string; gzipped: Buffer; gzipEtag: string } | null = null;
  const load = () => {
    if (!cached) {
      let body: Buffer;
      try {
        body = readFileSync(file ?? defaultTrackerFile());
      } catch {
        throw new HttpError(404, 'not_built', 'lt.js is not built yet: run npm run build');
      }
      const tag = createHash('sha256').update(body).digest('base64url').slice(0, 16);
      cached = { body, etag: `"${tag}"`, gzipped: gzipSync(body, { level: 9 }), gzipEtag: `"${tag}-gzip"` };
    }
    return cached;
  };

  app.get('/lt.js', routeOptions, async (request, reply) => {
    const script = load();
    const gzip = takesGzip(request.headers['accept-encoding']);
    const etag = gzip ? script.gzipEtag : script.etag;
    reply
      .header('content-type', 'text/javascript; charset=utf-8')
      .header('cache-control', 'public, max-age=3600, stale-while-revalidate=86400')
      .header('access-control-allow-origin', '*')
      .header('vary', 'Accept-Encoding')
      .header('etag', etag);
    if (noneMatch(request.headers['if-none-match'], etag)) return reply.code(304).send();
    if (gzip) reply.header('content-encoding', 'gzip');
    return reply.send(gzip ? script.gzipped : script.body);
  });
}
