// Money is exact: decimal strings in, integer minor units stored, per ISO 4217 currency.
const KNOWN = new Set(Intl.supportedValuesOf('currency'));
const digitsCache = new Map<string, number>();

/** Minor-unit digits of an ISO 4217 code (JPY 0, EUR 2, KWD 3), or null if unknown. */
export function minorDigits(currency: string): number | null {
  const code = currency.toUpperCase();
  if (!KNOWN.has(code)) return null;
  let d = digitsCache.get(code);
  if (d === undefined) {
    d = new Intl.NumberFormat('en', { style: 'currency', currency: code }).resolvedOptions().maximumFractionDigits ?? 2;
    digitsCache.set(code, d);
  }
  return d;
}

/** Why a currency cannot be used (the same words on every path), or null if it is known. */
export function currencyError(currency: string): string | null {
  return minorDigits(currency) === null ? `currency ${JSON.stringify(currency)} is not an ISO 4217 code` : null;
}

/** One order's ceiling: 10^12 minor units (ten billion euros), so daily sums stay exact int64s. */
export const MAX_MINOR = 1e12;

const DECIMAL = /^(\d{1,16})(?:\.(\d{1,20}))?$/;

/**
 * Parses a non-negative amount in major units into minor units. Strings must be exact
 * ("45.00", "45"); numbers from JavaScript clients are rounded to the currency's digits.
 * Returns a message naming the problem instead of throwing, to follow the field's name.
 */
export function toMinor(value: string | number, currency: string): number | string {
  const digits = minorDigits(currency);
  // Callers check the currency first (currencyError); should one not, this still names the currency.
  if (digits === null) return `cannot be read: ${currencyError(currency)}`;
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) return 'must be a non-negative amount';
    text = value.toFixed(digits);
  } else {
    text = value.trim();
  }
  const m = DECIMAL.exec(text);
  if (!m) return `must be a decimal amount like "45.00", got ${JSON.stringify(String(value).slice(0, 40))}`;
  const frac = m[2] ?? '';
  if (frac.length > digits && /[1-9]/.test(frac.slice(digits))) {
    return `has more decimals than ${currency.toUpperCase()} allows (${digits})`;
  }
  const minor = BigInt(m[1]!) * 10n ** BigInt(digits) + BigInt(frac.slice(0, digits).padEnd(digits, '0') || '0');
  if (minor > BigInt(MAX_MINOR)) return `is too large (at most ${MAX_MINOR} minor units)`;
  return Number(minor);
}

/** Formats minor units back into a decimal string in major units. */
export function fromMinor(minor: number, currency: string): string {
  const digits = minorDigits(currency) ?? 2;
  if (digits === 0) return String(minor);
  const s = String(minor).padStart(digits + 1, '0');
  return `${s.slice(0, -digits)}.${s.slice(-digits)}`;
}
