// The promoter's own API: their codes, their (and their sub-promoters') figures, and new
// codes for their channels or recruits. Never buyers' data, other promoters or the event's
// overall figures: every number is filtered to the codes of their team.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { requirePromoter } from '../../auth.js';
import type { Ctx } from '../../context.js';
import { badRequest, conflict, HttpError } from '../../errors.js';
import { codeSlug, email, slug, text } from '../../schemas/common.js';
import type { Affiliate, Code, Site } from '../../store.js';
import { teamOf, teamRoot } from '../../teams.js';
import { oneAtATime } from '../../one-at-a-time.js';
import { DAY } from '../../time.js';
import { affiliateView, checkInvite, grant, welcome } from './promoters.js';
import { parseReportQuery, reportQuerystring, runReport, sendReport, type ReportParams } from './report.js';
import { codeLinks, createAffiliate, createCode } from './sites.js';

const codeBody = {
  type: 'object',
  required: ['code'],
  additionalProperties: false,
  properties: { code: codeSlug, event: slug, name: text(200), email },
  dependencies: { name: ['email'], email: ['name'] },
} as const;

async function team(ctx: Ctx, site: Site, me: Affiliate) {
  const affiliates = await ctx.store.listAffiliates(site.id);
  const ids = teamOf(me.id, affiliates);
  const codes = (await ctx.store.listCodes(site.id)).filter((c) => c.affiliate && ids.has(c.affiliate));
  return { affiliates: affiliates.filter((a) => ids.has(a.id)), codes };
}

/**
 * Refuses a new code, or a recruit, past the day's budgets of the promoter's whole team (its
 * recruits may recruit in turn; every recruit mails a welcome in the site's name, and every
 * code lengthens the team's reports), counted from what is stored, so they hold across
 * restarts (and, but for a race between them, across processes).
 */
async function checkBudgets(ctx: Ctx, site: Site, me: Affiliate, recruit: boolean): Promise<void> {
  const { recruitsPerDay, codesPerDay } = ctx.limits;
  if (codesPerDay <= 0 && (!recruit || recruitsPerDay <= 0)) return;
  const affiliates = await ctx.store.listAffiliates(site.id);
  const team = teamOf(teamRoot(me.id, affiliates), affiliates);
  const since = ctx.now() - DAY;
  const refuse = (max: number, what: string) =>
    new HttpError(429, 'rate_limited', `at most ${max} ${what} a day for a promoter's team; ask the organiser, or try again tomorrow`);
  if (codesPerDay > 0) {
    const codes = (await ctx.store.listCodes(site.id)).filter((c) => c.affiliate && team.has(c.affiliate) && c.createdAt >= since);
    if (codes.length >= codesPerDay) throw refuse(codesPerDay, 'new codes');
  }
  if (recruit && recruitsPerDay > 0 && (await ctx.store.countRecruits(site.id, [...team], since)) >= recruitsPerDay) {
    throw refuse(recruitsPerDay, 'recruits');
  }
}

/** A link or web address in a name: a scheme, www., or a dotted host ending in a known-looking top-level name. */
const LINKISH = /[a-z][a-z0-9+.-]*:\/\/|www\.|\b[a-z0-9-]+(\.[a-z0-9-]+)*\.(com|net|org|io|co|info|biz|xyz|top|link|click|site|online|app|me|ly|gl|to)\b/i;

declare module 'fastify' {
  interface FastifyRequest {
    /** The promoter whose token came, once checked (/api/me routes only). */
    promoter: { site: Site; affiliate: Affiliate } | null;
  }
}

export function meRoutes(app: FastifyInstance, ctx: Ctx): void {
  // The token is checked before the query or body: a wrong one is a 401 (and counts as a
  // failed authentication) whatever else the request holds.
  app.register(async (scope) => {
    scope.addHook('onRequest', async (request) => {
      request.promoter = await requirePromoter(ctx, request);
    });
    promoterRoutes(scope, ctx);
  });
}

function promoterRoutes(app: FastifyInstance, ctx: Ctx): void {
  const me = (request: FastifyRequest) => request.promoter!;
  const withLinks = (site: Site, codes: Code[]) =>
    Promise.all(codes.map(async (c) => ({ code: c.code, event: c.event, ...(await codeLinks(ctx, site, c)) })));

  app.get('/api/me', async (request) => {
    const { site, affiliate } = me(request);
    const t = await team(ctx, site, affiliate);
    return {
      site: { id: site.id, name: site.name },
      // Whoever recruited them stays out of sight, as in their report.
      affiliate: { ...affiliateView(affiliate), parent: null },
      codes: await withLinks(site, t.codes.filter((c) => c.affiliate === affiliate.id)),
      subPromoters: await Promise.all(
        t.affiliates
          .filter((a) => a.id !== affiliate.id)
          .map(async (a) => ({ id: a.id, name: a.name, nickname: a.nickname, parent: a.parent, codes: await withLinks(site, t.codes.filter((c) => c.affiliate === a.id)) })),
      ),
    };
  });

  app.get('/api/me/report', { schema: { querystring: reportQuerystring } }, async (request, reply) => {
    const { site, affiliate } = me(request);
    const { codes, affiliates } = await team(ctx, site, affiliate);
    const params = request.query as ReportParams;
    const query = { ...parseReportQuery(params, ctx.now()), codes: codes.map((c) => c.code), promoter: affiliate.id };
    // Their team only, cut off at themselves: whoever recruited them stays out of sight.
    const own = affiliates.map((a) => (a.id === affiliate.id ? { ...a, parent: null } : a));
    return sendReport(reply, site.id, await runReport(ctx, site.id, query, own), params.format, ctx.now());
  });

  // One new code at a time per site on this process: a budget is counted, then spent, with
  // no other request's write in between.
  const serially = oneAtATime();

  app.post('/api/me/codes', { schema: { body: codeBody } }, async (request, reply) => {
    const { site, affiliate } = me(request);
    const b = request.body as { code: string; event?: string; name?: string; email?: string };
    const name = b.code.toLowerCase();
    const recruit = Boolean(b.name && b.email);
    // The name opens a welcome email sent in the site's name: a promoter may not slip a link into it.
    if (recruit && LINKISH.test(b.name!)) throw badRequest("name must be the recruit's name, without a link or web address");
    const made = await serially(site.id, async () => {
      // Everything checked before anything is written: a refused recruit leaves no affiliate behind.
      await checkInvite(ctx, site, { code: b.code, event: b.event });
      // A code that already brought visits (used before anyone registered it) would hand its
      // past sales to whoever claims it: only the organiser may register it.
      if (await ctx.store.codeSeen(site.id, name)) throw conflict(`code ${name} has already been used on this site; pick another`);
      await checkBudgets(ctx, site, affiliate, recruit);
      if (!recruit) return { code: await createCode(ctx, site, { code: b.code, affiliate: affiliate.id, event: b.event }) };
      // A recruit: their own affiliate record under this promoter, their code, their token.
      const sub = await createAffiliate(ctx, site.id, { name: b.name!, email: b.email!, parent: affiliate.id });
      return { recruit: await grant(ctx, site, sub, { code: b.code, event: b.event }) };
    });
    if (made.code) {
      const { code, event, link, shortlink } = made.code;
      return reply.code(201).send({ code, event, link, shortlink });
    }
    // The welcome email goes after the budget's turn: a slow mail server holds up no one else.
    const { token: _t, ...invited } = await welcome(ctx, site, made.recruit!);
    return reply.code(201).send(invited);
  });
}
