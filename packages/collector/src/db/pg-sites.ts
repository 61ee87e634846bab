// Sites on PostgreSQL: creation, tokens and settings (the same columns as sqlite-sites.ts).
import type { Conflict, Site, SiteSettingsUpdate, Store } from '../store.js';
import type { PgClient, PgPool } from './pg-pool.js';
import { notifySiteChange } from './pg-site-watch.js';
import { SITE_COLUMNS, toSite } from './rows.js';

type SiteMethods = Pick<
  Store,
  'createSite' | 'getSite' | 'siteByTokenHash' | 'setSiteToken' | 'updateSiteSettings' | 'getConversionSecret'
>;

export interface PgSiteAccess {
  pool: PgPool;
  /** Runs a write in the next batch transaction. */
  write<T>(job: (c: PgClient) => Promise<T>): Promise<T>;
  insertOrConflict<T>(value: T, job: (c: PgClient) => Promise<unknown>): Promise<T | Conflict>;
}

export function pgSites({ pool, write, insertOrConflict }: PgSiteAccess): SiteMethods {
  const readOn = async (c: Pick<PgClient, 'query'>, where: string, value: string) => {
    const r = (await c.query(`SELECT ${SITE_COLUMNS} FROM sites WHERE ${where} = $1`, [value])).rows[0];
    return r ? toSite(r) : null;
  };
  return {
    createSite(site: Site, tokenHash: string, conversionSecret: string | null = null) {
      return insertOrConflict(site, async (c) => {
        await c.query(
          `INSERT INTO sites (id, name, url, platform_hosts, window_days, currency, token_hash, created_at,
             require_signed_conversions, conversion_secret, honor_gpc)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
          [
            site.id, site.name, site.url, JSON.stringify(site.platformHosts), site.windowDays, site.currency, tokenHash,
            site.createdAt, site.requireSignedConversions ? 1 : 0, conversionSecret, site.honorGpc ? 1 : 0,
          ],
        );
        // Processes that looked the id up before know it as unknown.
        await notifySiteChange(c, site.id);
      });
    },
    getSite: (id) => readOn(pool, 'id', id),
    siteByTokenHash: (tokenHash) => readOn(pool, 'token_hash', tokenHash),
    async setSiteToken(id, tokenHash) {
      await write((c) => c.query('UPDATE sites SET token_hash = $1 WHERE id = $2', [tokenHash, id]));
    },
    updateSiteSettings(id, u: SiteSettingsUpdate) {
      return write(async (c) => {
        const flag = (v: boolean | undefined) => (v === undefined ? null : v ? 1 : 0);
        const r = await c.query(
          `UPDATE sites SET
             require_signed_conversions = COALESCE($1::smallint, require_signed_conversions),
             honor_gpc = COALESCE($2::smallint, honor_gpc),
             conversion_secret = CASE WHEN $3::boolean THEN $4::text ELSE conversion_secret END
           WHERE id = $5`,
          [flag(u.requireSignedConversions), flag(u.honorGpc), u.conversionSecret !== undefined, u.conversionSecret ?? null, id],
        );
        if ((r.rowCount ?? 0) === 0) return null;
        await notifySiteChange(c, id);
        return readOn(c, 'id', id);
      });
    },
    async getConversionSecret(id) {
      const v = (await pool.query('SELECT conversion_secret FROM sites WHERE id = $1', [id])).rows[0]?.conversion_secret;
      return typeof v === 'string' ? v : null;
    },
  };
}
