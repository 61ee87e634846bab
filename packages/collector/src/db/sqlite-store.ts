import type { Statement } from 'better-sqlite3';
import type { ClickCandidate, VisitCandidate } from '../attribution.js';
import { mergeReport, reportQueries, type Dialect, type ResultRow } from '../report.js';
import type { Conflict, HitRecord, Store, StoredConversion } from '../store.js';
import { createBatcher } from './batcher.js';
import { openSqlite, type Sqlite } from './open-sqlite.js';
import {
  CANDIDATE_LIMIT,
  str,
  toAffiliate,
  toClickCandidate,
  toCode,
  toConversion,
  toEvent,
  toItem,
  toSite,
  toVisitCandidate,
  type Row,
} from './rows.js';

export const sqliteDialect: Dialect = { day: (col) => `strftime('%Y-%m-%d', ${col} / 1000, 'unixepoch')` };

function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

const CONFLICT: Conflict = { conflict: true };

export function createSqliteStore(file: string): Store & { db: Sqlite } {
  const db = openSqlite(file);
  const batcher = createBatcher(db);
  const cache = new Map<string, Statement>();
  const stmt = (sql: string): Statement => {
    let s = cache.get(sql);
    if (!s) {
      s = db.prepare(sql);
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

  function readConversion(siteId: string, order: string): StoredConversion | null {
    const r = get('SELECT * FROM conversions WHERE site_id = ? AND order_id = ?', siteId, order);
    if (!r) return null;
    const items = all(
      'SELECT type, qty, price_minor FROM conversion_items WHERE site_id = ? AND order_id = ? ORDER BY idx',
      siteId,
      order,
    ).map(toItem);
    return toConversion(r, items);
  }

  function writeHit(h: HitRecord): void {
    let click = 0;
    if (h.code && h.cid && h.nav === null && !h.bot) {
      const known = get('SELECT vid FROM clicks WHERE site_id = ? AND cid = ?', h.siteId, h.cid);
      if (known) {
        // The landing of a shortlink redirect: the same click, now with its visitor.
        if (known.vid !== h.vid) run('UPDATE clicks SET vid = ? WHERE site_id = ? AND cid = ?', h.vid, h.siteId, h.cid);
      } else {
        const code = get('SELECT event FROM codes WHERE site_id = ? AND code = ?', h.siteId, h.code);
        run(
          `INSERT INTO clicks (site_id, cid, ts, vid, code, event, channel, source, kind)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'click')`,
          h.siteId, h.cid, h.ts, h.vid, h.code, str(code?.event) ?? h.event, h.channel, h.source,
        );
        click = 1;
      }
    }
    run(
      `INSERT INTO hits (site_id, ts, vid, cid, event, url, referrer, channel, source, code,
         utm_source, utm_medium, utm_campaign, utm_term, utm_content, nav, visit, click)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      h.siteId, h.ts, h.vid, h.cid, h.event, h.url, h.referrer, h.channel, h.source, h.code,
      h.utm.source, h.utm.medium, h.utm.campaign, h.utm.term, h.utm.content, h.nav, h.visit ? 1 : 0, click,
    );
    if (h.visit) {
      run(
        `INSERT INTO visits (site_id, ts, vid, cid, event, channel, source, code, utm_source, utm_medium, utm_campaign, touch)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        h.siteId, h.ts, h.vid, h.cid, h.event, h.channel, h.source, h.code,
        h.utm.source, h.utm.medium, h.utm.campaign, h.touch ? 1 : 0,
      );
    }
  }

  function clickCandidates(siteId: string, vid: string | null, cid: string | null, ts: number): ClickCandidate[] {
    const select = `SELECT k.cid, k.ts, k.code, c.affiliate, c.event AS code_event FROM clicks k
      LEFT JOIN codes c ON c.site_id = k.site_id AND c.code = k.code
      WHERE k.site_id = ? AND k.kind = 'click' AND k.ts <= ?`;
    const rows = vid ? all(`${select} AND k.vid = ? ORDER BY k.ts DESC LIMIT ${CANDIDATE_LIMIT}`, siteId, ts, vid) : [];
    if (cid && !rows.some((r) => r.cid === cid)) {
      const byCid = get(`${select} AND k.cid = ?`, siteId, ts, cid);
      if (byCid) rows.push(byCid);
    }
    return rows.map(toClickCandidate).sort((a, b) => b.ts - a.ts);
  }

  function visitCandidates(siteId: string, vid: string | null, ts: number): VisitCandidate[] {
    if (!vid) return [];
    return all(
      `SELECT ts, channel, source, cid, touch, utm_source, utm_medium, utm_campaign FROM visits
       WHERE site_id = ? AND vid = ? AND ts <= ? ORDER BY ts DESC LIMIT ${CANDIDATE_LIMIT}`,
      siteId, vid, ts,
    ).map(toVisitCandidate);
  }

  return {
    kind: 'sqlite',
    db,

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

    createSite(site, tokenHash) {
      return insertOrConflict(() => {
        run(
          `INSERT INTO sites (id, name, url, platform_hosts, window_days, currency, token_hash, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
          site.id, site.name, site.url, JSON.stringify(site.platformHosts), site.windowDays, site.currency, tokenHash, site.createdAt,
        );
        return site;
      });
    },
    async getSite(id) {
      const r = get('SELECT * FROM sites WHERE id = ?', id);
      return r ? toSite(r) : null;
    },
    async siteByTokenHash(tokenHash) {
      const r = get('SELECT * FROM sites WHERE token_hash = ?', tokenHash);
      return r ? toSite(r) : null;
    },
    async setSiteToken(id, tokenHash) {
      await batcher.enqueue(() => run('UPDATE sites SET token_hash = ? WHERE id = ?', tokenHash, id));
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

    async recordHits(hits) {
      if (hits.length === 0) return;
      await batcher.enqueue(() => hits.forEach(writeHit));
    },

    async recordClick(k) {
      await batcher.enqueue(() =>
        run(
          `INSERT INTO clicks (site_id, cid, ts, vid, code, event, channel, source, kind)
           VALUES (?, ?, ?, ?, ?, ?, 'affiliate', NULL, ?) ON CONFLICT DO NOTHING`,
          k.siteId, k.cid, k.ts, k.vid, k.code, k.event, k.kind,
        ),
      );
    },

    recordConversion(conv, windowDays, decide) {
      return batcher.enqueue(() => {
        const existing = readConversion(conv.siteId, conv.order);
        if (existing) return { created: false, conversion: existing };
        let vid = conv.vid;
        if (!vid && conv.cid) {
          vid =
            str(get('SELECT vid FROM clicks WHERE site_id = ? AND cid = ?', conv.siteId, conv.cid)?.vid) ??
            str(get('SELECT vid FROM visits WHERE site_id = ? AND cid = ? LIMIT 1', conv.siteId, conv.cid)?.vid);
        }
        const attribution = decide({
          ts: conv.ts,
          event: conv.event,
          windowDays,
          clicks: clickCandidates(conv.siteId, vid, conv.cid, conv.ts),
          visits: visitCandidates(conv.siteId, vid, conv.ts),
        });
        let newCustomer = false;
        if (conv.customer && conv.type === 'purchase') {
          const r = run(
            'INSERT INTO customers (site_id, customer, first_order, first_ts) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
            conv.siteId, conv.customer, conv.order, conv.ts,
          );
          newCustomer = r.changes === 1;
        }
        const { link, utm } = attribution;
        run(
          `INSERT INTO conversions (site_id, order_id, ts, event, type, currency, value_minor, tickets, customer,
             new_customer, vid, cid, link_code, link_affiliate, link_cid, link_ts, channel, source,
             utm_source, utm_medium, utm_campaign, rule, candidates, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          conv.siteId, conv.order, conv.ts, conv.event, conv.type, conv.currency, conv.valueMinor, conv.tickets,
          conv.customer, newCustomer ? 1 : 0, vid, conv.cid, link?.code ?? null, link?.affiliate ?? null,
          link?.cid ?? null, link?.ts ?? null, attribution.channel, attribution.source, utm.source, utm.medium,
          utm.campaign, attribution.rule, JSON.stringify(attribution.candidates), Date.now(),
        );
        conv.items.forEach((item, idx) =>
          run(
            'INSERT INTO conversion_items (site_id, order_id, idx, type, qty, price_minor) VALUES (?, ?, ?, ?, ?, ?)',
            conv.siteId, conv.order, idx, item.type, item.qty, item.priceMinor,
          ),
        );
        const stored: StoredConversion = { ...conv, vid, status: 'completed', scanned: 0, newCustomer, attribution };
        return { created: true, conversion: stored };
      });
    },

    async getConversion(siteId, order) {
      return readConversion(siteId, order);
    },
    async setOrderStatus(siteId, order, status) {
      const r = await batcher.enqueue(() =>
        run('UPDATE conversions SET status = ? WHERE site_id = ? AND order_id = ?', status, siteId, order),
      );
      return r.changes > 0;
    },
    async setScanned(siteId, order, scanned) {
      const r = await batcher.enqueue(() =>
        run('UPDATE conversions SET scanned = MIN(?, tickets) WHERE site_id = ? AND order_id = ?', scanned, siteId, order),
      );
      return r.changes > 0;
    },

    async report(siteId, query) {
      const q = reportQueries(siteId, query, sqliteDialect);
      const rows = (s: { text: string; params: unknown[] }) => all(s.text, ...s.params) as ResultRow[];
      return mergeReport(query.dims, {
        visits: rows(q.visits),
        clicks: rows(q.clicks),
        orders: rows(q.orders),
        orderTotals: rows(q.orderTotals),
        visitors: Number(rows(q.visitors)[0]?.visitors ?? 0),
      });
    },

    async close() {
      await batcher.drain();
      db.close();
    },
  };
}
