// See the SQLite migration of the same name: click ids of visits that neither `clicks` nor
// their own form (ids.ts touchCid) lead back to, by key. Filled from the visits so far.
export const up = `
CREATE TABLE visit_cids (
  site_id TEXT NOT NULL,
  cid     TEXT NOT NULL,
  vid     TEXT NOT NULL,
  PRIMARY KEY (site_id, cid)
);
INSERT INTO visit_cids (site_id, cid, vid)
  SELECT DISTINCT ON (site_id, cid) site_id, cid, vid FROM visits WHERE cid IS NOT NULL ORDER BY site_id, cid, id
  ON CONFLICT DO NOTHING;
`;
