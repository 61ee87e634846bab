// GET /r/:code (and /r/:site/:code): 302 to the code's registered target only, never to a
// URL from the request, with affiliate= and a server-minted lt_cid= that the landing adopts.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isAutomatedRequest } from '../bots.js';
import type { Ctx } from '../context.js';
import { HttpError, notFound } from '../errors.js';
import { gpcOptOut } from '../gpc.js';
import { randomId } from '../ids.js';
import { codeSlug, slug } from '../schemas/common.js';
import type { Code, Site } from '../store.js';
import { isHttpUrl } from '../validation.js';
import { rawVid } from '../visitor-cookie.js';

/**
 * Where a code's link goes: its target, else its event's page, else the site. A URL stored
 * before URLs were checked to parse is passed over, so one bad row can't fail every link.
 */
export async function codeTarget(ctx: Ctx, site: Site, code: Code): Promise<string> {
  if (code.target && isHttpUrl(code.target)) return code.target;
  const event = code.event ? await ctx.store.getEvent(site.id, code.event) : null;
  const target = [event?.url, site.url].find((u) => u && isHttpUrl(u));
  if (!target) throw new HttpError(409, 'unusable_target', `tracking code ${code.code} has no target URL that parses (site ${site.id}: ${JSON.stringify(site.url)})`);
  return target;
}

/** The code's link: its target with ?affiliate=CODE. */
export function withParams(target: string, params: Record<string, string>): string {
  const url = new URL(target);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url.toString();
}

export function redirectRoutes(app: FastifyInstance, ctx: Ctx): void {
  async function follow(request: FastifyRequest, reply: FastifyReply, siteId: string | null, raw: string) {
    const name = raw.toLowerCase();
    const found = siteId
      ? await ctx.store.getCode(siteId, name).then((code) => code && { siteId, code })
      : await ctx.store.findCode(name);
    const site = found && (await ctx.sites.get(found.siteId));
    if (!found || !site) throw notFound(`no tracking code ${name}`);
    const target = await codeTarget(ctx, site, found.code);
    // Global Privacy Control honoured: the visitor still lands, with the code, but unrecorded.
    if (gpcOptOut(site, request)) return reply.header('cache-control', 'no-store').redirect(withParams(target, { affiliate: name }), 302);
    const cid = randomId(12);
    const preview = request.method === 'HEAD' || isAutomatedRequest(request.headers);
    const click = {
      siteId: site.id,
      cid,
      ts: ctx.now(),
      vid: ctx.cookies.read(rawVid(request)),
      code: name,
      event: found.code.event,
      kind: preview ? ('preview' as const) : ('click' as const),
    };
    await ctx.ingest.run({ kind: 'click', click });
    return reply.header('cache-control', 'no-store').redirect(withParams(target, { affiliate: name, lt_cid: cid }), 302);
  }

  const opts = (params: object) => ({ ...ctx.limits.publicRoute(), schema: { params: { type: 'object', properties: params } } });
  app.get('/r/:code', opts({ code: codeSlug }), (request, reply) =>
    follow(request, reply, null, (request.params as { code: string }).code),
  );
  app.get('/r/:site/:code', opts({ site: slug, code: codeSlug }), (request, reply) => {
    const p = request.params as { site: string; code: string };
    return follow(request, reply, p.site, p.code);
  });
}
