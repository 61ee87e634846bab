// Rollup changes of committed batches that are not yet folded into the daily rollup tables
// (pg-rollups.ts). A batch appends its changes here instead of updating the shared rollup
// rows, so concurrent batches, in one process or several, never wait on each other's rows;
// a folder moves them into the rollups later, and reports read rollups plus these rows.
// One row per rollup row a batch changes: rollup names the table, key1… hold its key columns
// after site_id and day, count1… its counters (both in rollups.ts's order; unused ones NULL),
// visitors the sketch of the batch's visitors (traffic rollups only).
export const up = `
CREATE TABLE rollup_pending (
  id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  rollup   TEXT NOT NULL,
  site_id  TEXT NOT NULL,
  day      INTEGER NOT NULL,
  key1     TEXT,
  key2     TEXT,
  key3     TEXT,
  key4     TEXT,
  key5     TEXT,
  key6     TEXT,
  count1   BIGINT,
  count2   BIGINT,
  count3   BIGINT,
  count4   BIGINT,
  count5   BIGINT,
  visitors BYTEA
);
-- A queue: rows live for a fold's delay, and reports scan what is left, dead rows included.
-- Vacuum it by the number of dead rows, not by a fraction of a table that is always small.
ALTER TABLE rollup_pending SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000);
`;
