export const MINUTE = 60_000;
export const DAY = 86_400_000;

const EARLIEST = Date.UTC(2000, 0, 1);
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

/** A report bound: a bare date (YYYY-MM-DD) is that whole UTC day. */
export function parseDay(value: string, end: boolean): number | null {
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    const start = Date.parse(`${value}T00:00:00Z`);
    return Number.isFinite(start) ? start + (end ? DAY : 0) : null;
  }
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  return Number.isFinite(ms) ? ms : null;
}

export const iso = (ms: number): string => new Date(ms).toISOString();
