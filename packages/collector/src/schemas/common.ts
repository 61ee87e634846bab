// Shared bounds: every string and number a client sends has one.

/**
 * Characters no stored text holds: C0 and C1 controls (header injection, terminal escapes),
 * the line and paragraph separators, the non-characters U+FFFE and U+FFFF and lone
 * surrogates (both make an XLSX export invalid XML). As a regular expression class, u mode.
 */
const UNPRINTABLE_CLASS = '\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029\\ufffe\\uffff\\ud800-\\udfff';
const PRINTABLE = `^[^${UNPRINTABLE_CLASS}]*$`;
/** One unprintable character (UNPRINTABLE_CLASS). */
export const UNPRINTABLE = new RegExp(`[${UNPRINTABLE_CLASS}]`, 'u');
/** Every unprintable character, to drop from values that are stored rather than refused. */
export const UNPRINTABLE_ALL = new RegExp(`[${UNPRINTABLE_CLASS}]`, 'gu');

export const text = (maxLength: number) => ({ type: 'string', minLength: 1, maxLength, pattern: PRINTABLE }) as const;

/** Lowercase ids for sites, events and affiliates. */
export const slug = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[a-z0-9][a-z0-9_-]*$' } as const;

/** Tracking codes are case-insensitive: any case in, lowercase stored. */
export const codeSlug = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' } as const;

export const visitorId = { type: 'string', minLength: 8, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' } as const;
export const clickId = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' } as const;

/** Checked to parse as a URL too (validation.ts `http-url`). */
export const httpUrl = { type: 'string', minLength: 8, maxLength: 2048, pattern: '^[hH][tT][tT][pP][sS]?://[^\\s]+$', format: 'http-url' } as const;

export const email = {
  type: 'string',
  minLength: 3,
  maxLength: 254,
  pattern: `^[^\\s@<>,;"${UNPRINTABLE_CLASS}]+@[^\\s@<>,;"${UNPRINTABLE_CLASS}]+$`,
} as const;

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
