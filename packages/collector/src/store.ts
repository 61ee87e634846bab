// The storage contract. SQLite implements it today; a PostgreSQL implementation will fulfil
// the same interface, so every method is async even where SQLite answers synchronously.
import type { Channel } from '@linktrail/tracker';
import type { Attribution, AttributionInput } from './attribution.js';
import type { ReportQuery, ReportRow } from './report.js';

export interface Site {
  id: string;
  name: string;
  url: string;
  platformHosts: string[];
  windowDays: number;
  currency: string;
  createdAt: number;
  /** Conversions must carry sig, an HMAC of order, value and currency with the site's secret. */
  requireSignedConversions: boolean;
  /** Hits, clicks and conversions sent with Sec-GPC: 1 are not stored. */
  honorGpc: boolean;
}

/** A change to a site's settings; conversionSecret null removes the secret. */
export interface SiteSettingsUpdate {
  requireSignedConversions?: boolean;
  honorGpc?: boolean;
  conversionSecret?: string | null;
}

export interface EventRecord {
  id: string;
  name: string;
  url: string;
  startsAt: number | null;
}

export interface Affiliate {
  id: string;
  name: string;
  nickname: string | null;
  email: string | null;
  parent: string | null;
}

export interface Code {
  code: string;
  affiliate: string | null;
  event: string | null;
  target: string | null;
  createdAt: number;
}

export interface Utm {
  source: string | null;
  medium: string | null;
  campaign: string | null;
  term: string | null;
  content: string | null;
}

/** A pageview after classification and the visit/click decisions of ingest.ts. */
export interface HitRecord {
  siteId: string;
  ts: number;
  vid: string;
  cid: string | null;
  event: string | null;
  url: string;
  referrer: string | null;
  channel: Channel;
  source: string | null;
  /** The tracking code of an affiliate landing (lowercased), registered or not. */
  code: string | null;
  utm: Utm;
  nav: 'reload' | 'back_forward' | null;
  visit: boolean;
  touch: boolean;
  /** A crawler or headless browser: stored, never a visit or a click. */
  bot: boolean;
  /**
   * A backfilled touch with later hits of its visitor stored already: a visit among them within
   * 30 minutes after it (not a touch) continues it now, and is one no more (SQLite;
   * PostgreSQL's visitor row tells this, and more, by itself).
   */
  late?: true;
}

/** A shortlink redirect (or a preview fetch of one). */
export interface ClickRecord {
  siteId: string;
  cid: string;
  ts: number;
  vid: string | null;
  code: string;
  event: string | null;
  kind: 'click' | 'preview';
}

export interface Money {
  currency: string;
  minor: number;
}

export interface ItemRecord {
  type: string;
  qty: number;
  priceMinor: number;
}

export const ORDER_STATUSES = ['completed', 'refunded', 'transferred', 'resold', 'cancelled'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export interface ConversionRecord {
  siteId: string;
  order: string;
  ts: number;
  event: string | null;
  type: string;
  currency: string;
  valueMinor: number;
  tickets: number;
  items: ItemRecord[];
  /** Already hashed: never the buyer's raw identifier. */
  customer: string | null;
  vid: string | null;
  cid: string | null;
}

export interface StoredConversion extends ConversionRecord {
  status: OrderStatus;
  scanned: number;
  newCustomer: boolean;
  attribution: Attribution;
}

/** A conversion as the order list shows it: never the customer key. */
export interface OrderSummary {
  order: string;
  ts: number;
  event: string | null;
  type: string;
  status: OrderStatus;
  currency: string;
  valueMinor: number;
  tickets: number;
  scanned: number;
  /** Link attribution. */
  code: string | null;
  affiliate: string | null;
  /** Channel attribution. */
  channel: string;
  source: string | null;
}

export interface OrderListQuery {
  from: number;
  /** Exclusive. */
  to: number;
  code: string | null;
  affiliate: string | null;
  status: OrderStatus | null;
  type: string | null;
  /** Keyset pagination: only orders older than this one (newest first, ties by order id). */
  before: { ts: number; order: string } | null;
  limit: number;
}

export type Conflict = { conflict: true };

export interface Store {
  readonly kind: 'sqlite' | 'postgres';

  getSetting(key: string): Promise<string | null>;
  setSetting(key: string, value: string): Promise<void>;
  /** Stores `value` unless the key is set; answers the stored value (first writer wins, across processes). */
  initSetting(key: string, value: string): Promise<string>;

  createSite(site: Site, tokenHash: string, conversionSecret?: string | null): Promise<Site | Conflict>;
  getSite(id: string): Promise<Site | null>;
  siteByTokenHash(tokenHash: string): Promise<Site | null>;
  setSiteToken(id: string, tokenHash: string): Promise<void>;
  /** Applies the change and returns the updated site, or null if there is no such site. */
  updateSiteSettings(id: string, update: SiteSettingsUpdate): Promise<Site | null>;
  /** The secret that signed conversions are checked with; never shown again once set. */
  getConversionSecret(id: string): Promise<string | null>;

  createEvent(siteId: string, event: EventRecord): Promise<EventRecord | Conflict>;
  getEvent(siteId: string, id: string): Promise<EventRecord | null>;

  createAffiliate(siteId: string, affiliate: Affiliate): Promise<Affiliate | Conflict>;
  getAffiliate(siteId: string, id: string): Promise<Affiliate | null>;
  listAffiliates(siteId: string): Promise<Affiliate[]>;
  /** How many of these affiliates are recruits (they have a parent) registered since `since` (epoch ms). */
  countRecruits(siteId: string, ids: string[], since: number): Promise<number>;
  /** A promoter's access token (hashed); a new one replaces the old. */
  /** A promoter's access token (its hash), or null: no access. */
  setAffiliateToken(siteId: string, id: string, tokenHash: string | null): Promise<void>;
  affiliateByTokenHash(tokenHash: string): Promise<{ siteId: string; affiliate: Affiliate } | null>;

  createCode(siteId: string, code: Code): Promise<Code | Conflict>;
  getCode(siteId: string, code: string): Promise<Code | null>;
  /** A shortlink without a site: the site that registered the code first. */
  findCode(code: string): Promise<{ siteId: string; code: Code } | null>;
  listCodes(siteId: string): Promise<Code[]>;
  /** Whether any visit or click ever came through this code (registered or not). */
  codeSeen(siteId: string, code: string): Promise<boolean>;

  /** Last hit time per visitor over the recent past, to warm the in-memory visit map. */
  recentVisitors(sinceTs: number): Promise<Array<{ siteId: string; vid: string; ts: number }>>;
  /** The times of these visitors' stored hits from `from` to `to` (inclusive), for the visit rule of a backfill. */
  hitTimes(siteId: string, vids: string[], from: number, to: number): Promise<Array<{ vid: string; ts: number }>>;
  /** The url of each stored hit of these (visitor, time) pairs: a server batch sent again finds its hits. */
  storedHits(siteId: string, hits: Array<{ vid: string; ts: number }>): Promise<Array<{ vid: string; ts: number; url: string }>>;

  /** Durable when the promise resolves. A click candidate becomes a click unless its cid is known. */
  recordHits(hits: HitRecord[]): Promise<void>;
  recordClick(click: ClickRecord): Promise<void>;

  /** Idempotent per (site, order): an order already stored is returned as it was, created = false. */
  recordConversion(
    conversion: ConversionRecord,
    windowDays: number,
    decide: (input: AttributionInput) => Attribution,
  ): Promise<{ created: boolean; conversion: StoredConversion }>;
  getConversion(siteId: string, order: string): Promise<StoredConversion | null>;
  setOrderStatus(siteId: string, order: string, status: OrderStatus): Promise<boolean>;
  setScanned(siteId: string, order: string, scanned: number): Promise<boolean>;
  /** Every status included, newest first; at most `limit` rows. */
  listOrders(siteId: string, query: OrderListQuery): Promise<OrderSummary[]>;

  report(siteId: string, query: ReportQuery): Promise<{ rows: ReportRow[]; totals: ReportRow }>;

  /**
   * Tells `listener` of site changes made by any process (PostgreSQL: every collector sharing
   * the database), for site caches; absent where this process makes every change (SQLite).
   * Returns a function that stops telling.
   */
  watchSites?(listener: SiteListener): () => void;
  /** Resolves once the database answers, or rejects by `timeoutMs` (health checks). Absent: any read serves. */
  ping?(timeoutMs: number): Promise<void>;

  /** Waits for queued writes, then closes. */
  close(): Promise<void>;
}

/** What a site cache hears from Store.watchSites. */
export interface SiteListener {
  /** Site `id` changed in some process. */
  changed(id: string): void;
  /** Changes are heard from now on (`true`: some may have been missed before) or no longer (`false`). */
  listening(up: boolean): void;
}

export const isConflict = (v: unknown): v is Conflict =>
  typeof v === 'object' && v !== null && (v as Partial<Conflict>).conflict === true;
