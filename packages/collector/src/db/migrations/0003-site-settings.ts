// Per-site privacy and integrity settings: signed conversions (with the secret the server
// verifies them with; never returned after it is first shown) and Global Privacy Control.
export const up = `
ALTER TABLE sites ADD COLUMN require_signed_conversions INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sites ADD COLUMN conversion_secret TEXT;
ALTER TABLE sites ADD COLUMN honor_gpc INTEGER NOT NULL DEFAULT 0;
`;
