import { createHash, randomFillSync, timingSafeEqual } from 'node:crypto';

// Each randomFillSync call costs a few microseconds however few bytes it fills (a click id
// per touch made it a tenth of ingest's CPU), so ids are cut from a pool filled 4 KB at a
// time, as crypto.randomUUID() does. Bytes are used once and never handed out twice.
const POOL = Buffer.alloc(4096);
let used = POOL.length;

/** A random url-safe id: 16 bytes (128 bits) unless asked otherwise. */
export function randomId(bytes = 16): string {
  if (bytes > POOL.length) return randomFillSync(Buffer.alloc(bytes)).toString('base64url');
  if (used + bytes > POOL.length) {
    randomFillSync(POOL);
    used = 0;
  }
  used += bytes;
  return POOL.toString('base64url', used - bytes, used);
}

/**
 * The click id of a touch that is not a tracking-link click (a search, social or email
 * landing): when its visit happened, then 96 random bits, e.g. "t0mhz5k3a1" + 16 characters.
 * A conversion that names only this id finds its visitor with one probe of the visits' time
 * index (`touchCidTime`), where an id without its time would mean reading every visit.
 */
export const touchCid = (ts: number): string => `t${Math.max(0, Math.trunc(ts)).toString(36).padStart(9, '0')}${randomId(12)}`;

/** The visit time a touch click id carries, or null for any other id (a shortlink's, a custom one). */
export function touchCidTime(cid: string): number | null {
  const m = /^t([0-9a-z]{9})[\w-]{16}$/.exec(cid);
  return m ? parseInt(m[1]!, 36) : null;
}

/** A visit's click id that only `visit_cids` leads back to (one that carries no time). */
export const cidNeedsKey = (cid: string | null): cid is string => cid !== null && touchCidTime(cid) === null;

export const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** Tokens are stored hashed; a leaked database does not leak access. */
export const hashToken = (token: string): string => sha256(`linktrail-token:${token}`);

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Lowercase slug from free text ("Mia López" → "mia-lopez"), at most 48 characters. */
export function slugify(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48)
    .replace(/-+$/, '');
}
