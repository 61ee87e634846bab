// Builds the collector as a Fastify app: the server and the tests use this same function.
import cookie from '@fastify/cookie';
import Fastify, { type FastifyInstance, type FastifyLoggerOptions } from 'fastify';
import { createSiteCache, type Ctx } from './context.js';
import { clientErrorHandler, frameworkErrors, installErrorHandler, parseJsonBody, refuseEncoded } from './errors.js';
import { createMailer } from './mail.js';
import { registerDocs } from './openapi.js';
import { registerLimits, type RateLimitOptions } from './limits.js';
import { requestForLog, requestLoggers } from './log.js';
import { createPublicIngest, writingThrough, type PublicIngest } from './public-ingest.js';
import { installValidators } from './validation.js';
import { conversionRoutes } from './routes/api/conversions.js';
import { hitRoutes } from './routes/api/hits.js';
import { meRoutes } from './routes/api/me.js';
import { orderRoutes } from './routes/api/orders.js';
import { promoterRoutes } from './routes/api/promoters.js';
import { reportRoutes } from './routes/api/report.js';
import { settingsRoutes } from './routes/api/settings.js';
import { siteRoutes } from './routes/api/sites.js';
import { collectRoutes } from './routes/collect.js';
import { demoRoutes } from './routes/demo.js';
import { healthRoutes } from './routes/health.js';
import { pixelRoutes } from './routes/pixel.js';
import { promoterPageRoutes } from './routes/promoter-page.js';
import { redirectRoutes } from './routes/redirect.js';
import { scriptRoutes } from './routes/script.js';
import type { Store } from './store.js';
import { vidCookie } from './visitor-cookie.js';
import { hashToken } from './ids.js';

const required = <T>(value: T | undefined, what: string): T => {
  if (value === undefined) throw new Error(`buildApp needs ${what}`);
  return value;
};

export interface AppOptions {
  store: Store;
  /** The operator's token (LINKTRAIL_ADMIN_TOKEN), or only its hash (a token kept in the database). */
  adminToken?: string;
  adminTokenHash?: string;
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
  /** smtp(s)://user:pass@host:port for welcome emails; unset, they are written to the log. */
  smtpUrl?: string | null;
  /** From: of welcome emails. */
  mailFrom?: string;
  /** Logger options (pino), or false. Request logs never carry the client's address. Default false. */
  logger?: boolean | FastifyLoggerOptions;
  /** Per-address rate limits; see limits.ts for the defaults. */
  rateLimits?: RateLimitOptions;
  /** Proxies in front of the collector whose X-Forwarded-For to believe (hop count), for rate limits. Default 0. */
  trustProxy?: number;
  /** Closes the store with the app. Default true. */
  closeStore?: boolean;
  /** The ingest worker (ingest-worker.ts), closed with the app. Default: ingest on this thread, over `store`. */
  ingest?: PublicIngest;
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
    frameworkErrors,
    clientErrorHandler,
    // Privacy: the default request serializer logs the client's address; ours does not.
    logger: logger ? { level: 'info', ...logger, serializers: { ...logger.serializers, req: requestForLog } } : false,
    ...(logger ? { childLoggerFactory: requestLoggers() } : {}),
    // Small by default; routes that take batches (hits, conversions, /collect) set their own.
    bodyLimit: 16 * 1024,
    // A data-api with a trailing slash makes the script post to //collect: still the collector's.
    routerOptions: { ignoreDuplicateSlashes: true },
    trustProxy: trustHops > 0 ? (_address: string, hop: number) => hop < trustHops : false,
  });
  // With the ingest worker, the file has one writer: the worker's connection.
  const store = options.ingest ? writingThrough(options.ingest, options.store) : options.store;
  installErrorHandler(app, options.now);
  installValidators(app);
  const limits = await registerLimits(app, options.rateLimits);
  const cache = createSiteCache(store);
  const ingest = options.ingest ?? (await createPublicIngest({ store, cookieSecret: options.cookieSecret, sites: cache }));
  const ctx: Ctx = {
    store,
    ingest,
    // A changed site is read again here and by the ingest path (on the worker, its own cache).
    sites: { get: (id) => cache.get(id), forget: (id) => (cache.forget(id), ingest.forgetSite(id)) },
    cookies: vidCookie(options.cookieSecret),
    now: options.now ?? Date.now,
    adminTokenHash: options.adminTokenHash ?? hashToken(required(options.adminToken, 'adminToken or adminTokenHash')),
    publicUrl: (options.publicUrl ?? 'http://127.0.0.1:8787').replace(/\/+$/, ''),
    mail: createMailer({ smtpUrl: options.smtpUrl ?? null, from: options.mailFrom ?? 'linktrail <no-reply@linktrail.invalid>', log: app.log }),
    limits,
  };
  app.decorate('ctx', ctx);
  app.decorateRequest('site', null);
  app.decorateRequest('promoter', null);
  await app.register(cookie, { secret: options.cookieSecret });

  // JSON bodies, and text/plain as JSON too (sendBeacon posts it to avoid a CORS preflight).
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(['application/json', 'text/plain'], { parseAs: 'string' }, (request, body, done) => {
    try {
      refuseEncoded(request);
      done(null, parseJsonBody(body as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });

  // Before the routes: the OpenAPI document is built from the routes registered after it.
  await registerDocs(app, ctx.publicUrl);

  collectRoutes(app, ctx);
  pixelRoutes(app, ctx);
  redirectRoutes(app, ctx);
  scriptRoutes(app, limits.publicRoute(), options.trackerFile);
  healthRoutes(app, ctx);
  siteRoutes(app, ctx);
  settingsRoutes(app, ctx);
  hitRoutes(app, ctx);
  conversionRoutes(app, ctx);
  orderRoutes(app, ctx);
  reportRoutes(app, ctx);
  promoterRoutes(app, ctx);
  meRoutes(app, ctx);
  promoterPageRoutes(app);
  if (options.demoDir) demoRoutes(app, ctx, options.demoDir);

  app.addHook('onClose', async () => {
    cache.close();
    await ingest.close();
    if (options.closeStore !== false) await store.close();
  });
  return app;
}
