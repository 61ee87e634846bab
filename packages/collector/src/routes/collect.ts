// POST /collect (sendBeacon text/plain JSON, or JSON) and GET /collect.gif (image fallback:
// the script's JSON in `d`, or the hit's fields as plain query parameters): pageviews and
// script conversions, public, acknowledged only once durable. The body goes to the ingest
// path as text: it parses and checks it (public-ingest.ts), maybe on the worker.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Ctx } from '../context.js';
import { refuseEncoded } from '../errors.js';
import { sendGif } from '../gif.js';
import { getPixel } from './head.js';
import { sendsGpc } from '../gpc.js';
import { collectBody, throwIfError, type Client } from '../public-ingest.js';
import { rawVid, sendVid } from '../visitor-cookie.js';

export function clientOf(request: FastifyRequest): Client {
  const h = request.headers;
  return {
    cookie: rawVid(request),
    userAgent: h['user-agent'] ?? null,
    hints: typeof h['sec-ch-ua'] === 'string' ? h['sec-ch-ua'] : null,
    gpc: sendsGpc(request),
  };
}

export function collectRoutes(app: FastifyInstance, ctx: Ctx): void {
  /** Stores the hit or conversion; for a stored pageview, returns the collector's verdict on it. */
  async function accept(request: FastifyRequest, reply: FastifyReply, text: string, from: 'body' | 'd' | 'querystring') {
    const answer = await ctx.ingest.run({ kind: 'collect', text, from, client: clientOf(request), now: ctx.now() });
    throwIfError(answer);
    if (answer.cookie) sendVid(request, reply, answer.cookie);
    return answer.verdict ?? null;
  }

  // These routes only: their own hook and body parsers.
  app.register(async (scope) => {
    // The script reads the verdict with fetch(credentials: 'include'): answer its origin.
    // The visitor cookie is SameSite=Lax, so only same-site pages ever see a cookie's vid.
    scope.addHook('onRequest', (request, reply, done) => {
      const origin = request.headers.origin;
      if (origin) reply.header('access-control-allow-origin', origin).header('access-control-allow-credentials', 'true').header('vary', 'Origin');
      done();
    });

    scope.options('/collect', ctx.limits.publicRoute(), async (_request, reply) =>
      reply
        .code(204)
        .header('access-control-allow-methods', 'POST')
        .header('access-control-allow-headers', 'content-type, accept')
        .header('access-control-max-age', '86400')
        .send(),
    );

    // The body stays text (JSON or text/plain alike): the ingest path parses and checks it.
    scope.removeContentTypeParser(['application/json', 'text/plain']);
    scope.addContentTypeParser(['application/json', 'text/plain'], { parseAs: 'string' }, (request, body, done) => {
      try {
        refuseEncoded(request);
        done(null, body);
      } catch (error) {
        done(error as Error, undefined);
      }
    });
    scope.post(
      '/collect',
      {
        ...ctx.limits.publicRoute(),
        // Documents the body; checked by the ingest path, not here.
        schema: { body: collectBody },
        validatorCompiler: () => () => true,
        bodyLimit: 64 * 1024,
      },
      async (request, reply) => {
        const verdict = await accept(request, reply, request.body as string, 'body');
        // Plain clients (sendBeacon) get 204; the script asks for the verdict to serve ready().
        if (verdict && request.headers.accept?.includes('application/json')) return reply.code(200).send(verdict);
        return reply.code(204).send();
      },
    );

    // The image fallback carries the same JSON in `d`, or the same fields as query parameters
    // (`?site=acme&vid=…&url=…`); either is checked the same way as a POST's body.
    getPixel(
      scope,
      '/collect.gif',
      {
        ...ctx.limits.publicRoute({ gif: true }),
        schema: {
          querystring: { type: 'object', properties: { d: { type: 'string', maxLength: 16384 } }, if: { required: ['d'] }, else: { required: ['site'] } },
        },
        attachValidation: true,
      },
      async (request, reply) => {
        if (request.validationError) return sendGif(reply, 400, request.validationError.message);
        const query = request.query as Record<string, unknown>;
        if (typeof query.d === 'string') await accept(request, reply, query.d, 'd');
        else await accept(request, reply, JSON.stringify(query), 'querystring');
        return sendGif(reply);
      },
    );
  });
}
