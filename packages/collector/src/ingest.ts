// Turns a received pageview into a stored hit: classify it (never trusting the script's own
// verdict), then decide whether it starts a visit and whether it is a click (SPEC §4).
import { classify, normalizeHost, readParams, TOUCH_CHANNELS, type Channel } from '@linktrail/tracker';
import { badRequest } from './errors.js';
import { touchCid } from './ids.js';
import type { HitInput } from './schemas/hit.js';
import type { HitRecord, Site, Store } from './store.js';
import { RecentVisitors } from './recent-visitors.js';
import { UNPRINTABLE_ALL } from './schemas/common.js';
import { MINUTE } from './time.js';

/** A pageview within this gap of the visitor's previous hit continues the visit. */
export const VISIT_GAP = 30 * MINUTE;
/** Stored url/referrer length; classification sees the whole string. */
const STORED_URL = 2048;
/**
 * What a page sends is stored without control characters and the like (schemas/common.ts
 * UNPRINTABLE): no real URL, referrer or utm value has them, PostgreSQL text can't hold NUL,
 * and they would reach reports, CSV and XLSX exports (where U+FFFF makes the file invalid).
 */
const printable = (v: string | null | undefined, max: number): string | null => (v ? v.replace(UNPRINTABLE_ALL, '').slice(0, max) || null : null);

const TOUCH = new Set<Channel>(TOUCH_CHANNELS);

export interface Ingest {
  /** Loads the last 30 minutes of visitors so a restart does not split visits. */
  warm(): Promise<void>;
  /**
   * Classifies and decides; throws a 400 for an unusable hit. Keeps the visit map in order.
   * `bot`: the sender is automated (undefined: a server-side hit that named no user agent).
   */
  prepare(site: Site, hit: HitInput, ts: number, bot?: boolean): HitRecord;
  /**
   * Server-side hits (in time order), which may come out of order or from before what the
   * visit map holds: a hit the map cannot place is decided from the stored hits instead.
   */
  prepareServerHits(site: Site, hits: Array<{ hit: HitInput; ts: number; bot?: boolean }>): Promise<HitRecord[]>;
  record(hits: HitRecord[]): Promise<void>;
}

export function hostOf(url: string): string | null {
  try {
    return new URL(url).hostname.toLowerCase().replace(/^www\./, '');
  } catch {
    return null;
  }
}

// Per site object (the site cache keeps one for 30 s): parsing site.url on every hit was a
// tenth of classifying it.
const hostsOfSite = new WeakMap<Site, string[]>();

export function platformHosts(site: Site): string[] {
  let hosts = hostsOfSite.get(site);
  if (!hosts) {
    const own = hostOf(site.url);
    hosts = own ? [own, ...site.platformHosts] : site.platformHosts;
    hostsOfSite.set(site, hosts);
  }
  return hosts;
}

// Seeds drawn per process, so no one can craft an id that shares another visitor's key.
const [SEED_A, SEED_B] = crypto.getRandomValues(new Uint32Array(2)) as unknown as [number, number];

/** (site, visitor) as a 52-bit number: two 32-bit FNV-1a-style hashes with secret seeds. */
export function visitorKey(siteId: string, vid: string): number {
  let a = SEED_A;
  let b = SEED_B;
  const mix = (c: number) => {
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 15);
  };
  for (let i = 0; i < siteId.length; i++) mix(siteId.charCodeAt(i));
  mix(10);
  for (let i = 0; i < vid.length; i++) mix(vid.charCodeAt(i));
  return (a >>> 0) * 0x100000 + ((b >>> 0) & 0xfffff);
}

const platformMemo = new Map<string, string[]>();

/**
 * The hosts data-platform names, as pages write it: "bücher.de; *.example.org https://pay.example.org/x"
 * gives xn--bcher-kva.de, example.org, pay.example.org. Entries are split at commas, semicolons and
 * spaces (the first 20 are read); a scheme, a `*.` prefix, a path and a port are dropped, an IDN
 * becomes punycode, and an entry that names no host is left out. Remembered per string (a page
 * sends the same one with every hit), for up to 1,000 strings.
 */
export function hostsOfPlatform(platform: string | undefined): string[] {
  if (!platform) return [];
  let hosts = platformMemo.get(platform);
  if (hosts) return hosts;
  hosts = [];
  for (const entry of platform.split(/[\s,;]+/).filter(Boolean).slice(0, 20)) {
    const bare = entry.replace(/^([a-z][a-z0-9+.-]*:)?\/\//i, '').replace(/^\*\./, '').split(/[/?#\\]/)[0];
    // As classify reads hosts (port and final dot dropped, IDN as punycode); no IPv6 literal.
    const host = bare ? normalizeHost(bare) : null;
    if (host && /^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(host)) hosts.push(host);
  }
  if (platformMemo.size >= 1000) platformMemo.clear();
  platformMemo.set(platform, hosts);
  return hosts;
}

export function createIngest(store: Store, maxVisitors = 200_000): Ingest {
  // Last hit time per (site, visitor): serves the 30-minute rule without a random-key
  // index on the hits table. Bounded: the visitors touched last are kept (recent-visitors.ts).
  // Keyed by a 52-bit hash, not the strings; two visitors sharing a hash (odds ~1e-5 at the
  // bound) share a timer.
  const lastSeen = new RecentVisitors(maxVisitors);
  // The map knows every hit since this time (warm's horizon): a visitor it does not hold had
  // none since, unless pushed out by the bound (as for any pageview).
  let coveredFrom = Infinity;

  /**
   * `before`: the latest hit of the visitor at or before `ts`, when the caller knows it better
   * than the map (null: none); otherwise the map's time for the visitor.
   */
  function prepare(site: Site, hit: HitInput, ts: number, automated?: boolean, before?: number | null): HitRecord {
    if (!/^https?:\/\//i.test(hit.url)) throw badRequest('url must be an http(s) URL');
    const referrer = hit.referrer ?? '';
    const pageHosts = hostsOfPlatform(hit.platform);
    // The whole query: a value may hold another '?' (`?return=/e/fest?seat=1&affiliate=mia`).
    const page = hit.url.split('#')[0]!;
    const params = readParams(page.includes('?') ? page.slice(page.indexOf('?') + 1) : '', hit.param);
    const hosts = pageHosts.length > 0 ? [...platformHosts(site), ...pageHosts] : platformHosts(site);
    const c = classify(hit.url, referrer, { platformHosts: hosts, affiliateParam: hit.param }, params);
    const replay = hit.nav === 'reload' || hit.nav === 'back_forward';
    const bot = automated === true;
    const touch = TOUCH.has(c.channel);

    const key = visitorKey(site.id, hit.vid);
    // A bot's hit never continues or starts a visit: it only reads.
    const held = bot ? lastSeen.get(key) : lastSeen.touch(key, ts);
    const prev = before === undefined ? held : (before ?? undefined);
    const fresh = prev === undefined || Math.abs(ts - prev) > VISIT_GAP;

    const code = c.channel === 'affiliate' && c.affiliate ? printable(c.affiliate.toLowerCase(), 64) : null;
    // A touch needs a click id: the shortlink's, the script's, or one minted here.
    // The shortlink's lt_cid is adopted only when well-formed (the script keeps 16-64 chars).
    const ltCid = params.ltCid && /^[\w-]{16,64}$/.test(params.ltCid) ? params.ltCid : null;
    const cid = hit.cid ?? ltCid ?? (touch && !replay ? touchCid(ts) : null);
    const u = params.utm;
    const cap = (v: string | undefined) => printable(v, 256);
    return {
      siteId: site.id,
      ts,
      vid: hit.vid,
      cid,
      event: hit.event ?? null,
      // Without its fragment, which only the page reads (and which may hold what it keeps to
      // itself, e.g. a token the page took out of its address before the script ran).
      url: printable(page, STORED_URL)!,
      referrer: printable(referrer, STORED_URL),
      channel: c.channel,
      source: printable(c.source, STORED_URL),
      code,
      utm: {
        source: cap(u.source),
        medium: cap(u.medium),
        campaign: cap(u.campaign),
        term: cap(u.term),
        content: cap(u.content),
      },
      nav: replay ? (hit.nav as 'reload' | 'back_forward') : null,
      visit: !bot && !replay && (touch || fresh),
      touch,
      bot,
    };
  }

  return {
    async warm() {
      const since = Date.now() - VISIT_GAP;
      for (const v of await store.recentVisitors(since)) lastSeen.touch(visitorKey(v.siteId, v.vid), v.ts);
      coveredFrom = since;
    },

    prepare,

    async prepareServerHits(site, hits) {
      // Within 30 minutes of the time the map holds, a hit continues the visit, as a pageview
      // does. Otherwise the map cannot place a hit whose 30 minutes before reach past its
      // horizon (a backfill, e.g. after a restart: a time it holds may be a backfilled one, with
      // stored hits after it), nor one before the time it holds (which is not its predecessor).
      const unsure: number[] = [];
      hits.forEach(({ hit, ts, bot }, i) => {
        if (bot) return;
        const held = lastSeen.get(visitorKey(site.id, hit.vid));
        if (held !== undefined && Math.abs(held - ts) <= VISIT_GAP) return;
        if (ts - VISIT_GAP < coveredFrom || (held !== undefined && held > ts)) unsure.push(i);
      });
      // Their stored predecessors: the hits of their 30-minute windows (overlapping ones read
      // together, by the time index), so a read covers what the batch looks back on, not its span.
      const stored = new Map<string, number[]>();
      for (let at = 0; at < unsure.length; ) {
        const from = hits[unsure[at]!]!.ts - VISIT_GAP;
        const vids = new Set<string>();
        let to = from;
        for (; at < unsure.length && hits[unsure[at]!]!.ts - VISIT_GAP <= to; at++) {
          to = hits[unsure[at]!]!.ts;
          vids.add(hits[unsure[at]!]!.hit.vid);
        }
        for (const { vid, ts } of await store.hitTimes(site.id, [...vids], from, to)) {
          (stored.get(vid) ?? stored.set(vid, []).get(vid)!).push(ts);
        }
      }
      const isUnsure = new Set(unsure);
      // A batch sent again (a retry after a timeout) stores nothing twice: a hit whose visitor,
      // time and page are stored already is left out.
      const twins = new Set((await store.storedHits(site.id, hits.map(({ hit, ts }) => ({ vid: hit.vid, ts })))).map((h) => `${h.vid}\n${h.ts}\n${h.url}`));
      // In time order, a hit's predecessor is the latest of the stored ones and this batch's own.
      const inBatch = new Map<string, number>();
      const records = hits.map(({ hit, ts, bot }, i) => {
        let before: number | null | undefined;
        if (isUnsure.has(i)) {
          const earlier = (stored.get(hit.vid) ?? []).filter((t) => t <= ts);
          const own = inBatch.get(hit.vid);
          before = Math.max(...earlier, own ?? -Infinity);
          if (before === -Infinity) before = null;
        }
        const held = bot ? undefined : lastSeen.get(visitorKey(site.id, hit.vid));
        const record = prepare(site, hit, ts, bot, before);
        if (!bot) inBatch.set(hit.vid, ts);
        if (record.touch && record.visit && (isUnsure.has(i) || (held !== undefined && held > ts))) record.late = true;
        return record;
      });
      return twins.size === 0 ? records : records.filter((r) => !twins.has(`${r.vid}\n${r.ts}\n${r.url}`));
    },

    record: (hits) => store.recordHits(hits),
  };
}
