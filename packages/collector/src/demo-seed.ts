// Seeds the demo site (idempotent) and gives it a fresh token at every start, printed once.
import type { Ctx } from './context.js';
import { hashToken, randomId } from './ids.js';
import { createAffiliate, createCode, createSite } from './routes/api/sites.js';
import { DEMO_SITE } from './routes/demo.js';

export async function seedDemo(ctx: Ctx): Promise<{ token: string }> {
  const url = `${ctx.publicUrl}/demo/event.html`;
  const { store } = ctx;
  let site = await store.getSite(DEMO_SITE);
  if (!site) {
    site = (await createSite(ctx, { id: DEMO_SITE, name: 'Demo Events', url, currency: 'EUR' })).site;
    await store.createEvent(DEMO_SITE, { id: 'summer-fest', name: 'Summer Fest 2026', url, startsAt: null });
    await createAffiliate(ctx, DEMO_SITE, { id: 'mia', name: 'Mia Lopez', nickname: 'mia', email: 'mia@example.com' });
    await createAffiliate(ctx, DEMO_SITE, { id: 'crew42', name: 'Crew 42', email: 'crew42@example.com' });
    await createCode(ctx, site, { code: 'mia', affiliate: 'mia' });
    await createCode(ctx, site, { code: 'crew42', affiliate: 'crew42', event: 'summer-fest' });
  }
  const token = `lts_${randomId(24)}`;
  await store.setSiteToken(DEMO_SITE, hashToken(token));
  return { token };
}
