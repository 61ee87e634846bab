// Inviting a promoter: the affiliate (made or reused), a code, an access token and a
// welcome email with their link and their access link (SPEC §6).
import type { FastifyInstance } from 'fastify';
import type { Ctx } from '../../context.js';
import { badRequest, conflict, notFound } from '../../errors.js';
import { hashToken, randomId } from '../../ids.js';
import { welcomeMessage } from '../../mail.js';
import { codeSlug, email, slug, text } from '../../schemas/common.js';
import type { Affiliate, Site } from '../../store.js';
import { codeLinks, createAffiliate, createCode } from './sites.js';
import { siteScope } from './scope.js';

const inviteBody = {
  type: 'object',
  additionalProperties: false,
  properties: { affiliate: slug, name: text(200), email, nickname: text(100), code: codeSlug, event: slug },
  anyOf: [{ required: ['affiliate'] }, { required: ['name', 'email'] }],
} as const;

interface InviteInput {
  affiliate?: string;
  name?: string;
  email?: string;
  nickname?: string;
  code?: string;
  event?: string;
}

export const accessLink = (ctx: Ctx, token: string) => `${ctx.publicUrl}/promoter#token=${token}`;

export const affiliateView = (a: Affiliate) => ({ id: a.id, name: a.name, nickname: a.nickname, email: a.email, parent: a.parent });

/** Gives an affiliate a code (the one named, an existing one, or one named after them),
 *  a fresh access token, and sends the welcome email. */
export async function invite(ctx: Ctx, site: Site, affiliate: Affiliate, wanted: { code?: string; event?: string }) {
  return welcome(ctx, site, await grant(ctx, site, affiliate, wanted));
}

/** An invite's writes: the affiliate's code and a fresh access token (no email yet). */
export async function grant(ctx: Ctx, site: Site, affiliate: Affiliate, wanted: { code?: string; event?: string }) {
  const codes = (await ctx.store.listCodes(site.id)).filter((c) => c.affiliate === affiliate.id);
  let code = wanted.code ? codes.find((c) => c.code === wanted.code!.toLowerCase()) : (wanted.event ? undefined : codes[0]);
  if (!code) {
    const name = (wanted.code ?? affiliate.id).toLowerCase();
    const taken = await ctx.store.getCode(site.id, name);
    if (taken && wanted.code) throw conflict(`code ${name} already exists on this site`);
    // A name of our own choosing must not be one already used unregistered either: the code
    // would hand its past sales to the new promoter (the organiser may name it on purpose).
    const used = !taken && !wanted.code && (await ctx.store.codeSeen(site.id, name));
    const free = taken || used ? `${name}-${randomId(3).toLowerCase().replace(/[^a-z0-9]/g, '')}` : name;
    await createCode(ctx, site, { code: free, affiliate: affiliate.id, event: wanted.event });
    code = (await ctx.store.getCode(site.id, free))!;
  }
  const token = `ltp_${randomId(24)}`;
  await ctx.store.setAffiliateToken(site.id, affiliate.id, hashToken(token));
  return { affiliate, code: code.code, ...(await codeLinks(ctx, site, code)), token };
}

/** Sends the welcome email of a granted invite; answers the invite as the API shows it. */
export async function welcome(ctx: Ctx, site: Site, granted: Awaited<ReturnType<typeof grant>>) {
  const { affiliate, ...invited } = granted;
  let emailStatus: 'sent' | 'logged' | 'failed' | 'no_address' = 'no_address';
  if (affiliate.email) {
    const links = { link: invited.link, shortlink: invited.shortlink };
    const message = welcomeMessage({ name: affiliate.nickname ?? affiliate.name, siteName: site.name, ...links, accessLink: accessLink(ctx, invited.token) });
    emailStatus = await ctx.mail({ to: affiliate.email, ...message });
  }
  return { affiliate: affiliateView(affiliate), ...invited, email: emailStatus };
}

/**
 * Refuses an invite's unknown event, or its code when taken (by anyone but `affiliate`, who
 * may be given their own code again). Called before anything is written, so a refused invite
 * leaves nothing behind.
 */
export async function checkInvite(ctx: Ctx, site: Site, b: { affiliate?: string; code?: string; event?: string }): Promise<void> {
  if (b.event && !(await ctx.store.getEvent(site.id, b.event))) throw badRequest(`event ${b.event} is not an event of this site`);
  const taken = b.code ? await ctx.store.getCode(site.id, b.code.toLowerCase()) : null;
  if (taken && (!b.affiliate || taken.affiliate !== b.affiliate)) throw conflict(`code ${taken.code} already exists on this site`);
}

export function promoterRoutes(app: FastifyInstance, ctx: Ctx): void {
  siteScope(app, ctx, (scope) => {
    scope.post('/api/sites/:site/promoters', { schema: { body: inviteBody } }, async (request, reply) => {
      const site = request.site!;
      const b = request.body as InviteInput;
      await checkInvite(ctx, site, b);
      let affiliate: Affiliate | null;
      if (b.affiliate) {
        affiliate = await ctx.store.getAffiliate(site.id, b.affiliate);
        if (!affiliate) throw notFound(`affiliate ${b.affiliate} not found`);
      } else {
        affiliate = await createAffiliate(ctx, site.id, { name: b.name!, email: b.email!, nickname: b.nickname });
      }
      return reply.code(201).send(await invite(ctx, site, affiliate, b));
    });

    // Ends a promoter's access at once (their figures and codes stay); inviting them again
    // gives a new token.
    scope.delete(
      '/api/sites/:site/promoters/:affiliate/token',
      { schema: { params: { type: 'object', properties: { affiliate: slug } } } },
      async (request, reply) => {
        const site = request.site!;
        const { affiliate } = request.params as { affiliate: string };
        if (!(await ctx.store.getAffiliate(site.id, affiliate))) throw notFound(`affiliate ${affiliate} not found`);
        await ctx.store.setAffiliateToken(site.id, affiliate, null);
        return reply.code(204).send();
      },
    );

    scope.get('/api/sites/:site/affiliates', async (request) => ({
      affiliates: (await ctx.store.listAffiliates(request.site!.id)).map(affiliateView),
    }));
  });
}
