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
  /** The operator's token, hashed (ids.ts hashToken), as site and promoter tokens are. */
  adminTokenHash: string;
  publicUrl: string;
  mail: Mailer;
  limits: Limits;
}

export interface SiteCache {
  get(id: string): Promise<Site | null>;
  forget(id: string): void;
}

export interface SiteCacheOptions {
  /** How long a site is kept while every change reaches this process (SQLite; PostgreSQL listening). Default 30 s. */
  ttlMs?: number;
  /** How long while another process's change might go unheard (PostgreSQL, not listening). Default 1 s. */
  unheardTtlMs?: number;
  /** How long an unknown site id stays unknown (a site created elsewhere may not be heard of). Default 1 s. */
  missingTtlMs?: number;
  /** The clock. Default Date.now. */
  now?: () => number;
}

/**
 * Site settings are read on every hit: cached, and dropped when a site changes. On PostgreSQL
 * every process hears of every change (Store.watchSites); while it can't, it keeps sites for a
 * second only. An unknown id is kept briefly too, so a flood of them costs a read a second
 * each, and a site created by another process is known within that second at worst. One read
 * serves every request for a site that comes in meanwhile.
 */
export function createSiteCache(store: Store, options: SiteCacheOptions = {}): SiteCache & { close(): void } {
  const ttlMs = options.ttlMs ?? 30_000;
  const unheardTtlMs = options.unheardTtlMs ?? 1_000;
  const missingTtlMs = options.missingTtlMs ?? 1_000;
  const now = options.now ?? Date.now;
  const entries = new Map<string, { site: Site | null; until: number }>();
  const loading = new Map<string, Promise<Site | null>>();
  // Bumped by every change heard: a read that began before one is answered, not kept.
  let changes = 0;
  let heard = store.watchSites === undefined;
  const forget = (id: string) => {
    changes++;
    entries.delete(id);
    loading.delete(id);
  };
  const unwatch = store.watchSites?.({
    changed: forget,
    listening(up) {
      // Up: changes made while not listening were missed. Down: what is kept would be kept too long.
      changes++;
      entries.clear();
      loading.clear();
      heard = up;
    },
  });
  return {
    get(id) {
      const at = now();
      const hit = entries.get(id);
      if (hit && at < hit.until) return Promise.resolve(hit.site);
      const pending = loading.get(id);
      if (pending) return pending;
      const seen = changes;
      const read = store.getSite(id).finally(() => {
        if (loading.get(id) === read) loading.delete(id);
      });
      loading.set(id, read);
      void read.then(
        (site) => {
          if (seen !== changes) return;
          if (entries.size >= 10_000) entries.clear();
          entries.set(id, { site, until: at + (site === null ? missingTtlMs : heard ? ttlMs : unheardTtlMs) });
        },
        () => {},
      );
      return read;
    },
    forget,
    /** Stops hearing of changes (the store outlives an app built on it in tests). */
    close: () => unwatch?.(),
  };
}
