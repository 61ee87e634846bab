import type { Mailer } from './mail.js';
import type { Limits } from './limits.js';
import type { PublicIngest } from './public-ingest.js';
import type { Site, Store } from './store.js';
import type { VidCookie } from './visitor-cookie.js';

/** What every route module gets: the store, the clock and the app's settings. */
export interface Ctx {
  store: Store;
  /** Pageviews and public conversions: on this thread, or on the ingest worker. */
  ingest: PublicIngest;
  sites: SiteCache;
  cookies: VidCookie;
  now: () => number;
  adminToken: string;
  publicUrl: string;
  mail: Mailer;
  limits: Limits;
}

export interface SiteCache {
  get(id: string): Promise<Site | null>;
  forget(id: string): void;
}

/** Site settings are read on every hit; cache them briefly (other processes may change them). */
export function createSiteCache(store: Store, ttlMs = 30_000): SiteCache {
  const entries = new Map<string, { site: Site | null; at: number }>();
  return {
    async get(id) {
      const hit = entries.get(id);
      const now = Date.now();
      if (hit && now - hit.at < ttlMs) return hit.site;
      const site = await store.getSite(id);
      if (entries.size > 10_000) entries.clear();
      entries.set(id, { site, at: now });
      return site;
    },
    forget: (id) => void entries.delete(id),
  };
}
