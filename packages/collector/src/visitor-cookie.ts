// The collector's own visitor cookie: HttpOnly and signed, so a same-site collector knows
// the visitor on a plain <img> pixel, and so 28 days hold where script cookies last 7.
import type { FastifyReply, FastifyRequest } from 'fastify';

export const VID_COOKIE = 'lt_vid';
const MAX_AGE_S = 390 * 24 * 3600; // 13 months, the usual ceiling for audience cookies

export function readVid(request: FastifyRequest): string | null {
  const raw = request.cookies[VID_COOKIE];
  if (!raw) return null;
  const r = request.unsignCookie(raw);
  return r.valid && r.value && /^[\w-]{8,64}$/.test(r.value) ? r.value : null;
}

export function writeVid(request: FastifyRequest, reply: FastifyReply, vid: string): void {
  reply.setCookie(VID_COOKIE, vid, {
    signed: true,
    httpOnly: true,
    sameSite: 'lax',
    secure: request.protocol === 'https',
    path: '/',
    maxAge: MAX_AGE_S,
  });
}
