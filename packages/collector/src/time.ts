export const MINUTE = 60_000;
export const DAY = 86_400_000;

const EARLIEST = Date.UTC(2000, 0, 1);
/** The last instant an ISO 8601 string with a four-digit year can name. */
const LATEST = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
/** Allowed clock skew for client-supplied times in the future. */
const SKEW = 5 * MINUTE;

const EPOCH_MS = /^\d{1,15}$/;
// T or a space between date and time (RFC 3339; PostgreSQL's and Python's text), an offset
// of ±hh:mm, ±hhmm or ±hh.
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:Z|([+-])(\d{2})(?::?(\d{2}))?)?$/i;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
// ISO 8601's basic form (20261119). Eight digits as epoch ms would be the first hours of
// 1970, never a time a client means: they are a date.
const BASIC_DATE = /^(\d{4})(\d{2})(\d{2})$/;
const dateOf = (value: string) => DATE.exec(value) ?? BASIC_DATE.exec(value);

const got = (value: string | number) => `got ${JSON.stringify(String(value).slice(0, 40))}`;

/** The UTC midnight of a calendar day, or null if that day does not exist (Feb 30, month 13). */
function utcDay(y: string, m: string, d: string): number | null {
  const day = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0-99 as 1900-1999.
  day.setUTCFullYear(Number(y), Number(m) - 1, Number(d));
  const same = day.getUTCFullYear() === Number(y) && day.getUTCMonth() === Number(m) - 1 && day.getUTCDate() === Number(d);
  return same ? day.getTime() : null;
}

/**
 * The one rule for a time a client sends (SPEC: ISO 8601 or epoch ms): epoch milliseconds, or
 * an ISO 8601 date (2026-11-19 or 20261119) or date-time whose every field exists; without a
 * time zone, UTC (a date: its midnight). Not Date.parse: it moves "2026-02-30T00:00Z" to March 2 and reads "1 2 2026" and a
 * zone-less time in the server's own time zone. A message if unusable.
 */
export function parseTime(value: string | number): number | string {
  if (typeof value === 'number') return Number.isFinite(value) ? Math.floor(value) : `must be a finite number, ${got(value)}`;
  const date = dateOf(value);
  if (date) return utcDay(date[1]!, date[2]!, date[3]!) ?? `must be a real date, ${got(value)}`;
  if (EPOCH_MS.test(value)) return Number(value);
  const m = DATE_TIME.exec(value);
  if (!m) return `must be an ISO 8601 date or date-time (like 2026-06-01T18:30:00Z; UTC without a zone) or epoch milliseconds, ${got(value)}`;
  const [, y, mo, d, h, mi, s = '0', frac = '', sign, oh = '0', om = '0'] = m;
  const day = utcDay(y!, mo!, d!);
  if (day === null || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59 || Number(oh) > 23 || Number(om) > 59) {
    return `must be a real date and time, ${got(value)}`;
  }
  const offset = (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om)) * MINUTE;
  return day + ((Number(h) * 60 + Number(mi)) * 60 + Number(s)) * 1000 + Number(frac.padEnd(3, '0').slice(0, 3)) - offset;
}

/** When something happened (a hit's or a conversion's `ts`): since 2000, not in the future. */
export function parseTs(value: string | number, now: number): number | string {
  const ms = parseTime(value);
  if (typeof ms === 'string') return ms;
  if (ms < EARLIEST) return 'is before the year 2000';
  if (ms > now + SKEW) return 'is in the future';
  return ms;
}

/**
 * A report bound: a bare date (YYYY-MM-DD or YYYYMMDD) is that whole UTC day (to its end when
 * `end`); else a time as parseTime reads it. A message if unusable, or past the last time an answer can show.
 */
export function parseDay(value: string, end: boolean): number | string {
  const date = dateOf(value) !== null;
  let ms = parseTime(value);
  // An impossible date or date-time gets parseTime's reason; anything else, what a bound may be.
  if (typeof ms === 'string') return date || DATE_TIME.test(value) ? ms : 'must be a date (YYYY-MM-DD or YYYYMMDD), an ISO 8601 date-time or epoch milliseconds';
  if (date && end) ms += DAY;
  if (ms < 0) return 'must be from 1970 on';
  // The answer echoes the bound as an ISO string: the end of 9999-12-31 would be year 10000.
  if (ms > LATEST) return `must be at most ${iso(LATEST)}, the last time a report can name${date && end ? ' (as a whole day, 9999-12-30)' : ''}`;
  return ms;
}

/** from/to of a report or list; by default the last 30 days. A message naming the bad bound otherwise. */
export function parseRange(q: { from?: string; to?: string }, now: number): { from: number; to: number } | string {
  // By default the last 30 whole UTC days, today included: whole days read the daily rollups.
  const to = q.to === undefined ? Math.floor(now / DAY) * DAY + DAY : parseDay(q.to, true);
  if (typeof to === 'string') return `to ${to}`;
  const from = q.from === undefined ? to - 30 * DAY : parseDay(q.from, false);
  if (typeof from === 'string') return `from ${from}`;
  if (from >= to) return 'from must be before to';
  return { from, to };
}

/** An instant from 2000 to 9999 (as parseTime reads it), e.g. an event's start; null if not. */
export function parseInstant(value: string | number): number | null {
  const ms = parseTime(value);
  return typeof ms === 'number' && ms >= EARLIEST && ms <= LATEST ? ms : null;
}

export const iso = (ms: number): string => new Date(ms).toISOString();
