// Bearer tokens (SPEC §8): the operator's from the environment, a site's returned once at
// creation and stored hashed. 401 for a missing or wrong token; a token outside its scope
// gets a 404 that does not reveal whether the site exists.
import type { FastifyRequest } from 'fastify';
import type { Ctx } from './context.js';
import { HttpError, notFound, unauthorized } from './errors.js';
import { hashToken, safeEqual } from './ids.js';
import type { Affiliate, Site } from './store.js';

export type Principal =
  | { role: 'operator' }
  | { role: 'site'; site: Site }
  | { role: 'promoter'; site: Site; affiliate: Affiliate };

/** Checks the bearer token. An address that sent too many wrong tokens gets 429, even with a good one. */
export async function authenticate(ctx: Ctx, request: FastifyRequest): Promise<Principal> {
  const header = request.headers.authorization;
  if (!header) throw unauthorized('Authorization: Bearer <token> is required');
  await ctx.limits.auth.check(request);
  // The scheme is case-insensitive (RFC 9110 §11.1): "bearer" and "BEARER" are Bearer.
  const m = /^bearer +([\x21-\x7e]{1,200}) *$/i.exec(header);
  const token = m?.[1];
  const hash = token ? hashToken(token) : null;
  if (hash && safeEqual(hash, ctx.adminTokenHash)) return { role: 'operator' };
  const site = hash ? await ctx.store.siteByTokenHash(hash) : null;
  if (site) return { role: 'site', site };
  const promoter = hash ? await ctx.store.affiliateByTokenHash(hash) : null;
  const promoterSite = promoter && (await ctx.sites.get(promoter.siteId));
  if (promoter && promoterSite) return { role: 'promoter', site: promoterSite, affiliate: promoter.affiliate };
  await ctx.limits.auth.fail(request);
  throw unauthorized(token ? 'the token is not valid' : 'Authorization must be "Bearer <token>"');
}

export async function requireOperator(ctx: Ctx, request: FastifyRequest): Promise<void> {
  const p = await authenticate(ctx, request);
  if (p.role !== 'operator') throw new HttpError(403, 'forbidden', 'only the operator token may do this');
}

const promoterOnly = () => new HttpError(403, 'forbidden', 'a promoter token reads only /api/me');

/** A promoter's own site and affiliate record. */
export async function requirePromoter(ctx: Ctx, request: FastifyRequest): Promise<{ site: Site; affiliate: Affiliate }> {
  const p = await authenticate(ctx, request);
  if (p.role !== 'promoter') throw new HttpError(403, 'forbidden', 'this endpoint takes a promoter token');
  return p;
}

/** The site named in the URL, if the token may manage it. */
export async function requireSite(ctx: Ctx, request: FastifyRequest, siteId: string): Promise<Site> {
  const p = await authenticate(ctx, request);
  if (p.role === 'promoter') throw promoterOnly();
  if (p.role === 'site') {
    if (p.site.id !== siteId) throw notFound(`site ${siteId} not found`);
    return p.site;
  }
  const site = await ctx.store.getSite(siteId);
  if (!site) throw notFound(`site ${siteId} not found`);
  return site;
}
