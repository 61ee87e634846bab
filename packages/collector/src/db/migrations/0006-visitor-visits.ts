// Attribution reads a visitor's visits by (site, visitor): a random key, and indexing each new
// visit at once dirtied one random leaf page per pageview (with the WAL and the checkpoint,
// 13 KB written per new visitor's pageview instead of 3.5 KB). The visitor index moves to its
// own narrow table, written in key-sorted runs by the store (visitor-index.ts); the visits past
// the mark kept in settings are found through the store's in-memory tail until merged.
export const up = `
CREATE TABLE visitor_visits (
  site_id TEXT NOT NULL,
  vid     TEXT NOT NULL,
  ts      INTEGER NOT NULL,
  visit   INTEGER NOT NULL,
  PRIMARY KEY (site_id, vid, ts, visit)
) STRICT, WITHOUT ROWID;
INSERT INTO visitor_visits (site_id, vid, ts, visit)
  SELECT site_id, vid, ts, id FROM visits ORDER BY site_id, vid, ts, id;
DROP INDEX visits_visitor;
INSERT INTO settings (key, value) VALUES ('visitor_index_upto', (SELECT CAST(COALESCE(MAX(id), 0) AS TEXT) FROM visits))
  ON CONFLICT (key) DO UPDATE SET value = excluded.value;
`;
