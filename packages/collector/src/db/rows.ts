// Row mappers shared by the SQLite and PostgreSQL stores: both use the same column names,
// integers for flags and epoch-ms times, and JSON text for lists, so one mapper fits both.
import type { Channel } from '@linktrail/tracker';
import type { Attribution, ClickCandidate, VisitCandidate } from '../attribution.js';
import type { OrderFacts, RollupBatch, RollupFacts } from '../rollups.js';
import type { Affiliate, Code, ConversionRecord, EventRecord, HitRecord, ItemRecord, OrderStatus, Site, StoredConversion } from '../store.js';

export type Row = Record<string, unknown>;

export const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

export const toSite = (r: Row): Site => ({
  id: String(r.id),
  name: String(r.name),
  url: String(r.url),
  platformHosts: JSON.parse(String(r.platform_hosts)) as string[],
  windowDays: Number(r.window_days),
  currency: String(r.currency),
  createdAt: Number(r.created_at),
  requireSignedConversions: Number(r.require_signed_conversions) === 1,
  honorGpc: Number(r.honor_gpc) === 1,
});

// Every sites column but the secret: a Site never carries it, so no view can leak it.
export const SITE_COLUMNS = 'id, name, url, platform_hosts, window_days, currency, created_at, require_signed_conversions, honor_gpc';

export const toEvent = (r: Row): EventRecord => ({
  id: String(r.id),
  name: String(r.name),
  url: String(r.url),
  startsAt: r.starts_at === null ? null : Number(r.starts_at),
});

export const toAffiliate = (r: Row): Affiliate => ({
  id: String(r.id),
  name: String(r.name),
  nickname: str(r.nickname),
  email: str(r.email),
  parent: str(r.parent),
});

export const toCode = (r: Row): Code => ({
  code: String(r.code),
  affiliate: str(r.affiliate),
  event: str(r.event),
  target: str(r.target),
  createdAt: Number(r.created_at),
});

export const toItem = (r: Row): ItemRecord => ({ type: String(r.type), qty: Number(r.qty), priceMinor: Number(r.price_minor) });

/**
 * A conversion just inserted, as stored. Field by field: `{ ...conv, vid, … }` made V8 build
 * a new hidden class per order, allocated in the old generation (1.5 KB an order, a full
 * garbage collection on the ingest worker every ~0.25 s under a stream of orders).
 */
export function newlyStored(conv: ConversionRecord, vid: string | null, newCustomer: boolean, attribution: Attribution): StoredConversion {
  return {
    siteId: conv.siteId,
    order: conv.order,
    ts: conv.ts,
    event: conv.event,
    type: conv.type,
    currency: conv.currency,
    valueMinor: conv.valueMinor,
    tickets: conv.tickets,
    items: conv.items,
    customer: conv.customer,
    vid,
    cid: conv.cid,
    status: 'completed',
    scanned: 0,
    newCustomer,
    attribution,
  };
}

/** A conversions row (with its items) as stored, attribution included. */
export function toConversion(r: Row, items: ItemRecord[]): StoredConversion {
  const attribution: Attribution = {
    link:
      r.link_code === null
        ? null
        : { code: String(r.link_code), affiliate: str(r.link_affiliate), cid: String(r.link_cid), ts: Number(r.link_ts) },
    channel: String(r.channel) as Attribution['channel'],
    source: str(r.source),
    utm: { source: str(r.utm_source), medium: str(r.utm_medium), campaign: str(r.utm_campaign) },
    rule: String(r.rule),
    candidates: JSON.parse(String(r.candidates)) as Attribution['candidates'],
  };
  return {
    siteId: String(r.site_id),
    order: String(r.order_id),
    ts: Number(r.ts),
    event: str(r.event),
    type: String(r.type),
    currency: String(r.currency),
    valueMinor: Number(r.value_minor),
    tickets: Number(r.tickets),
    items,
    customer: str(r.customer),
    vid: str(r.vid),
    cid: str(r.cid),
    status: String(r.status) as OrderStatus,
    scanned: Number(r.scanned),
    newCustomer: Number(r.new_customer) === 1,
    attribution,
  };
}

export const toClickCandidate = (r: Row): ClickCandidate => ({
  cid: String(r.cid),
  ts: Number(r.ts),
  code: String(r.code),
  affiliate: str(r.affiliate),
  codeEvent: str(r.code_event),
});

export const toVisitCandidate = (r: Row): VisitCandidate => ({
  ts: Number(r.ts),
  channel: String(r.channel) as Channel,
  source: str(r.source),
  cid: str(r.cid),
  touch: Number(r.touch) === 1,
  utmSource: str(r.utm_source),
  utmMedium: str(r.utm_medium),
  utmCampaign: str(r.utm_campaign),
});

/** How many candidates attribution looks at per visitor (newest first). */
export const CANDIDATE_LIMIT = 20;

const DAY_MS = 86_400_000;

/**
 * A stored conversion's contribution to the order rollups, from its conversions row: it enters
 * (sign 1) or leaves (sign -1) the figures, or `only` these of its counts change.
 */
export function countOrderRow(rollup: RollupBatch, r: Row, sign: 1 | -1, only?: { scanned?: number; new_customers?: number }): void {
  const facts: OrderFacts = {
    channel: String(r.channel),
    source: str(r.source),
    code: str(r.link_code),
    event: str(r.event),
    utm_source: str(r.utm_source),
    utm_medium: str(r.utm_medium),
    utm_campaign: str(r.utm_campaign),
    currency: String(r.currency),
    type: String(r.type),
  };
  const change =
    only !== undefined
      ? only
      : {
          orders: sign,
          tickets: sign * Number(r.tickets),
          revenue: sign * Number(r.value_minor),
          new_customers: sign * Number(r.new_customer),
          scanned: sign * Number(r.scanned),
        };
  rollup.addOrder(String(r.site_id), Math.floor(Number(r.ts) / DAY_MS), facts, change);
}

/**
 * A shortlink click (`known`, as its redirect stored it) on its landing `h`: its event, unless
 * its code has one, and its source are the landing page's when the redirect had none; and the
 * rollup changes that move it there (a preview becomes a click; a click changes keys).
 */
export function landedClick(known: Row, h: HitRecord): { event: string | null; source: string | null; moves: Array<{ facts: RollupFacts; change: { clicks?: number; previews?: number } }> } {
  const event = str(known.event) ?? h.event;
  const source = str(known.source) ?? h.source;
  const facts = (e: string | null, s: string | null): RollupFacts => ({
    channel: String(known.channel), source: s, code: String(known.code), event: e, utm_source: null, utm_medium: null, utm_campaign: null,
  });
  const preview = known.kind === 'preview';
  const moved = event !== str(known.event) || source !== str(known.source);
  if (!preview && !moved) return { event, source, moves: [] };
  return {
    event,
    source,
    moves: [
      { facts: facts(str(known.event), str(known.source)), change: preview ? { previews: -1 } : { clicks: -1 } },
      { facts: facts(event, source), change: { clicks: 1 } },
    ],
  };
}
