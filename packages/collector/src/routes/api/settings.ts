// POST /api/sites/:site/settings: a site's privacy and integrity settings. Turning on
// requireSignedConversions mints the conversion secret and answers it this once; turning it
// off forgets it; rotateConversionSecret mints a new one (the old stops working at once).
import type { FastifyInstance } from 'fastify';
import type { Ctx } from '../../context.js';
import { badRequest, notFound } from '../../errors.js';
import type { SiteSettingsUpdate } from '../../store.js';
import { newConversionSecret, siteView } from './sites.js';
import { siteScope } from './scope.js';

const body = {
  type: 'object',
  minProperties: 1,
  additionalProperties: false,
  properties: {
    requireSignedConversions: { type: 'boolean' },
    honorGpc: { type: 'boolean' },
    rotateConversionSecret: { type: 'boolean' },
  },
} as const;

interface SettingsInput {
  requireSignedConversions?: boolean;
  honorGpc?: boolean;
  rotateConversionSecret?: boolean;
}

export function settingsRoutes(app: FastifyInstance, ctx: Ctx): void {
  siteScope(app, ctx, (scope) => {
    scope.post('/api/sites/:site/settings', { schema: { body } }, async (request) => {
      const site = request.site!;
      const input = request.body as SettingsInput;
      const required = input.requireSignedConversions ?? site.requireSignedConversions;
      if (input.rotateConversionSecret && !required) {
        throw badRequest('rotateConversionSecret needs requireSignedConversions on');
      }
      const update: SiteSettingsUpdate = { requireSignedConversions: input.requireSignedConversions, honorGpc: input.honorGpc };
      let conversionSecret: string | null = null;
      if (required && (!site.requireSignedConversions || input.rotateConversionSecret)) {
        conversionSecret = newConversionSecret();
        update.conversionSecret = conversionSecret;
      } else if (!required) {
        update.conversionSecret = null;
      }
      const updated = await ctx.store.updateSiteSettings(site.id, update);
      if (!updated) throw notFound(`site ${site.id} not found`);
      ctx.sites.forget(site.id);
      return { site: siteView(updated), ...(conversionSecret ? { conversionSecret } : {}) };
    });
  });
}
