import { clickId, slug, timestamp, visitorId } from './common.js';

/** A pageview as the script (or a server) sends it. Only site, vid and url are required:
 *  the collector classifies from url and referrer itself and ignores the script's verdict. */
export const hitFields = {
  vid: visitorId,
  cid: clickId,
  url: { type: 'string', minLength: 1, maxLength: 8192 },
  referrer: { type: 'string', maxLength: 16384 },
  event: slug,
  nav: { type: 'string', enum: ['navigate', 'reload', 'back_forward', 'prerender'] },
  /** The script's data-platform (comma-separated hosts) and data-param. */
  platform: { type: 'string', maxLength: 1024, pattern: '^[A-Za-z0-9.,: -]*$' },
  param: { type: 'string', minLength: 1, maxLength: 32, pattern: '^[A-Za-z0-9_-]+$' },
} as const;

/**
 * The same fields as the script sends them from the tag's attributes, which a page writes as it
 * likes (`data-event="Summer-Fest"`, `data-platform="bücher.de; *.example.org"`) and the script
 * cannot report a 400 for: refusing one would lose the hit unseen. So these take any bounded
 * string, and the collector keeps what it can use (public-ingest.ts scriptEvent, scriptParam;
 * ingest.ts hostsOfPlatform). The URL may be as long as the body (64 KB); only its first 2,048
 * characters are stored. The server API (serverHit) keeps the strict fields.
 */
export const scriptHitFields = {
  ...hitFields,
  url: { type: 'string', minLength: 1, maxLength: 64 * 1024 },
  event: { type: 'string', maxLength: 256 },
  platform: { type: 'string', maxLength: 4096 },
  param: { type: 'string', maxLength: 256 },
  // The navigation type as the browser names it: a name some browser adds later is no replay.
  nav: { type: 'string', maxLength: 32 },
} as const;

export interface HitInput {
  vid: string;
  cid?: string;
  url: string;
  referrer?: string;
  event?: string;
  /** navigate, reload, back_forward, prerender (or, from the script, any name a browser gives). */
  nav?: string;
  platform?: string;
  param?: string;
  ts?: string | number;
  ip?: string;
  ua?: string;
  site?: string;
}

/** The script's own verdict, in the hit SPEC §4 describes: accepted from a server relaying such
 *  hits, and ignored like the script's (the collector classifies from url and referrer). */
const verdictFields = {
  channel: { type: ['string', 'null'], maxLength: 32 },
  // As long as what classify can read from a URL or referrer: a relayed verdict never fails a batch.
  source: { type: ['string', 'null'], maxLength: 16384 },
  affiliate: { type: ['string', 'null'], maxLength: 8192 },
  utm: {
    type: 'object',
    additionalProperties: false,
    properties: Object.fromEntries(['source', 'medium', 'campaign', 'term', 'content'].map((k) => [k, { type: ['string', 'null'], maxLength: 2048 }])),
  },
  clickIds: { type: 'object', maxProperties: 16, propertyNames: { type: 'string', maxLength: 32 }, additionalProperties: { type: ['string', 'null'], maxLength: 512 } },
} as const;

/** A hit of POST /api/sites/:site/hits. Closed, unlike the script's body (public-ingest.ts
 *  collectBody): a misspelt field ("referer") is a 400 naming it, not a hit classified direct.
 *  `site` may repeat the URL's (the script's hits carry it). */
export const serverHit = {
  type: 'object',
  required: ['vid', 'url'],
  additionalProperties: false,
  properties: {
    ...hitFields,
    ...verdictFields,
    site: slug,
    ts: timestamp,
    ip: { type: 'string', maxLength: 64 },
    ua: { type: 'string', maxLength: 1024 },
  },
} as const;
