// Rate limits with @fastify/rate-limit, per client address (kept in memory only, never
// stored): a generous ceiling on each public endpoint, because a venue's shared Wi-Fi is one
// address for thousands of phones, and a tight one on failed authentication, counted only
// when a token is wrong so that a busy integration with a good token is never slowed.
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest, RouteShorthandOptions } from 'fastify';
import { HttpError } from './errors.js';
import { PUBLIC_LOG_LEVEL } from './log.js';

export interface RateLimitOptions {
  /** Requests a minute from one address to each public endpoint. Default 6000; 0: no limit. */
  publicPerMinute?: number;
  /** Failed authentications a minute from one address before every token is refused with 429. Default 10; 0: no limit. */
  authFailuresPerMinute?: number;
  /**
   * Recruits a promoter's team (the promoter the organiser invited and everyone below) may
   * invite a day: each mails a welcome in the site's name. Default 20; 0: no limit.
   */
  recruitsPerDay?: number;
  /** Codes a promoter's team may create a day (recruits' included). Default 100; 0: no limit. */
  codesPerDay?: number;
}

export interface AuthGuard {
  /** Throws 429 while this address is over its failed-authentication budget. */
  check(request: FastifyRequest): Promise<void>;
  /** Counts one failed authentication. */
  fail(request: FastifyRequest): Promise<void>;
}

export interface PublicRouteFlags {
  /** Errors answer a GIF (status and X-Linktrail-Error), never JSON: it is an <img>. */
  gif?: boolean;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    gif?: boolean;
  }
}

const WINDOW = 60_000;
// Addresses remembered per limit within the window, in memory; the oldest go first. Each
// route and the failure counter keep their own (the plugin's children ignore its global one).
const CACHE = 100_000;

const tooMany = (message: string, retryAfterS?: number) =>
  new HttpError(429, 'rate_limited', message, retryAfterS === undefined ? {} : { 'retry-after': String(retryAfterS) });

export interface Limits {
  /** Route options for a public endpoint: its rate limit, and request logs at warn (one line per hit would cost more than storing it). */
  publicRoute(flags?: PublicRouteFlags): RouteShorthandOptions;
  auth: AuthGuard;
  /** Recruits a promoter's whole team may invite a day (0: no limit); counted in the store (teams.ts). */
  recruitsPerDay: number;
  /** Codes a promoter's whole team may create a day (0: no limit); counted in the store. */
  codesPerDay: number;
}

export async function registerLimits(app: FastifyInstance, options: RateLimitOptions = {}): Promise<Limits> {
  const publicMax = options.publicPerMinute ?? 6000;
  const authMax = options.authFailuresPerMinute ?? 10;
  await app.register(rateLimit, {
    global: false,
    cache: CACHE,
    // Beacons and pixels never read X-RateLimit-* on success: send them only with a 429.
    addHeadersOnExceeding: { 'x-ratelimit-limit': false, 'x-ratelimit-remaining': false, 'x-ratelimit-reset': false },
    errorResponseBuilder: (_request, c) =>
      tooMany(`too many requests from this address: at most ${c.max} a minute here; retry in ${c.after}`),
  });

  const failures = authMax > 0 ? app.createRateLimit({ max: authMax, timeWindow: WINDOW, cache: CACHE } as Parameters<typeof app.createRateLimit>[0]) : null;
  const auth: AuthGuard = {
    async check(request) {
      if (!failures) return;
      const status = await failures(request, { increment: false });
      if (!status.isAllowed && status.remaining === 0) {
        const wait = Math.max(1, status.ttlInSeconds);
        throw tooMany(`too many failed authentications from this address; retry in ${wait} s`, wait);
      }
    },
    async fail(request) {
      if (failures) await failures(request);
    },
  };

  return {
    recruitsPerDay: options.recruitsPerDay ?? 20,
    codesPerDay: options.codesPerDay ?? 100,
    publicRoute: (flags = {}) => ({
      logLevel: PUBLIC_LOG_LEVEL,
      config: { ...flags, ...(publicMax > 0 ? { rateLimit: { max: publicMax, timeWindow: WINDOW, cache: CACHE } } : {}) },
    }),
    auth,
  };
}
