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
