// Bearer tokens (SPEC §8): the operator's from the environment, a site's returned once at
// creation and stored hashed. 401 for a missing or wrong token; a token outside its scope
// gets a 404 that does not reveal whether the site exists.
import type { FastifyRequest } from 'fastify';
import type { Ctx } from './context.js';
import { HttpError, notFound, unauthorized } from './errors.js';
import { hashToken, safeEqual } from './ids.js';
import type { Site } from './store.js';

export type Principal = { role: 'operator' } | { role: 'site'; site: Site };

/** Checks the bearer token. An address that sent too many wrong tokens gets 429, even with a good one. */
export async function authenticate(ctx: Ctx, request: FastifyRequest): Promise<Principal> {
  const header = request.headers.authorization;
  if (!header) throw unauthorized('Authorization: Bearer <token> is required');
  await ctx.limits.auth.check(request);
  const m = /^Bearer ([\x21-\x7e]{1,200})$/.exec(header);
  const token = m?.[1];
  if (token && safeEqual(token, ctx.adminToken)) return { role: 'operator' };
  const site = token ? await ctx.store.siteByTokenHash(hashToken(token)) : null;
  if (site) return { role: 'site', site };
  await ctx.limits.auth.fail(request);
  throw unauthorized(token ? 'the token is not valid' : 'Authorization must be "Bearer <token>"');
}

export async function requireOperator(ctx: Ctx, request: FastifyRequest): Promise<void> {
  const p = await authenticate(ctx, request);
  if (p.role !== 'operator') throw new HttpError(403, 'forbidden', 'only the operator token may do this');
}

/** The site named in the URL, if the token may manage it. */
export async function requireSite(ctx: Ctx, request: FastifyRequest, siteId: string): Promise<Site> {
  const p = await authenticate(ctx, request);
  if (p.role === 'site') {
    if (p.site.id !== siteId) throw notFound(`site ${siteId} not found`);
    return p.site;
  }
  const site = await ctx.store.getSite(siteId);
  if (!site) throw notFound(`site ${siteId} not found`);
  return site;
}
