import type { FastifyInstance } from 'fastify';
import { requireSite } from '../../auth.js';
import type { Ctx } from '../../context.js';
import { badRequest } from '../../errors.js';
import { slug } from '../../schemas/common.js';
import type { Site } from '../../store.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The site named by :site, once the token is checked (site-scoped routes only). */
    site: Site | null;
  }
}

/** Routes under /api/sites/:site: the token must manage that site, checked before the body is read. */
export function siteScope(app: FastifyInstance, ctx: Ctx, routes: (scope: FastifyInstance) => void): void {
  app.register(async (scope) => {
    scope.addHook('onRoute', (route) => {
      const own = (route.schema?.params as { properties?: Record<string, unknown> } | undefined)?.properties;
      route.schema = { ...route.schema, params: { type: 'object', properties: { site: slug, ...own } } };
    });
    scope.addHook('onRequest', async (request) => {
      request.site = await requireSite(ctx, request, (request.params as { site: string }).site);
    });
    routes(scope);
  });
}

/** A body that names its own site (as the script's hits and conversions do) must name the URL's. */
export function sameSite(site: Site, named: string | undefined, field: string): void {
  if (named !== undefined && named !== site.id) throw badRequest(`${field} must be ${site.id} (the site in the URL), not ${named}`);
}
