// Sites in SQLite: creation, tokens and settings.
import type { SiteSettingsUpdate, Store } from '../store.js';
import { SITE_COLUMNS, toSite } from './rows.js';
import type { SqliteAccess } from './sqlite-access.js';

type SiteMethods = Pick<
  Store,
  'createSite' | 'getSite' | 'siteByTokenHash' | 'setSiteToken' | 'updateSiteSettings' | 'getConversionSecret'
>;

export function sqliteSites(q: SqliteAccess): SiteMethods {
  const read = (id: string) => {
    const r = q.get(`SELECT ${SITE_COLUMNS} FROM sites WHERE id = ?`, id);
    return r ? toSite(r) : null;
  };
  return {
    createSite(site, tokenHash, conversionSecret = null) {
      return q.insertOrConflict(() => {
        q.run(
          `INSERT INTO sites (id, name, url, platform_hosts, window_days, currency, token_hash, created_at,
             require_signed_conversions, conversion_secret, honor_gpc)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          site.id, site.name, site.url, JSON.stringify(site.platformHosts), site.windowDays, site.currency, tokenHash,
          site.createdAt, site.requireSignedConversions ? 1 : 0, conversionSecret, site.honorGpc ? 1 : 0,
        );
        return site;
      });
    },
    async getSite(id) {
      return read(id);
    },
    async siteByTokenHash(tokenHash) {
      const r = q.get(`SELECT ${SITE_COLUMNS} FROM sites WHERE token_hash = ?`, tokenHash);
      return r ? toSite(r) : null;
    },
    async setSiteToken(id, tokenHash) {
      await q.write(() => q.run('UPDATE sites SET token_hash = ? WHERE id = ?', tokenHash, id));
    },
    updateSiteSettings(id, u: SiteSettingsUpdate) {
      return q.write(() => {
        const flag = (v: boolean | undefined) => (v === undefined ? null : v ? 1 : 0);
        const r = q.run(
          `UPDATE sites SET
             require_signed_conversions = COALESCE(?, require_signed_conversions),
             honor_gpc = COALESCE(?, honor_gpc),
             conversion_secret = CASE WHEN ? THEN ? ELSE conversion_secret END
           WHERE id = ?`,
          flag(u.requireSignedConversions), flag(u.honorGpc), u.conversionSecret !== undefined ? 1 : 0, u.conversionSecret ?? null, id,
        );
        return r.changes > 0 ? read(id) : null;
      });
    },
    async getConversionSecret(id) {
      const v = q.get('SELECT conversion_secret FROM sites WHERE id = ?', id)?.conversion_secret;
      return typeof v === 'string' ? v : null;
    },
  };
}
