import { amount, clickId, currency, slug, text, timestamp, visitorId } from './common.js';

export const conversionType = { type: 'string', minLength: 1, maxLength: 32, pattern: '^[a-z][a-z0-9_-]*$' } as const;

export const item = {
  type: 'object',
  required: ['type', 'qty', 'price'],
  additionalProperties: false,
  properties: {
    type: text(64),
    qty: { type: 'integer', minimum: 1, maximum: 100_000 },
    price: amount,
  },
} as const;

/** The fields of a conversion, shared by the postback, the script call and the pixel. */
export const conversionFields = {
  order: text(128),
  value: amount,
  currency,
  event: slug,
  type: conversionType,
  items: { type: 'array', maxItems: 100, items: item },
  tickets: { type: 'integer', minimum: 0, maximum: 1_000_000 },
  customer: text(256),
  vid: visitorId,
  cid: clickId,
  /** Hex HMAC-SHA256 of order, value and currency (signature.ts). */
  sig: { type: 'string', minLength: 64, maxLength: 64, pattern: '^[0-9a-fA-F]{64}$' },
} as const;

/** The server postback. Closed, unlike the script's body (public-ingest.ts collectBody): a
 *  misspelt field ("curency", "timestamp") is a 400 naming it, not an order stored in the site's
 *  currency at the wrong time. `site` may repeat the URL's (SPEC §5 lists it in a conversion). */
export const conversionBody = {
  type: 'object',
  required: ['order'],
  additionalProperties: false,
  properties: { ...conversionFields, ts: timestamp, site: slug },
} as const;

export interface ConversionInput {
  order: string;
  value?: string | number;
  currency?: string;
  event?: string;
  type?: string;
  items?: Array<{ type: string; qty: number; price: string | number }>;
  tickets?: number;
  customer?: string;
  vid?: string;
  cid?: string;
  ts?: string | number;
  sig?: string;
}
