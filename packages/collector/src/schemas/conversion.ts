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

/** A count as a page may hold it, a numeral string ("2"), which public-ingest.ts reads as the integer. */
export const NUMERAL = '^ *[0-9]{1,9} *$';
const count = <T extends { type: 'integer' }>(field: T) => ({ ...field, type: ['integer', 'string'], pattern: NUMERAL }) as const;

/**
 * The fields of linktrail('conversion', …) as shops' own values are: an order number as a JSON
 * number (read as its decimal string), counts as numeral strings (read as integers) and any
 * event name (used when it lowercases to a slug). The script cannot report a 400, which would
 * lose the sale unseen; the postback, whose sender reads its 400s, keeps the typed fields.
 */
export const scriptConversionFields = {
  ...conversionFields,
  order: { ...text(128), type: ['string', 'integer'], minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
  event: { type: 'string', maxLength: 256 },
  items: { ...conversionFields.items, items: { ...item, properties: { ...item.properties, qty: count(item.properties.qty) } } },
  tickets: count(conversionFields.tickets),
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
