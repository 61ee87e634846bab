import * as m0001 from './0001-init.js';
import * as m0002 from './0002-daily-rollups.js';
import * as m0003 from './0003-site-settings.js';
import * as m0004 from './0004-rollup-pending.js';
import * as m0005 from './0005-visit-cids.js';
import * as m0006 from './0006-visitor-runs.js';
import * as m0007 from './0007-rollup-pending-vacuum.js';
import type { PgClient } from '../pg-pool.js';

/** A migration: SQL, or a function of the migrating transaction's connection (for backfills SQL can't do). */
export type PgMigration = { up: string | ((client: PgClient) => Promise<void>) };

/** Every PostgreSQL schema version in order; version N is migrations[N - 1]. Append, never edit. */
export const pgMigrations: ReadonlyArray<PgMigration> = [m0001, m0002, m0003, m0004, m0005, m0006, m0007];
