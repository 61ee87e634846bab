// The SQLite store: one connection, cached statements, writes through the group commit.
// Sites and conversions live in their own files (sqlite-sites.ts, sqlite-conversions.ts).
import type { Statement } from 'better-sqlite3';
import { orderListQuery, toOrderSummary } from '../order-list.js';
import { combineParts, mergeReport, reportParts, type Dialect, type ResultRow } from '../report.js';
import { ORDER_COUNTS, ROLLUPS, RollupBatch, TRAFFIC_COUNTS, type RollupFacts } from '../rollups.js';
import { hashVisitor, sketchAdd } from '../sketch.js';
import type { Conflict, HitRecord, Store } from '../store.js';
import type { Durability } from '../config.js';
import { cidNeedsKey, randomId } from '../ids.js';
import { VISIT_GAP } from '../ingest.js';
import { createBatcher } from './batcher.js';
import { openSqlite, type Sqlite } from './open-sqlite.js';
import { landedClick, str, toAffiliate, toCode, toEvent, type Row } from './rows.js';
import type { SqliteAccess } from './sqlite-access.js';
import { sqliteConversions } from './sqlite-conversions.js';
import { sqliteSites } from './sqlite-sites.js';
import { createVisitorIndex, type VisitorIndex } from './visitor-index.js';
import { createWalSync, noSync } from './wal-sync.js';

export const sqliteDialect: Dialect = {
  day: (col) => `strftime('%Y-%m-%d', ${col} / 1000, 'unixepoch')`,
  dayNumber: (col) => `strftime('%Y-%m-%d', ${col} * 86400, 'unixepoch')`,
  sketchUnion: (col) => `lt_sketch_union(${col})`,
  sketchOfIds: (col) => `lt_sketch(${col})`,
  inJsonList: (col) => `${col} IN (SELECT value FROM json_each(?))`,
};
export const DAY_MS = 86_400_000;
/** Prepared statements kept per connection (see `stmt`). */
export const STATEMENTS_KEPT = 256;

function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

const CONFLICT: Conflict = { conflict: true };

/** A rollup row's upsert: its counts added, and its visitor sketch merged when `traffic`. */
function upsertOf(table: string, columns: readonly string[], counts: readonly string[]) {
  const sql = (traffic: boolean) =>
    `INSERT INTO ${table} (site_id, day, ${[...columns, ...counts].join(', ')}${traffic ? ', visitors' : ''})
     VALUES (?, ?, ${[...columns, ...counts].map(() => '?').join(', ')}${traffic ? ', ?' : ''})
     ON CONFLICT DO UPDATE SET ${counts.map((c) => `${c} = ${c} + excluded.${c}`).join(', ')}
       ${traffic ? ', visitors = lt_sketch_merge(visitors, excluded.visitors)' : ''}`;
  const both = [sql(false), sql(true)];
  return { counts, sql: (traffic: boolean) => both[Number(traffic)]! };
}

/**
 * `eagerAt`, `onSyncFailure`: see BatchHooks; `blockingSync`: wait for the WAL's fsync on this
 * thread (wal-sync.ts; default false: on libuv's thread pool); `visitorIndex`: merge sizes
 * (visitor-index.ts; tests make them small).
 */
export function createSqliteStore(
  file: string,
  sync: Durability = 'disk',
  options: {
    eagerAt?: number;
    blockingSync?: boolean;
    onSyncFailure?: (error: Error) => void;
    visitorIndex?: { mergeAt?: number; chunk?: number };
  } = {},
): Store & { db: Sqlite } {
  const { db, wal } = openSqlite(file);
  const walSync = sync === 'disk' && wal && file !== ':memory:' ? createWalSync(file, { blocking: options.blockingSync }) : noSync;
  // Rollup changes of the jobs in the current batch, written once per row before COMMIT.
  const rollup = new RollupBatch();
  // Each rollup table's upsert, with and without visitor sketches to merge (orders have none).
  const upserts = new Map<string, { counts: readonly string[]; sql: (traffic: boolean) => string }>(
    ROLLUPS.flatMap((r) => [
      [r.table, upsertOf(r.table, r.columns, TRAFFIC_COUNTS)],
      [r.orders, upsertOf(r.orders, [...r.columns, 'currency', 'type'], ORDER_COUNTS)],
    ]),
  );
  const flushRollups = () => {
    try {
      for (const d of rollup.deltas.values()) {
        const { counts, sql } = upserts.get(d.table)!;
        const traffic = d.hashes.length > 0;
        run(sql(traffic), d.keys[0], d.day, ...d.keys.slice(1), ...counts.map((c) => d.counts[c] ?? 0), ...(traffic ? [sketchAdd(null, ...d.hashes)] : []));
      }
    } finally {
      rollup.clear();
    }
  };
  // Made by the first write or read of visits by visitor: the connection that writes them.
  let visitorIndex: VisitorIndex | null = null;
  const visitors = () => (visitorIndex ??= createVisitorIndex(db, options.visitorIndex));
  const batcher = createBatcher(db, walSync, {
    beforeCommit: () => {
      flushRollups();
      visitorIndex?.step();
    },
    rollback: () => {
      rollup.clear();
      visitorIndex?.rolledBack();
    },
    afterCommit: () => visitorIndex?.committed(),
    eagerAt: options.eagerAt,
    onSyncFailure: options.onSyncFailure,
  });
  // Prepared statements by their text. Reports make many texts (a statement per grouping and
  // filter): bounded, the oldest prepared dropped first (better-sqlite3 finalizes it when
  // collected), so no query string can grow native memory without end. The ingest worker's
  // connection has a fixed set, far below the bound; the report threads' churn among reports.
  const cache = new Map<string, Statement>();
  const stmt = (sql: string): Statement => {
    let s = cache.get(sql);
    if (!s) {
      s = db.prepare(sql);
      if (cache.size >= STATEMENTS_KEPT) cache.delete(cache.keys().next().value!);
      cache.set(sql, s);
    }
    return s;
  };
  const get = (sql: string, ...params: unknown[]) => stmt(sql).get(...params) as Row | undefined;
  const all = (sql: string, ...params: unknown[]) => stmt(sql).all(...params) as Row[];
  const run = (sql: string, ...params: unknown[]) => stmt(sql).run(...params);

  async function insertOrConflict<T>(write: () => T): Promise<T | Conflict> {
    try {
      return await batcher.enqueue(write);
    } catch (error) {
      if (isUniqueViolation(error)) return CONFLICT;
      throw error;
    }
  }
  const access: SqliteAccess = { get, all, run, write: (job) => batcher.enqueue(job), insertOrConflict };
  const conversions = sqliteConversions(access, rollup, visitors);

  type Counted = { siteId: string; ts: number; facts: RollupFacts; change: { visits?: number; clicks?: number; previews?: number; hash?: number } };

  function writeHit(h: HitRecord, counted: Counted[]): void {
    let click = 0;
    const insertClick = (kind: 'click' | 'preview') => {
      const code = get('SELECT event FROM codes WHERE site_id = ? AND code = ?', h.siteId, h.code);
      const event = str(code?.event) ?? h.event;
      run(
        `INSERT INTO clicks (site_id, cid, ts, vid, code, event, channel, source, kind)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        h.siteId, h.cid, h.ts, h.vid, h.code, event, h.channel, h.source, kind,
      );
      counted.push({ siteId: h.siteId, ts: h.ts, facts: clickFacts(h.channel, h.source, h.code!, event), change: kind === 'click' ? { clicks: 1 } : { previews: 1 } });
    };
    if (h.code && h.cid && h.nav === null && h.bot) {
      // A preview fetcher on a landing with ?affiliate=: counted apart, as a preview (SPEC §4).
      // One that followed a shortlink was counted at its redirect (the same cid).
      if (!get('SELECT 1 FROM clicks WHERE site_id = ? AND cid = ?', h.siteId, h.cid)) insertClick('preview');
    } else if (h.code && h.cid && h.nav === null) {
      let known = get('SELECT vid, kind, ts, code, event, channel, source FROM clicks WHERE site_id = ? AND cid = ?', h.siteId, h.cid);
      if (known && known.vid !== null && known.vid !== h.vid) {
        // Someone else's landing URL, shared on: a click of this visitor's own, never theirs.
        h.cid = randomId(12);
        known = undefined;
      }
      if (known) {
        // The landing of a shortlink redirect: the same click, now with its visitor, and the
        // event and source its page tells (the redirect knew only the code's).
        const landed = landedClick(known, h);
        run("UPDATE clicks SET vid = ?, kind = 'click', event = ?, source = ? WHERE site_id = ? AND cid = ?", h.vid, landed.event, landed.source, h.siteId, h.cid);
        for (const move of landed.moves) counted.push({ siteId: h.siteId, ts: Number(known.ts), ...move });
        // A person followed what a preview fetcher had opened: it was a click after all.
        if (known.kind === 'preview') click = 1;
      } else {
        insertClick('click');
        click = 1;
      }
    }
    if (h.late) revokeLaterVisits(h, counted);
    run(
      `INSERT INTO hits (site_id, ts, vid, cid, event, url, referrer, channel, source, code,
         utm_source, utm_medium, utm_campaign, utm_term, utm_content, nav, visit, click)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      h.siteId, h.ts, h.vid, h.cid, h.event, h.url, h.referrer, h.channel, h.source, h.code,
      h.utm.source, h.utm.medium, h.utm.campaign, h.utm.term, h.utm.content, h.nav, h.visit ? 1 : 0, click,
    );
    if (h.visit) {
      // Made before the first visit's INSERT: it loads the visits past its mark, committed ones only.
      const index = visitors();
      const visit = run(
        `INSERT INTO visits (site_id, ts, vid, cid, event, channel, source, code, utm_source, utm_medium, utm_campaign, touch)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        h.siteId, h.ts, h.vid, h.cid, h.event, h.channel, h.source, h.code,
        h.utm.source, h.utm.medium, h.utm.campaign, h.touch ? 1 : 0,
      );
      index.added(h.siteId, h.vid, Number(visit.lastInsertRowid));
      if (cidNeedsKey(h.cid)) {
        run('INSERT OR IGNORE INTO visit_cids (site_id, cid, vid) VALUES (?, ?, ?)', h.siteId, h.cid, h.vid);
      }
      counted.push({
        siteId: h.siteId,
        ts: h.ts,
        facts: { channel: h.channel, source: h.source, code: h.code, event: h.event, utm_source: h.utm.source, utm_medium: h.utm.medium, utm_campaign: h.utm.campaign },
        change: { visits: 1, hash: hashVisitor(h.vid) },
      });
    }
  }

  /**
   * The visits of `h`'s visitor in the 30 minutes after it that are not touches: they continue
   * its visit now (HitRecord.late). Found by the visitor index (visitor-index.ts), never by
   * the hits' time index.
   */
  function revokeLaterVisits(h: HitRecord, counted: Counted[]): void {
    const to = h.ts + VISIT_GAP;
    const ids = new Set(visitors().tail(h.siteId, h.vid));
    for (const r of all('SELECT visit FROM visitor_visits WHERE site_id = ? AND vid = ? AND ts > ? AND ts <= ?', h.siteId, h.vid, h.ts, to)) ids.add(Number(r.visit));
    for (const id of ids) {
      const v = get(
        'SELECT ts, event, channel, source, code, utm_source, utm_medium, utm_campaign FROM visits WHERE id = ? AND site_id = ? AND vid = ? AND touch = 0 AND ts > ? AND ts <= ?',
        id, h.siteId, h.vid, h.ts, to,
      );
      if (!v) continue;
      // Out of the index too: SQLite gives a deleted row's id to the next visit, maybe another visitor's.
      run('DELETE FROM visits WHERE id = ?', id);
      run('DELETE FROM visitor_visits WHERE site_id = ? AND vid = ? AND ts = ? AND visit = ?', h.siteId, h.vid, v.ts, id);
      run('UPDATE hits SET visit = 0 WHERE ts = ? AND site_id = ? AND vid = ? AND visit = 1', v.ts, h.siteId, h.vid);
      const facts: RollupFacts = {
        channel: String(v.channel), source: str(v.source), code: str(v.code), event: str(v.event),
        utm_source: str(v.utm_source), utm_medium: str(v.utm_medium), utm_campaign: str(v.utm_campaign),
      };
      counted.push({ siteId: h.siteId, ts: Number(v.ts), facts, change: { visits: -1 } });
    }
  }

  const clickFacts = (channel: string, source: string | null, code: string, event: string | null): RollupFacts => ({
    channel, source, code, event, utm_source: null, utm_medium: null, utm_campaign: null,
  });

  /** Called at the end of a job, once all its statements succeeded (a failed job adds nothing). */
  const count = (counted: Counted[]) => {
    for (const c of counted) rollup.add(c.siteId, Math.floor(c.ts / DAY_MS), c.facts, c.change);
  };

  return {
    kind: 'sqlite',
    db,

    ...sqliteSites(access),

    async getSetting(key) {
      return str(get('SELECT value FROM settings WHERE key = ?', key)?.value);
    },
    async setSetting(key, value) {
      await batcher.enqueue(() =>
        run('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value', key, value),
      );
    },
    initSetting(key, value) {
      return batcher.enqueue(() => {
        run('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING', key, value);
        return String(get('SELECT value FROM settings WHERE key = ?', key)!.value);
      });
    },

    createEvent(siteId, e) {
      return insertOrConflict(() => {
        run(
          'INSERT INTO events (site_id, id, name, url, starts_at, created_at) VALUES (?, ?, ?, ?, ?, ?)',
          siteId, e.id, e.name, e.url, e.startsAt, Date.now(),
        );
        return e;
      });
    },
    async getEvent(siteId, id) {
      const r = get('SELECT * FROM events WHERE site_id = ? AND id = ?', siteId, id);
      return r ? toEvent(r) : null;
    },

    createAffiliate(siteId, a) {
      return insertOrConflict(() => {
        run(
          'INSERT INTO affiliates (site_id, id, name, nickname, email, parent, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
          siteId, a.id, a.name, a.nickname, a.email, a.parent, Date.now(),
        );
        return a;
      });
    },
    async getAffiliate(siteId, id) {
      const r = get('SELECT * FROM affiliates WHERE site_id = ? AND id = ?', siteId, id);
      return r ? toAffiliate(r) : null;
    },

    async listAffiliates(siteId) {
      return all('SELECT * FROM affiliates WHERE site_id = ? ORDER BY created_at, id', siteId).map(toAffiliate);
    },
    async countRecruits(siteId, ids, since) {
      const r = get(
        'SELECT COUNT(*) AS n FROM affiliates WHERE site_id = ? AND parent IS NOT NULL AND created_at >= ? AND id IN (SELECT value FROM json_each(?))',
        siteId, since, JSON.stringify(ids),
      );
      return Number(r?.n ?? 0);
    },
    async setAffiliateToken(siteId, id, tokenHash) {
      await batcher.enqueue(() => run('UPDATE affiliates SET token_hash = ? WHERE site_id = ? AND id = ?', tokenHash, siteId, id));
    },
    async affiliateByTokenHash(tokenHash) {
      const r = get('SELECT * FROM affiliates WHERE token_hash = ?', tokenHash);
      return r ? { siteId: String(r.site_id), affiliate: toAffiliate(r) } : null;
    },

    createCode(siteId, c) {
      return insertOrConflict(() => {
        run(
          'INSERT INTO codes (site_id, code, affiliate, event, target, created_at) VALUES (?, ?, ?, ?, ?, ?)',
          siteId, c.code, c.affiliate, c.event, c.target, c.createdAt,
        );
        return c;
      });
    },
    async getCode(siteId, code) {
      const r = get('SELECT * FROM codes WHERE site_id = ? AND code = ?', siteId, code);
      return r ? toCode(r) : null;
    },
    async findCode(code) {
      const r = get('SELECT * FROM codes WHERE code = ? ORDER BY created_at, site_id LIMIT 1', code);
      return r ? { siteId: String(r.site_id), code: toCode(r) } : null;
    },
    async codeSeen(siteId, code) {
      return get('SELECT 1 AS seen FROM daily_codes WHERE site_id = ? AND code = ? LIMIT 1', siteId, code) !== undefined;
    },
    async listCodes(siteId) {
      return all('SELECT * FROM codes WHERE site_id = ? ORDER BY created_at, code', siteId).map(toCode);
    },

    async recentVisitors(sinceTs) {
      return all('SELECT site_id, vid, MAX(ts) AS ts FROM hits WHERE ts >= ? GROUP BY site_id, vid', sinceTs).map((r) => ({
        siteId: String(r.site_id),
        vid: String(r.vid),
        ts: Number(r.ts),
      }));
    },

    async hitTimes(siteId, vids, from, to) {
      // Through the time index: the rows of the range, whoever's (no index by visitor here).
      return all('SELECT vid, ts FROM hits WHERE ts >= ? AND ts <= ? AND site_id = ? AND vid IN (SELECT value FROM json_each(?))', from, to, siteId, JSON.stringify(vids)).map(
        (r) => ({ vid: String(r.vid), ts: Number(r.ts) }),
      );
    },

    async storedHits(siteId, hits) {
      // Exact times through the time index, then the visitors among the few rows of each.
      const times = JSON.stringify([...new Set(hits.map((h) => h.ts))]);
      const vids = JSON.stringify([...new Set(hits.map((h) => h.vid))]);
      return all('SELECT vid, ts, url FROM hits WHERE ts IN (SELECT value FROM json_each(?)) AND site_id = ? AND vid IN (SELECT value FROM json_each(?))', times, siteId, vids).map(
        (r) => ({ vid: String(r.vid), ts: Number(r.ts), url: String(r.url) }),
      );
    },

    async recordHits(hits) {
      if (hits.length === 0) return;
      await batcher.enqueue(() => {
        const counted: Counted[] = [];
        for (const h of hits) writeHit(h, counted);
        count(counted);
      });
    },

    async recordClick(k) {
      await batcher.enqueue(() => {
        const r = run(
          `INSERT INTO clicks (site_id, cid, ts, vid, code, event, channel, source, kind)
           VALUES (?, ?, ?, ?, ?, ?, 'affiliate', NULL, ?) ON CONFLICT DO NOTHING`,
          k.siteId, k.cid, k.ts, k.vid, k.code, k.event, k.kind,
        );
        if (r.changes === 1) {
          count([{ siteId: k.siteId, ts: k.ts, facts: clickFacts('affiliate', null, k.code, k.event), change: k.kind === 'click' ? { clicks: 1 } : { previews: 1 } }]);
        }
      });
    },

    ...conversions,

    async listOrders(siteId, query) {
      const q = orderListQuery(siteId, query);
      return all(q.text, ...q.params).map(toOrderSummary);
    },

    async report(siteId, query) {
      const parts = reportParts(siteId, query, sqliteDialect);
      const rows = (s: { text: string; params: unknown[] }) => all(s.text, ...s.params) as ResultRow[];
      // One read transaction: every query of the report sees the same commits.
      const results = db.transaction(() =>
        parts.map((q) => ({
          visits: rows(q.visits),
          clicks: q.clicks ? rows(q.clicks) : [],
          orders: rows(q.orders),
          orderTotals: rows(q.orderTotals),
          goals: rows(q.goals),
          goalTotals: rows(q.goalTotals),
          visitors: q.visitors ? Number(rows(q.visitors)[0]?.visitors ?? 0) : null,
        })),
      )();
      return mergeReport(query.dims, combineParts(results));
    },

    async close() {
      await batcher.drain();
      walSync.close();
      db.close();
    },
  };
}
