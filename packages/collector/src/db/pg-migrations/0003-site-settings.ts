// Per-site privacy and integrity settings, as SQLite's 0003-site-settings.ts: signed
// conversions (with the secret they are verified with) and Global Privacy Control.
export const up = `
ALTER TABLE sites ADD COLUMN require_signed_conversions SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE sites ADD COLUMN conversion_secret TEXT;
ALTER TABLE sites ADD COLUMN honor_gpc SMALLINT NOT NULL DEFAULT 0;
`;
