// POST /collect (sendBeacon text/plain JSON, or JSON) and GET /collect.gif (image fallback):
// pageviews and script conversions, public, acknowledged only once durable.
import { Ajv } from 'ajv';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isAutomatedRequest } from '../bots.js';
import type { Ctx } from '../context.js';
import { normalizeConversion, recordConversion } from '../conversions.js';
import { HttpError } from '../errors.js';
import { gpcOptOut } from '../gpc.js';
import { conversionFields, type ConversionInput } from '../schemas/conversion.js';
import { slug } from '../schemas/common.js';
import { hitFields, type HitInput } from '../schemas/hit.js';
import { sendGif } from '../gif.js';
import { readVid, writeVid } from '../visitor-cookie.js';

const collectBody = {
  type: 'object',
  required: ['site'],
  properties: { site: slug, kind: { type: 'string', enum: ['pageview', 'conversion'] } },
  if: { required: ['kind'], properties: { kind: { const: 'conversion' } } },
  then: { required: ['order'], properties: conversionFields },
  else: { required: ['vid', 'url'], properties: hitFields },
} as const;

/** What the collector made of a pageview: the script serves linktrail('ready') from it. */
export interface Verdict {
  /** The canonical visitor id: the server cookie's when it has one. */
  vid: string;
  cid: string | null;
  channel: string;
  source: string | null;
  affiliate: string | null;
  /** A fresh touch: the script stores it as the last touch. */
  touch: boolean;
}

type CollectInput = { site: string; kind?: 'pageview' | 'conversion' } & Partial<HitInput> & Partial<ConversionInput>;

export function collectRoutes(app: FastifyInstance, ctx: Ctx): void {
  /** Stores the hit or conversion; for a stored pageview, returns the collector's verdict on it. */
  async function accept(request: FastifyRequest, reply: FastifyReply, body: CollectInput): Promise<Verdict | null> {
    const site = await ctx.sites.get(body.site);
    if (!site) throw new HttpError(404, 'unknown_site', `site ${body.site} is not registered`);
    if (gpcOptOut(site, request)) return null;
    // The server cookie outlives script cookies capped by the browser: it wins.
    const vid = readVid(request) ?? body.vid ?? null;
    if (vid) writeVid(request, reply, vid);
    if (body.kind === 'conversion') {
      const input = body as ConversionInput;
      const record = normalizeConversion(site, { ...input, vid: vid ?? undefined }, ctx.now());
      await recordConversion(ctx.store, site, record, input.sig);
      return null;
    }
    const hit = ctx.ingest.prepare(site, { ...(body as HitInput), vid: vid! }, ctx.now(), isAutomatedRequest(request.headers));
    await ctx.ingest.record([hit]);
    return {
      vid: hit.vid,
      cid: hit.cid,
      channel: hit.channel,
      source: hit.source,
      affiliate: hit.code,
      touch: hit.touch && hit.nav === null && !hit.bot,
    };
  }

  // The script reads the verdict with fetch(credentials: 'include'): answer its origin.
  // The visitor cookie is SameSite=Lax, so only same-site pages ever see a cookie's vid.
  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    if (origin && request.url.startsWith('/collect')) {
      reply.header('access-control-allow-origin', origin).header('access-control-allow-credentials', 'true').header('vary', 'Origin');
    }
  });

  app.options('/collect', ctx.limits.publicRoute(), async (_request, reply) =>
    reply
      .code(204)
      .header('access-control-allow-methods', 'POST')
      .header('access-control-allow-headers', 'content-type, accept')
      .header('access-control-max-age', '86400')
      .send(),
  );

  app.post(
    '/collect',
    { ...ctx.limits.publicRoute(), schema: { body: collectBody }, bodyLimit: 64 * 1024 },
    async (request, reply) => {
      const verdict = await accept(request, reply, request.body as CollectInput);
      // Plain clients (sendBeacon) get 204; the script asks for the verdict to serve ready().
      if (verdict && request.headers.accept?.includes('application/json')) return reply.code(200).send(verdict);
      return reply.code(204).send();
    },
  );

  // The image fallback carries the same JSON in `d`, checked by the same schema.
  const validate = new Ajv({ removeAdditional: true, coerceTypes: false, allowUnionTypes: true }).compile(collectBody);
  app.get(
    '/collect.gif',
    {
      ...ctx.limits.publicRoute({ gif: true }),
      schema: { querystring: { type: 'object', required: ['d'], properties: { d: { type: 'string', maxLength: 16384 } } } },
      attachValidation: true,
    },
    async (request, reply) => {
      if (request.validationError) return sendGif(reply, 400, request.validationError.message);
      let body: unknown;
      try {
        body = JSON.parse((request.query as { d: string }).d);
      } catch {
        return sendGif(reply, 400, 'd must be JSON');
      }
      if (!validate(body)) {
        const e = validate.errors?.[0];
        return sendGif(reply, 400, `d${(e?.instancePath ?? '').replace(/\//g, '.')} ${e?.message ?? 'is invalid'}`);
      }
      try {
        await accept(request, reply, body as CollectInput);
      } catch (error) {
        if (error instanceof HttpError && error.statusCode < 500) return sendGif(reply, error.statusCode, error.message);
        throw error;
      }
      return sendGif(reply);
    },
  );
}
