// Builds the collector as a Fastify app: the server and the tests use this same function.
import cookie from '@fastify/cookie';
import Fastify, { type FastifyInstance, type FastifyLoggerOptions } from 'fastify';
import { createSiteCache, type Ctx } from './context.js';
import { installErrorHandler } from './errors.js';
import { createIngest } from './ingest.js';
import { registerLimits, type RateLimitOptions } from './limits.js';
import { requestForLog } from './log.js';
import { installValidators } from './validation.js';
import { conversionRoutes } from './routes/api/conversions.js';
import { hitRoutes } from './routes/api/hits.js';
import { reportRoutes } from './routes/api/report.js';
import { settingsRoutes } from './routes/api/settings.js';
import { siteRoutes } from './routes/api/sites.js';
import { collectRoutes } from './routes/collect.js';
import { demoRoutes } from './routes/demo.js';
import { healthRoutes } from './routes/health.js';
import { pixelRoutes } from './routes/pixel.js';
import { redirectRoutes } from './routes/redirect.js';
import { scriptRoutes } from './routes/script.js';
import type { Store } from './store.js';

export interface AppOptions {
  store: Store;
  /** The operator's token (LINKTRAIL_ADMIN_TOKEN). */
  adminToken: string;
  /** Signs the lt_vid cookie; at least 32 characters. */
  cookieSecret: string;
  /** The collector's public origin, for links and shortlinks. Default http://127.0.0.1:8787. */
  publicUrl?: string;
  /** The clock; tests inject a fake one. Default Date.now. */
  now?: () => number;
  /** Built tracker served at /lt.js. Default: @linktrail/tracker's dist/lt.js. */
  trackerFile?: string;
  /** Serve examples/ from this folder under /demo/ (demo mode). Default: off. */
  demoDir?: string | null;
  /** Logger options (pino), or false. Request logs never carry the client's address. Default false. */
  logger?: boolean | FastifyLoggerOptions;
  /** Per-address rate limits; see limits.ts for the defaults. */
  rateLimits?: RateLimitOptions;
  /** Proxies in front of the collector whose X-Forwarded-For to believe (hop count), for rate limits. Default 0. */
  trustProxy?: number;
  /** Closes the store with the app. Default true. */
  closeStore?: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The store, clock and settings the routes share. */
    ctx: Ctx;
  }
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const trustHops = options.trustProxy ?? 0;
  const logger = options.logger === true ? {} : options.logger || null;
  const app = Fastify({
    // Privacy: the default request serializer logs the client's address; ours does not.
    logger: logger ? { level: 'info', ...logger, serializers: { ...logger.serializers, req: requestForLog } } : false,
    // Small by default; routes that take batches (hits, conversions, /collect) set their own.
    bodyLimit: 16 * 1024,
    trustProxy: trustHops > 0 ? (_address: string, hop: number) => hop < trustHops : false,
  });
  const store = options.store;
  installErrorHandler(app);
  installValidators(app);
  const limits = await registerLimits(app, options.rateLimits);
  const ctx: Ctx = {
    store,
    ingest: createIngest(store),
    sites: createSiteCache(store),
    now: options.now ?? Date.now,
    adminToken: options.adminToken,
    publicUrl: (options.publicUrl ?? 'http://127.0.0.1:8787').replace(/\/+$/, ''),
    limits,
  };
  await ctx.ingest.warm();

  app.decorate('ctx', ctx);
  app.decorateRequest('site', null);
  await app.register(cookie, { secret: options.cookieSecret });

  // sendBeacon posts text/plain to avoid a CORS preflight: parse it as JSON, with the
  // same prototype-poisoning protection as Fastify's JSON parser.
  app.addContentTypeParser('text/plain', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));

  collectRoutes(app, ctx);
  pixelRoutes(app, ctx);
  redirectRoutes(app, ctx);
  scriptRoutes(app, limits.publicRoute(), options.trackerFile);
  healthRoutes(app, ctx);
  siteRoutes(app, ctx);
  settingsRoutes(app, ctx);
  hitRoutes(app, ctx);
  conversionRoutes(app, ctx);
  reportRoutes(app, ctx);
  if (options.demoDir) demoRoutes(app, ctx, options.demoDir);

  if (options.closeStore !== false) app.addHook('onClose', () => store.close());
  return app;
}
