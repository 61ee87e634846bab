// The first PostgreSQL schema: the same tables and columns as SQLite's 0001 so report.ts's
// SQL and the row mappers serve both. Times are BIGINT epoch ms, money BIGINT minor units,
// flags SMALLINT 0/1 (report.ts sums them). Hot tables (hits) carry only a time index.
export const up = `
CREATE TABLE settings (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

CREATE TABLE sites (
  id             TEXT PRIMARY KEY,
  name           TEXT NOT NULL,
  url            TEXT NOT NULL,
  platform_hosts TEXT NOT NULL DEFAULT '[]',
  window_days    INTEGER NOT NULL DEFAULT 28,
  currency       TEXT NOT NULL DEFAULT 'EUR',
  token_hash     TEXT NOT NULL UNIQUE,
  created_at     BIGINT NOT NULL
);

CREATE TABLE events (
  site_id    TEXT NOT NULL REFERENCES sites(id),
  id         TEXT NOT NULL,
  name       TEXT NOT NULL,
  url        TEXT NOT NULL,
  starts_at  BIGINT,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (site_id, id)
);

CREATE TABLE affiliates (
  site_id    TEXT NOT NULL REFERENCES sites(id),
  id         TEXT NOT NULL,
  name       TEXT NOT NULL,
  nickname   TEXT,
  email      TEXT,
  parent     TEXT,
  token_hash TEXT UNIQUE,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (site_id, id)
);

CREATE TABLE codes (
  site_id    TEXT NOT NULL REFERENCES sites(id),
  code       TEXT NOT NULL,
  affiliate  TEXT,
  event      TEXT,
  target     TEXT,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (site_id, code)
);
CREATE INDEX codes_code ON codes (code, created_at);

-- Every pageview as received, classified. Append-only; time index only.
CREATE TABLE hits (
  id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  site_id      TEXT NOT NULL,
  ts           BIGINT NOT NULL,
  vid          TEXT NOT NULL,
  cid          TEXT,
  event        TEXT,
  url          TEXT NOT NULL,
  referrer     TEXT,
  channel      TEXT NOT NULL,
  source       TEXT,
  code         TEXT,
  utm_source   TEXT,
  utm_medium   TEXT,
  utm_campaign TEXT,
  utm_term     TEXT,
  utm_content  TEXT,
  nav          TEXT,
  visit        SMALLINT NOT NULL,
  click        SMALLINT NOT NULL
);
CREATE INDEX hits_ts ON hits (ts);

-- One row per visitor seen: the lock that serialises a visitor's writes across processes,
-- and the visitor's last hit time for the 30-minute visit rule (pg-visitors.ts). prev_ts
-- lets an update answer the value it replaced.
CREATE TABLE visitors_seen (
  site_id TEXT NOT NULL,
  vid     TEXT NOT NULL,
  last_ts BIGINT,
  prev_ts BIGINT,
  PRIMARY KEY (site_id, vid)
);

-- One row per visit (a pageview that starts an arrival); touch = 1 for touch channels.
CREATE TABLE visits (
  id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  site_id      TEXT NOT NULL,
  ts           BIGINT NOT NULL,
  vid          TEXT NOT NULL,
  cid          TEXT,
  event        TEXT,
  channel      TEXT NOT NULL,
  source       TEXT,
  code         TEXT,
  utm_source   TEXT,
  utm_medium   TEXT,
  utm_campaign TEXT,
  touch        SMALLINT NOT NULL
);
CREATE INDEX visits_site_ts ON visits (site_id, ts);
CREATE INDEX visits_visitor ON visits (site_id, vid, ts);

-- Arrivals through a tracking code, one per cid; kind = 'preview' for bots and previews.
CREATE TABLE clicks (
  site_id TEXT NOT NULL,
  cid     TEXT NOT NULL,
  ts      BIGINT NOT NULL,
  vid     TEXT,
  code    TEXT NOT NULL,
  event   TEXT,
  channel TEXT NOT NULL,
  source  TEXT,
  kind    TEXT NOT NULL,
  PRIMARY KEY (site_id, cid)
);
CREATE INDEX clicks_site_ts ON clicks (site_id, ts);
CREATE INDEX clicks_visitor ON clicks (site_id, vid, ts);

CREATE TABLE conversions (
  site_id        TEXT NOT NULL,
  order_id       TEXT NOT NULL,
  ts             BIGINT NOT NULL,
  event          TEXT,
  type           TEXT NOT NULL,
  currency       TEXT NOT NULL,
  value_minor    BIGINT NOT NULL,
  tickets        INTEGER NOT NULL,
  customer       TEXT,
  new_customer   SMALLINT NOT NULL,
  vid            TEXT,
  cid            TEXT,
  status         TEXT NOT NULL DEFAULT 'completed',
  scanned        INTEGER NOT NULL DEFAULT 0,
  link_code      TEXT,
  link_affiliate TEXT,
  link_cid       TEXT,
  link_ts        BIGINT,
  channel        TEXT NOT NULL,
  source         TEXT,
  utm_source     TEXT,
  utm_medium     TEXT,
  utm_campaign   TEXT,
  rule           TEXT NOT NULL,
  candidates     TEXT NOT NULL,
  created_at     BIGINT NOT NULL,
  PRIMARY KEY (site_id, order_id)
);
CREATE INDEX conversions_site_ts ON conversions (site_id, ts);

CREATE TABLE conversion_items (
  site_id     TEXT NOT NULL,
  order_id    TEXT NOT NULL,
  idx         INTEGER NOT NULL,
  type        TEXT NOT NULL,
  qty         INTEGER NOT NULL,
  price_minor BIGINT NOT NULL,
  PRIMARY KEY (site_id, order_id, idx)
);

CREATE TABLE customers (
  site_id     TEXT NOT NULL,
  customer    TEXT NOT NULL,
  first_order TEXT NOT NULL,
  first_ts    BIGINT NOT NULL,
  PRIMARY KEY (site_id, customer)
);
`;
