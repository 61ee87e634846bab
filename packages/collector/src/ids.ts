import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A random url-safe id: 16 bytes (128 bits) unless asked otherwise. */
export const randomId = (bytes = 16): string => randomBytes(bytes).toString('base64url');

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
