export const MINUTE = 60_000;
export const DAY = 86_400_000;

const EARLIEST = Date.UTC(2000, 0, 1);
/** The last instant an ISO 8601 string with a four-digit year can name. */
const LATEST = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
/** Allowed clock skew for client-supplied times in the future. */
const SKEW = 5 * MINUTE;

/** Parses an ISO 8601 string or epoch milliseconds; returns an error message if unusable. */
export function parseTs(value: string | number, now: number): number | string {
  const ms = typeof value === 'number' || /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) return `must be an ISO 8601 time or epoch milliseconds, got ${JSON.stringify(value)}`;
  if (ms < EARLIEST) return 'is before the year 2000';
  if (ms > now + SKEW) return 'is in the future';
  return Math.floor(ms);
}

/** A report bound: a bare date (YYYY-MM-DD) is that whole UTC day. Null if unusable or out of range. */
export function parseDay(value: string, end: boolean): number | null {
  let ms: number;
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    const start = Date.parse(`${value}T00:00:00Z`);
    ms = start + (end ? DAY : 0);
  } else {
    ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  }
  return Number.isFinite(ms) && ms >= 0 && ms <= LATEST + DAY ? ms : null;
}

/** An instant from 2000 to 9999 (ISO 8601 or epoch ms), e.g. an event's start; null if not. */
export function parseInstant(value: string | number): number | null {
  const ms = typeof value === 'number' || /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  return Number.isFinite(ms) && ms >= EARLIEST && ms <= LATEST ? Math.floor(ms) : null;
}

export const iso = (ms: number): string => new Date(ms).toISOString();
