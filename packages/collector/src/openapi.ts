// The OpenAPI document, generated from the route schemas, at /docs/json (Swagger UI at /docs).
// Registered before the routes so it sees every one of them. Summaries, tags and the bearer
// requirement are added here, from one table, unless a route declares its own.
import { createRequire } from 'node:module';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { errorResponse } from './schemas/common.js';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

type Doc = [tag: string, summary: string];

const DOCS: Record<string, Doc> = {
  'POST /api/sites': ['sites', 'Create a site (operator token); answers its site token, shown once'],
  'GET /api/sites/:site': ['sites', 'Read a site'],
  'POST /api/sites/:site/events': ['sites', 'Create an event'],
  'POST /api/sites/:site/affiliates': ['affiliates', 'Create an affiliate'],
  'GET /api/sites/:site/affiliates': ['affiliates', 'List affiliates'],
  'POST /api/sites/:site/codes': ['affiliates', 'Create a tracking code; answers its link and shortlink'],
  'GET /api/sites/:site/codes': ['affiliates', 'List tracking codes'],
  'POST /api/sites/:site/promoters': ['affiliates', 'Invite a promoter: their code, link, token and a welcome email'],
  'POST /api/sites/:site/hits': ['ingest', 'Record server-side pageviews (backfill), up to 1000'],
  'POST /api/sites/:site/conversions': ['orders', 'Record a conversion (server postback); the same order twice counts once'],
  'GET /api/sites/:site/conversions/:order': ['orders', 'Explain the attribution of an order'],
  'POST /api/sites/:site/orders/:order/status': ['orders', 'Refund, transfer, resell or cancel an order'],
  'POST /api/sites/:site/orders/:order/scans': ['orders', 'Record tickets scanned at the door (cumulative)'],
  'GET /api/me': ['promoters', "A promoter's own codes and sub-promoters"],
  'GET /api/me/report': ['promoters', "A promoter's report, restricted to their team's codes (format=csv|xlsx too)"],
  'POST /api/me/codes': ['promoters', 'A promoter creates a code, or recruits a sub-promoter'],
  'POST /collect': ['public', 'A pageview or a script conversion (sendBeacon text/plain JSON)'],
  'GET /collect.gif': ['public', 'The same hit as JSON in d= (image fallback)'],
  'GET /p.gif': ['public', 'Confirmation-page pixel: a conversion as query parameters; always a GIF'],
  'GET /r/:code': ['public', "Shortlink: 302 to the code's registered target with affiliate= and lt_cid="],
  'GET /r/:site/:code': ['public', 'Shortlink of a code on a given site'],
  'GET /lt.js': ['public', 'The tracker script'],
  'GET /healthz': ['public', 'Liveness'],
};

/** Pages for people, not API: left out of the document. */
const HIDDEN = [/^\/demo/, /^\/promoter$/, /^\/$/];

export async function registerDocs(app: FastifyInstance, publicUrl: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'linktrail collector',
        version,
        description:
          'Visits, link clicks and conversions in; reports of which links, promoters and sources sell tickets out. ' +
          'Errors are `{ "error": "<short code>", "message": "<what is wrong, naming the field>" }`. ' +
          'Money is exact: decimal strings in major units in, integer minor units in reports.',
      },
      servers: [{ url: publicUrl }],
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            description: "The operator's token (LINKTRAIL_ADMIN_TOKEN), a site's token, or a promoter's token",
          },
        },
      },
      tags: [
        { name: 'reports', description: 'Breakdowns by channel, source, code, affiliate, event, ticket type, utm, day' },
        { name: 'orders', description: 'Conversions, attribution, order life and door scans' },
        { name: 'sites', description: 'Client accounts and their events' },
        { name: 'affiliates', description: 'Affiliates, promoters and tracking codes' },
        { name: 'promoters', description: "A promoter's own API (promoter token)" },
        { name: 'ingest', description: 'Server-side hits' },
        { name: 'public', description: 'No token: the script, pixel, beacon and shortlinks' },
      ],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.addHook('onRoute', (route) => {
    const url = route.url ?? route.path;
    const method = Array.isArray(route.method) ? route.method[0] : route.method;
    if (url.startsWith('/docs')) return;
    const hide = method === 'OPTIONS' || HIDDEN.some((re) => re.test(url));
    const [tag, summary] = DOCS[`${method} ${url}`] ?? [];
    const api = url.startsWith('/api/');
    route.schema = {
      ...(tag && { tags: [tag] }),
      ...(summary && { summary }),
      security: api ? [{ bearer: [] }] : [],
      ...(hide && { hide: true }),
      ...route.schema,
      // Every API error is { error, message } (errors.ts).
      ...(api && { response: { '4xx': { ...errorResponse, required: ['error', 'message'] }, ...(route.schema?.response as object) } }),
    };
  });
}
