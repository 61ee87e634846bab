// What the 30-minute visit rule needs besides a visitor's last hit, so that the batches of one
// or several processes, committing in any order, agree on which hit is the visit
// (pg-visitors.ts): the first hit of the run that ends at the last one (each hit within 30
// minutes of the one before), and the last hit before that run. NULL first_ts in an existing
// row: not known (the rare hit that comes before the last one then reads the stored hits).
export const up = `
ALTER TABLE visitors_seen ADD COLUMN first_ts BIGINT, ADD COLUMN before_ts BIGINT;
`;
