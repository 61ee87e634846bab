// The collector's own visitor cookie: HttpOnly and signed, so a same-site collector knows
// the visitor on a plain <img> pixel, and so 28 days hold where script cookies last 7.
import type { FastifyReply, FastifyRequest } from 'fastify';

export const VID_COOKIE = 'lt_vid';
const MAX_AGE_S = 390 * 24 * 3600; // 13 months, the usual ceiling for audience cookies

// A request's verified cookie, so answering it re-sends the same signed value instead of
// signing again (an HMAC per request was a twentieth of a pageview's CPU).
const verified = new WeakMap<FastifyRequest, { vid: string; raw: string }>();

export function readVid(request: FastifyRequest): string | null {
  const raw = request.cookies[VID_COOKIE];
  if (!raw) return null;
  const r = request.unsignCookie(raw);
  if (!r.valid || !r.value || !/^[\w-]{8,64}$/.test(r.value)) return null;
  verified.set(request, { vid: r.value, raw });
  return r.value;
}

export function writeVid(request: FastifyRequest, reply: FastifyReply, vid: string): void {
  const known = verified.get(request);
  const same = known?.vid === vid;
  reply.setCookie(VID_COOKIE, same ? known.raw : vid, {
    signed: !same,
    httpOnly: true,
    sameSite: 'lax',
    secure: request.protocol === 'https',
    path: '/',
    maxAge: MAX_AGE_S,
  });
}
