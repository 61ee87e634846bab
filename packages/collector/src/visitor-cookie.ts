// The collector's own visitor cookie: HttpOnly and signed, so a same-site collector knows
// the visitor on a plain <img> pixel, and so 28 days hold where script cookies last 7.
// Signing and checking are plain functions of the raw value, so the ingest worker can do
// them (an HMAC per request is a twentieth of a pageview's CPU) and the answering thread
// only copies the value into Set-Cookie.
import { Signer } from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';

export const VID_COOKIE = 'lt_vid';
const MAX_AGE_S = 390 * 24 * 3600; // 13 months, the usual ceiling for audience cookies
const VID = /^[\w-]{8,64}$/;

export interface VidCookie {
  /** The visitor id in a raw cookie value, when its signature holds. */
  read(raw: string | null | undefined): string | null;
  sign(vid: string): string;
}

export function vidCookie(secret: string): VidCookie {
  const signer = new Signer(secret);
  const read = (raw: string | null | undefined): string | null => {
    if (!raw) return null;
    const r = signer.unsign(raw);
    return r.valid && r.value && VID.test(r.value) ? r.value : null;
  };
  return { read, sign: (vid) => signer.sign(vid) };
}

/**
 * The visitor of a request: the signed cookie's id when it holds (it outlives script cookies
 * capped by the browser), else `fallback`; with the cookie value to answer: the one that came,
 * re-sent as is, or a newly signed one.
 */
export function visitorOf(cookies: VidCookie, raw: string | null, fallback: string | null | undefined): { vid: string; cookie: string } | null {
  const known = cookies.read(raw);
  if (known) return { vid: known, cookie: raw! };
  return fallback ? { vid: fallback, cookie: cookies.sign(fallback) } : null;
}

/** The raw lt_vid cookie of a request. */
export const rawVid = (request: FastifyRequest): string | null => request.cookies[VID_COOKIE] ?? null;

/** Sets lt_vid to a value already signed (visitorOf). */
export function sendVid(request: FastifyRequest, reply: FastifyReply, value: string): void {
  reply.setCookie(VID_COOKIE, value, {
    httpOnly: true,
    sameSite: 'lax',
    secure: request.protocol === 'https',
    path: '/',
    maxAge: MAX_AGE_S,
  });
}
