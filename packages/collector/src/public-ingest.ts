// The ingest path — pageviews and conversions from /collect, /collect.gif and /p.gif,
// server-side hits and postbacks, shortlink clicks — as functions of the raw request: the body text, the lt_vid cookie
// value and the few headers it needs. The same code runs on the answering thread (tests,
// PostgreSQL, LINKTRAIL_INGEST_THREAD=main) or on the ingest worker, which owns the SQLite
// writer (ingest-worker.ts): there the answering thread only speaks HTTP, and the writes that
// come with traffic (not only the rare ones of the API) never wait on the write lock there.
import { Ajv } from 'ajv';
import { isAutomated, isAutomatedClient } from './bots.js';
import { createSiteCache, type SiteCache } from './context.js';
import { normalizeConversion, PIXEL_ITEMS, recordConversion } from './conversions.js';
import { HttpError, parseJsonBody, schemaMessage } from './errors.js';
import { createIngest } from './ingest.js';
import { parseItems } from './items.js';
import { oneAtATime } from './one-at-a-time.js';
import { slug, UNPRINTABLE } from './schemas/common.js';
import { NUMERAL, scriptConversionFields, type ConversionInput } from './schemas/conversion.js';
import { scriptHitFields, type HitInput } from './schemas/hit.js';
import type { ClickRecord, ConversionRecord, Site, Store, StoredConversion } from './store.js';
import { visitorOf, vidCookie } from './visitor-cookie.js';

export const collectBody = {
  type: 'object',
  required: ['site'],
  properties: { site: slug, kind: { type: 'string', enum: ['pageview', 'conversion'] } },
  if: { required: ['kind'], properties: { kind: { const: 'conversion' } } },
  then: { required: ['order'], properties: scriptConversionFields },
  else: { required: ['vid', 'url'], properties: scriptHitFields },
} as const;

const SLUG = new RegExp(slug.pattern);
const COUNT = new RegExp(NUMERAL);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const count = (v: unknown) => (typeof v === 'string' && COUNT.test(v) ? Number(v) : v);

/**
 * A script conversion's values as the conversion fields' types, before the schema bounds them:
 * an order number as its decimal string (12345 and "12345" are one order), numeral counts
 * ("2") as integers. Anything else is left for the schema to refuse with its reason.
 */
function readScriptValues(body: unknown): void {
  if (!isObject(body) || body.kind !== 'conversion') return;
  const { order, tickets, items } = body;
  if (typeof order === 'number' && Number.isSafeInteger(order) && order >= 0) body.order = String(order);
  if (typeof tickets === 'string') body.tickets = count(tickets);
  if (Array.isArray(items)) for (const item of items) if (isObject(item) && typeof item.qty === 'string') item.qty = count(item.qty);
}

/** The script's event (data-event, or a conversion's) in any case; none, rather than a lost hit, when it is no slug even lowercased. */
function scriptEvent(event: string | undefined): string | undefined {
  const e = event?.trim().toLowerCase();
  return e && e.length <= slug.maxLength && SLUG.test(e) ? e : undefined;
}

/** data-param when it can name a query parameter; otherwise none, and `affiliate` applies. */
function scriptParam(param: string | undefined): string | undefined {
  const p = param?.trim();
  return p && /^[^\s&=#]{1,64}$/.test(p) && !UNPRINTABLE.test(p) ? p : undefined;
}

/** What the collector made of a pageview: the script serves linktrail('ready') from it. */
export interface Verdict {
  /** The canonical visitor id: the server cookie's when it has one. */
  vid: string;
  cid: string | null;
  channel: string;
  source: string | null;
  affiliate: string | null;
  /** A fresh touch: the script stores it as the last touch. */
  touch: boolean;
}

/** The request facts the ingest path reads (headers travel as these few values). */
export interface Client {
  /** The raw lt_vid cookie. */
  cookie: string | null;
  userAgent: string | null;
  /** Sec-CH-UA. */
  hints: string | null;
  /** Sec-GPC: 1. */
  gpc: boolean;
}

export interface PixelQuery {
  site: string;
  order: string;
  value?: string;
  currency?: string;
  event?: string;
  type?: string;
  tickets?: number;
  customer?: string;
  vid?: string;
  cid?: string;
  sig?: string;
  item?: string[];
}

export interface ServerHit {
  hit: HitInput;
  ts: number;
  /** undefined: the server named no user agent. */
  bot: boolean | undefined;
}

export type PublicRequest =
  /** `text`: the POST body, the image fallback's `d` parameter (`from: 'd'`), or its plain
   *  query parameters as a JSON object (`from: 'querystring'`). */
  | { kind: 'collect'; text: string; from: 'body' | 'd' | 'querystring'; client: Client; now: number }
  /** `query`: validated by the route's schema already. */
  | { kind: 'pixel'; query: PixelQuery; client: Client; now: number }
  /** In time order, urls checked by the route. */
  | { kind: 'hits'; site: Site; hits: ServerHit[] }
  /** A shortlink followed (or fetched by a preview bot). */
  | { kind: 'click'; click: ClickRecord }
  /** A server postback, normalised by the route. */
  | { kind: 'postback'; site: Site; record: ConversionRecord; sig: string | undefined }
  /** One of the API's writes (writingThrough). */
  | { kind: 'store'; method: StoreWrite; args: unknown[] };

/** The store's writes that are not traffic: the API's, rarer, but on the same single writer. */
export const STORE_WRITES = [
  'setSetting', 'initSetting', 'createSite', 'setSiteToken', 'updateSiteSettings', 'createEvent',
  'createAffiliate', 'setAffiliateToken', 'createCode', 'setOrderStatus', 'setScanned',
] as const;
export type StoreWrite = (typeof STORE_WRITES)[number];

/**
 * `store` with every write made by `ingest` (the worker's connection), reads as they are: so
 * the main thread never waits on the file's write lock (busy_timeout would block its event
 * loop while the worker commits).
 */
export function writingThrough(ingest: PublicIngest, store: Store): Store {
  const writes = Object.fromEntries(
    STORE_WRITES.map((method) => [method, async (...args: unknown[]) => (await ingest.run({ kind: 'store', method, args })).value]),
  );
  return { ...store, ...writes } as Store;
}

/** The outcome: an error (a 4xx with its code and message) or what to answer. */
export interface Answer {
  status: number;
  error?: { code: string; message: string; headers: Record<string, string> };
  /** The lt_vid cookie value to set. */
  cookie?: string | null;
  verdict?: Verdict | null;
  accepted?: number;
  /** A postback's conversion, as stored (`status` 201 when new, 200 when a repeat). */
  conversion?: StoredConversion;
  /** What a store write answered. */
  value?: unknown;
}

/**
 * A conversion from a page (pixel or script): no ts, as only an authenticated postback may
 * backdate. Copied field by field: an object rest or spread here took V8's slow path (a new
 * hidden class per order, see rows.ts `newlyStored`).
 */
function publicConversion(c: Omit<ConversionInput, 'items' | 'ts' | 'sig'>, vid: string | undefined, items: ConversionInput['items']): ConversionInput {
  return { order: c.order, value: c.value, currency: c.currency, event: c.event, type: c.type, tickets: c.tickets, customer: c.customer, cid: c.cid, vid, items };
}

export interface PublicIngest {
  run(request: PublicRequest): Promise<Answer>;
  /** A site's settings changed: read them again. */
  forgetSite(id: string): void;
  close(): Promise<void>;
}

export interface PublicIngestOptions {
  store: Store;
  cookieSecret: string;
  /** Shared with the app when on the same thread. */
  sites?: SiteCache;
}

/** The ingest path over a store, its visit map loaded with the last 30 minutes' visitors. */
export async function createPublicIngest(options: PublicIngestOptions): Promise<PublicIngest> {
  const { store } = options;
  const sites = options.sites ?? createSiteCache(store);
  const ingest = createIngest(store);
  await ingest.warm();
  const cookies = vidCookie(options.cookieSecret);
  const validate = new Ajv({ allowUnionTypes: true, coerceTypes: false }).compile(collectBody);

  const siteOf = async (id: string): Promise<Site> => {
    const site = await sites.get(id);
    if (!site) throw new HttpError(404, 'unknown_site', `site ${id} is not registered`);
    return site;
  };

  async function collect(r: Extract<PublicRequest, { kind: 'collect' }>): Promise<Answer> {
    let body: unknown;
    try {
      body = parseJsonBody(r.text);
    } catch (error) {
      throw r.from === 'd' ? new HttpError(400, 'invalid_json', 'd must be JSON') : error;
    }
    readScriptValues(body);
    if (!validate(body)) throw new HttpError(400, 'invalid_request', schemaMessage(r.from, validate.errors![0]!, r.from !== 'body'));
    const b = body as { site: string; kind?: 'pageview' | 'conversion' } & Partial<HitInput> & Partial<ConversionInput>;
    const site = await siteOf(b.site);
    if (site.honorGpc && r.client.gpc) return { status: 200, verdict: null };
    const visitor = visitorOf(cookies, r.client.cookie, b.vid);
    // Changed in place: a key added to the spread below cost ~3 µs a pageview (measured).
    if (b.event !== undefined) b.event = scriptEvent(b.event);
    if (b.param !== undefined) b.param = scriptParam(b.param);
    if (b.kind === 'conversion') {
      const input = b as ConversionInput;
      // Only an authenticated postback may backdate: a public conversion happens now.
      const record = normalizeConversion(site, publicConversion(input, visitor?.vid, input.items), r.now);
      await recordConversion(store, site, record, input.sig);
      return { status: 200, cookie: visitor?.cookie, verdict: null };
    }
    const bot = isAutomatedClient(r.client.userAgent, r.client.hints);
    const hit = ingest.prepare(site, { ...(b as HitInput), vid: visitor!.vid }, r.now, bot);
    await ingest.record([hit]);
    return {
      status: 200,
      cookie: visitor!.cookie,
      verdict: {
        vid: hit.vid,
        cid: hit.cid,
        channel: hit.channel,
        source: hit.source,
        affiliate: hit.code,
        touch: hit.touch && hit.nav === null && !hit.bot,
      },
    };
  }

  async function pixel(r: Extract<PublicRequest, { kind: 'pixel' }>): Promise<Answer> {
    const q = r.query;
    const site = await siteOf(q.site);
    if (site.honorGpc && r.client.gpc) return { status: 200 };
    const visitor = visitorOf(cookies, r.client.cookie, q.vid);
    const input = publicConversion(q, visitor?.vid, parseItems(q.item ?? []));
    await recordConversion(store, site, normalizeConversion(site, input, r.now, PIXEL_ITEMS), q.sig);
    return { status: 200, cookie: visitor?.cookie };
  }

  // A site's server batches one after another: a retry sent while the first is still being
  // written finds its hits stored (prepareServerHits), instead of both reading before either wrote.
  const serially = oneAtATime();
  async function hits(r: Extract<PublicRequest, { kind: 'hits' }>): Promise<Answer> {
    // A server may omit the user agent (a browser always sends one): then it is no bot.
    // Every hit of the batch is stored once it answers: those a retry repeats, stored already, too.
    await serially(r.site.id, async () => ingest.record(await ingest.prepareServerHits(r.site, r.hits)));
    return { status: 202, accepted: r.hits.length };
  }

  return {
    async run(request) {
      try {
        if (request.kind === 'collect') return await collect(request);
        if (request.kind === 'pixel') return await pixel(request);
        if (request.kind === 'hits') return await hits(request);
        if (request.kind === 'click') {
          await store.recordClick(request.click);
          return { status: 200 };
        }
        if (request.kind === 'store') {
          if (!STORE_WRITES.includes(request.method)) throw new Error(`not a store write: ${String(request.method)}`);
          const write = store[request.method] as (...args: unknown[]) => Promise<unknown>;
          return { status: 200, value: await write(...request.args) };
        }
        const { created, conversion } = await recordConversion(store, request.site, request.record, request.sig);
        return { status: created ? 201 : 200, conversion };
      } catch (error) {
        if (error instanceof HttpError && error.statusCode < 500) {
          return { status: error.statusCode, error: { code: error.code, message: error.message, headers: error.headers } };
        }
        throw error;
      }
    },
    forgetSite: (id) => sites.forget(id),
    close: async () => {},
  };
}

/** A server hit's bot verdict from its optional user agent. */
export const serverBot = (ua: string | undefined): boolean | undefined => (ua === undefined ? undefined : isAutomated(ua));

/** Turns an error answer back into the error the app's handler renders. */
export function throwIfError(answer: Answer): void {
  if (answer.error) throw new HttpError(answer.status, answer.error.code, answer.error.message, answer.error.headers);
}
