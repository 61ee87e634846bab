// 0004 gained this setting after it had shipped (against the rule in index.ts): databases
// migrated by the build before it lack it. Setting it again is harmless where it is set.
export const up = `
ALTER TABLE rollup_pending SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000);
`;
