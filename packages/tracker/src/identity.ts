// Who the visitor is and which touch brought them: first-party cookies written by the script.
import type { Channel } from './classify';

/** The last touch: its click id and how the visitor arrived; all null when there is none. */
export interface Touch {
  clickId: string | null;
  channel: Channel | null;
  source: string | null;
  affiliate: string | null;
}

export const VID_COOKIE = '_lt_vid';
export const TOUCH_COOKIE = '_lt_t';
// 400 days is the longest lifetime browsers grant; re-set on every page, so it slides.
export const VID_MAX_AGE = 400 * 86400;
// The attribution window: a touch older than 28 days no longer wins a sale.
export const TOUCH_MAX_AGE = 28 * 86400;

// Ids carry at least 96 bits: 16 to 64 base64url characters. The lower bound also
// rejects "null" and "undefined", which RegExp#test makes of a missing value.
export const isId = (x: unknown): x is string => /^[\w-]{16,64}$/.test(x as string);

// Four random 32-bit numbers joined by "_": 128 bits in url-safe characters, for 54 bytes
// less script than a base64url encoding of them.
/** A random id of 128 bits, e.g. "3141592653_58979323_846264338_3279502884". */
export const rid = (): string => crypto.getRandomValues(new Uint32Array(4)).join('_');

/**
 * Reads cookie `name` (null when absent), or, given a value, writes it for maxAge seconds
 * (0 deletes it) on the whole site, or on `domain` and its subdomains.
 */
export const cookie = (name: string, value?: string, maxAge?: number, domain?: string): string | null | undefined => {
  try {
    // The cookie string read as a query string: URLSearchParams decodes what we encoded.
    if (value == null) return new URLSearchParams(document.cookie.replace(/; /g, '&')).get(name);
    document.cookie = `${name}=${encodeURIComponent(value)};path=/;max-age=${maxAge};samesite=lax${
      domain ? ';domain=' + domain : ''
    }${location.protocol == 'https:' ? ';secure' : ''}`;
  } catch {
    // Cookies blocked (sandboxed frame, storage policy): the page works, we just forget.
  }
  return undefined;
};

export const readTouch = (): Touch | undefined => {
  try {
    const t = JSON.parse(cookie(TOUCH_COOKIE)!) as Touch;
    if (isId(t.clickId)) return t;
  } catch {
    // absent or tampered: no stored touch
  }
  return undefined;
};
