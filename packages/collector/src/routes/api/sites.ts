// Sites (operator), and what an organiser sets up on one: events, affiliates, codes.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { requireOperator } from '../../auth.js';
import type { Ctx } from '../../context.js';
import { badRequest, conflict } from '../../errors.js';
import { hostOf, platformHosts } from '../../ingest.js';
import { hashToken, randomId, slugify } from '../../ids.js';
import { minorDigits } from '../../money.js';
import { codeSlug, currency, email, httpUrl, slug, text, timestamp } from '../../schemas/common.js';
import { isConflict, type Affiliate, type Code, type Site } from '../../store.js';
import { iso, parseInstant } from '../../time.js';
import { codeTarget, withParams } from '../redirect.js';
import { siteScope } from './scope.js';

// Dot-separated labels of letters, digits and inner hyphens (a final dot allowed).
const hostname = { type: 'string', minLength: 1, maxLength: 253, pattern: '^([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\\.)*[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\\.?$' } as const;

const siteBody = {
  type: 'object',
  required: ['id', 'name', 'url'],
  additionalProperties: false,
  properties: {
    id: slug,
    name: text(200),
    url: httpUrl,
    platformHosts: { type: 'array', maxItems: 50, items: hostname },
    windowDays: { type: 'integer', minimum: 1, maximum: 365 },
    currency,
    requireSignedConversions: { type: 'boolean' },
    honorGpc: { type: 'boolean' },
  },
} as const;

const eventBody = {
  type: 'object',
  required: ['id', 'name', 'url'],
  additionalProperties: false,
  properties: { id: slug, name: text(200), url: httpUrl, startsAt: timestamp },
} as const;

const affiliateBody = {
  type: 'object',
  required: ['name', 'email'],
  additionalProperties: false,
  properties: { id: slug, name: text(200), email, nickname: text(100), parent: slug },
} as const;

const codeBody = {
  type: 'object',
  required: ['code'],
  additionalProperties: false,
  properties: { code: codeSlug, affiliate: slug, event: slug, target: httpUrl },
} as const;

export const siteView = (s: Site) => ({
  id: s.id,
  name: s.name,
  url: s.url,
  platformHosts: s.platformHosts,
  windowDays: s.windowDays,
  currency: s.currency,
  createdAt: iso(s.createdAt),
  requireSignedConversions: s.requireSignedConversions,
  honorGpc: s.honorGpc,
});

/** A new conversion secret: 256 bits, shown once. */
export const newConversionSecret = () => `ltc_${randomId(32)}`;
/** A site's API token: shown once, only its hash stored. */
const newSiteToken = () => `lts_${randomId(24)}`;

export interface SiteInput {
  id: string;
  name: string;
  url: string;
  platformHosts?: string[];
  windowDays?: number;
  currency?: string;
  requireSignedConversions?: boolean;
  honorGpc?: boolean;
}

/**
 * Creates a site and returns its token (shown once; only its hash is stored), and its
 * conversion secret when it requires signed conversions (shown once too).
 */
export async function createSite(ctx: Ctx, input: SiteInput) {
  const cur = (input.currency ?? 'EUR').toUpperCase();
  if (minorDigits(cur) === null) throw badRequest(`currency ${JSON.stringify(input.currency)} is not an ISO 4217 code`);
  const hosts = (input.platformHosts ?? []).map((h) => h.toLowerCase().replace(/^www\.|\.$/g, ''));
  const empty = hosts.indexOf('');
  if (empty >= 0) throw badRequest(`platformHosts/${empty} names no host: ${JSON.stringify(input.platformHosts![empty])}`);
  const site: Site = {
    id: input.id,
    name: input.name,
    url: input.url,
    platformHosts: [...new Set(hosts)],
    windowDays: input.windowDays ?? 28,
    currency: cur,
    createdAt: ctx.now(),
    requireSignedConversions: input.requireSignedConversions ?? false,
    honorGpc: input.honorGpc ?? false,
  };
  const token = newSiteToken();
  const conversionSecret = site.requireSignedConversions ? newConversionSecret() : null;
  const created = await ctx.store.createSite(site, hashToken(token), conversionSecret);
  if (isConflict(created)) throw conflict(`site ${site.id} already exists`);
  ctx.sites.forget(site.id);
  return { site, token, conversionSecret };
}

/** A new affiliate; its id comes from the nickname or name, made unique on the site. */
export async function createAffiliate(ctx: Ctx, siteId: string, input: { id?: string; name: string; email: string; nickname?: string; parent?: string }) {
  if (input.parent && !(await ctx.store.getAffiliate(siteId, input.parent))) {
    throw badRequest(`parent ${input.parent} is not an affiliate of this site`);
  }
  const base = input.id ?? (slugify(input.nickname ?? input.name) || 'affiliate');
  for (let n = 1; n < 100; n++) {
    const a: Affiliate = {
      id: n === 1 ? base : `${base}-${n}`,
      name: input.name,
      nickname: input.nickname ?? null,
      email: input.email.toLowerCase(),
      parent: input.parent ?? null,
    };
    const created = await ctx.store.createAffiliate(siteId, a);
    if (!isConflict(created)) return a;
    if (input.id) throw conflict(`affiliate ${input.id} already exists`);
  }
  throw conflict(`too many affiliates named ${base}`);
}

export async function codeLinks(ctx: Ctx, site: Site, code: Code) {
  const owner = await ctx.store.findCode(code.code);
  return {
    link: withParams(await codeTarget(ctx, site, code), { affiliate: code.code }),
    shortlink: owner?.siteId === site.id ? `${ctx.publicUrl}/r/${code.code}` : `${ctx.publicUrl}/r/${site.id}/${code.code}`,
  };
}

/**
 * Refuses a URL off the site's own hosts (its url's and platformHosts, subdomains included):
 * shortlinks go to event pages and targets, and the collector's domain, shared by every site,
 * must not redirect anywhere a site's token names.
 */
function onOwnHosts(site: Site, url: string, field: string): void {
  const h = hostOf(url);
  const own = platformHosts(site);
  if (!h || !own.some((d) => h === d || h.endsWith(`.${d}`))) {
    throw badRequest(`${field} must be on the site's own hosts (${own.join(', ')}: its url and platformHosts)`);
  }
}

/** Registers a tracking code; the target may only point at the site's own hosts. */
export async function createCode(ctx: Ctx, site: Site, input: { code: string; affiliate?: string; event?: string; target?: string }) {
  const name = input.code.toLowerCase();
  if (input.affiliate && !(await ctx.store.getAffiliate(site.id, input.affiliate))) {
    throw badRequest(`affiliate ${input.affiliate} is not an affiliate of this site`);
  }
  const event = input.event ? await ctx.store.getEvent(site.id, input.event) : null;
  if (input.event && !event) throw badRequest(`event ${input.event} is not an event of this site`);
  if (input.target) onOwnHosts(site, input.target, 'target');
  const code: Code = {
    code: name,
    affiliate: input.affiliate ?? null,
    event: input.event ?? null,
    target: input.target ?? null,
    createdAt: ctx.now(),
  };
  const created = await ctx.store.createCode(site.id, code);
  if (isConflict(created)) throw conflict(`code ${name} already exists on this site`);
  return { code: name, affiliate: code.affiliate, event: code.event, ...(await codeLinks(ctx, site, code)) };
}

export function siteRoutes(app: FastifyInstance, ctx: Ctx): void {
  // The token is checked before the body is read: no validation answers without it.
  const operator = { onRequest: async (request: FastifyRequest) => requireOperator(ctx, request) };
  app.post('/api/sites', { ...operator, schema: { body: siteBody } }, async (request, reply) => {
    const { site, token, conversionSecret } = await createSite(ctx, request.body as SiteInput);
    return reply.code(201).send({ site: siteView(site), token, ...(conversionSecret ? { conversionSecret } : {}) });
  });

  siteScope(app, ctx, (scope) => {
    scope.get('/api/sites/:site', async (request) => ({ site: siteView(request.site!) }));

    // A new site token, e.g. after a leak: the old one stops working at once, on every process.
    scope.post('/api/sites/:site/token', async (request) => {
      const token = newSiteToken();
      await ctx.store.setSiteToken(request.site!.id, hashToken(token));
      return { token };
    });

    scope.post('/api/sites/:site/events', { schema: { body: eventBody } }, async (request, reply) => {
      const b = request.body as { id: string; name: string; url: string; startsAt?: string | number };
      let startsAt: number | null = null;
      if (b.startsAt !== undefined) {
        startsAt = parseInstant(b.startsAt);
        if (startsAt === null) throw badRequest('startsAt must be an ISO 8601 time or epoch milliseconds from 2000 to 9999');
      }
      onOwnHosts(request.site!, b.url, 'url');
      const event = { id: b.id, name: b.name, url: b.url, startsAt };
      if (isConflict(await ctx.store.createEvent(request.site!.id, event))) throw conflict(`event ${b.id} already exists`);
      return reply.code(201).send({ event: { ...event, startsAt: startsAt === null ? null : iso(startsAt) } });
    });

    scope.post('/api/sites/:site/affiliates', { schema: { body: affiliateBody } }, async (request, reply) => {
      const affiliate = await createAffiliate(ctx, request.site!.id, request.body as Parameters<typeof createAffiliate>[2]);
      return reply.code(201).send({ affiliate });
    });

    scope.post('/api/sites/:site/codes', { schema: { body: codeBody } }, async (request, reply) => {
      return reply.code(201).send(await createCode(ctx, request.site!, request.body as Parameters<typeof createCode>[2]));
    });

    scope.get('/api/sites/:site/codes', async (request) => {
      const site = request.site!;
      const codes = await ctx.store.listCodes(site.id);
      return {
        codes: await Promise.all(
          codes.map(async (c) => ({ code: c.code, affiliate: c.affiliate, event: c.event, target: c.target, ...(await codeLinks(ctx, site, c)) })),
        ),
      };
    });
  });
}
