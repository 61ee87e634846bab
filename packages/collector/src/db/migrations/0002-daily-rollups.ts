// Report counts kept per UTC day at write time, so a report reads days x keys, not every
// visit. Empty strings stand for "none" (a NULL would defeat the primary key's upsert).
// visitors is a distinct-visitor sketch (sketch.ts); lt_sketch() is registered by open-sqlite.
export const up = `
CREATE TABLE daily_stats (
  site_id      TEXT NOT NULL,
  day          INTEGER NOT NULL,
  channel      TEXT NOT NULL,
  source       TEXT NOT NULL,
  code         TEXT NOT NULL,
  event        TEXT NOT NULL,
  utm_source   TEXT NOT NULL,
  utm_medium   TEXT NOT NULL,
  utm_campaign TEXT NOT NULL,
  visits       INTEGER NOT NULL DEFAULT 0,
  clicks       INTEGER NOT NULL DEFAULT 0,
  previews     INTEGER NOT NULL DEFAULT 0,
  visitors     BLOB,
  PRIMARY KEY (site_id, day, channel, source, code, event, utm_source, utm_medium, utm_campaign)
) STRICT, WITHOUT ROWID;

INSERT INTO daily_stats (site_id, day, channel, source, code, event, utm_source, utm_medium, utm_campaign, visits, visitors)
SELECT site_id, ts / 86400000, channel, COALESCE(source, ''), COALESCE(code, ''), COALESCE(event, ''),
       COALESCE(utm_source, ''), COALESCE(utm_medium, ''), COALESCE(utm_campaign, ''), COUNT(*), lt_sketch(vid)
FROM visits GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9;

INSERT INTO daily_stats (site_id, day, channel, source, code, event, utm_source, utm_medium, utm_campaign, clicks, previews)
SELECT site_id, ts / 86400000, channel, COALESCE(source, ''), code, COALESCE(event, ''), '', '', '',
       SUM(kind = 'click'), SUM(kind = 'preview')
FROM clicks WHERE true GROUP BY 1, 2, 3, 4, 5, 6
ON CONFLICT DO UPDATE SET clicks = clicks + excluded.clicks, previews = previews + excluded.previews;
`;
