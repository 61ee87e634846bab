// Shared bounds: every string and number a client sends has one.

/** No control characters: they have no business in names, ids or emails (header injection). */
const PRINTABLE = '^[^\\u0000-\\u001f\\u007f]*$';

export const text = (maxLength: number) => ({ type: 'string', minLength: 1, maxLength, pattern: PRINTABLE }) as const;

/** Lowercase ids for sites, events and affiliates. */
export const slug = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[a-z0-9][a-z0-9_-]*$' } as const;

/** Tracking codes are case-insensitive: any case in, lowercase stored. */
export const codeSlug = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' } as const;

export const visitorId = { type: 'string', minLength: 8, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' } as const;
export const clickId = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' } as const;

export const httpUrl = { type: 'string', minLength: 8, maxLength: 2048, pattern: '^[hH][tT][tT][pP][sS]?://[^\\s]+$' } as const;

export const email = { type: 'string', minLength: 3, maxLength: 254, pattern: '^[^\\s@<>,;"]+@[^\\s@<>,;"]+$' } as const;

export const currency = { type: 'string', pattern: '^[A-Za-z]{3}$' } as const;

/** A decimal amount in major units ("45.00") or a number. */
export const amount = { type: ['string', 'number'], maxLength: 40 } as const;

/** ISO 8601 or epoch milliseconds; parsed and range-checked by parseTs. */
export const timestamp = { type: ['string', 'integer'], maxLength: 40 } as const;

export const siteParams = {
  type: 'object',
  required: ['site'],
  properties: { site: slug },
} as const;

export const errorResponse = {
  type: 'object',
  properties: { error: { type: 'string' }, message: { type: 'string' } },
} as const;
