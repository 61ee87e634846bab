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

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/i;

/**
 * A report bound: a bare date (YYYY-MM-DD) is that whole UTC day; also an ISO 8601 time or
 * epoch milliseconds. Strict (Date.parse alone takes "-5" or "2026-02-30"); null if unusable.
 */
export function parseDay(value: string, end: boolean): number | null {
  let ms: number;
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    const start = Date.parse(`${value}T00:00:00Z`);
    if (!Number.isFinite(start) || new Date(start).toISOString().slice(0, 10) !== value) return null;
    ms = start + (end ? DAY : 0);
  } else if (/^\d{1,15}$/.test(value)) {
    ms = Number(value);
  } else if (ISO_TIME.test(value)) {
    ms = Date.parse(value);
  } else {
    return null;
  }
  return Number.isFinite(ms) && ms >= 0 && ms <= LATEST + DAY ? ms : null;
}

/** from/to of a report or list; by default the last 30 days. A message naming the bad bound otherwise. */
export function parseRange(q: { from?: string; to?: string }, now: number): { from: number; to: number } | string {
  const bad = (name: string) => `${name} must be a date (YYYY-MM-DD), an ISO 8601 time or epoch milliseconds`;
  // By default the last 30 whole UTC days, today included: whole days read the daily rollups.
  const to = q.to === undefined ? Math.floor(now / DAY) * DAY + DAY : parseDay(q.to, true);
  if (to === null) return bad('to');
  const from = q.from === undefined ? to - 30 * DAY : parseDay(q.from, false);
  if (from === null) return bad('from');
  if (from >= to) return 'from must be before to';
  return { from, to };
}

/** An instant from 2000 to 9999 (ISO 8601 or epoch ms), e.g. an event's start; null if not. */
export function parseInstant(value: string | number): number | null {
  const ms = typeof value === 'number' || /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  return Number.isFinite(ms) && ms >= EARLIEST && ms <= LATEST ? Math.floor(ms) : null;
}

export const iso = (ms: number): string => new Date(ms).toISOString();
