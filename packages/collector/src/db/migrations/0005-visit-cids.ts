// A conversion may name only a click id (checkout passes linktrail('ready')'s cid to a server
// postback). Tracking-link clicks are found by their key in `clicks`, and the collector's own
// touch ids by the visit time they carry (ids.ts); any other click id a visit came with (one
// the script or a server hit brought, or a tracking link's whose landing was not a click) is
// kept here by its key, so no lookup reads every visit. Filled from the visits so far, whose
// ids all predate the time-carrying form.
export const up = `
CREATE TABLE visit_cids (
  site_id TEXT NOT NULL,
  cid     TEXT NOT NULL,
  vid     TEXT NOT NULL,
  PRIMARY KEY (site_id, cid)
) STRICT, WITHOUT ROWID;
INSERT OR IGNORE INTO visit_cids (site_id, cid, vid)
  SELECT site_id, cid, vid FROM visits WHERE cid IS NOT NULL ORDER BY id;
`;
