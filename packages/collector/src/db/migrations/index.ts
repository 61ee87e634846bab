import * as m0001 from './0001-init.js';
import * as m0002 from './0002-daily-rollups.js';
import * as m0003 from './0003-site-settings.js';
import * as m0004 from './0004-drop-conversions-site-ts.js';
import * as m0005 from './0005-visit-cids.js';
import * as m0006 from './0006-visitor-visits.js';
import * as m0007 from './0007-rollups-complete.js';

import type { Database } from 'better-sqlite3';

/**
 * Every schema version in order; version N is migrations[N - 1]: SQL, or code for a step SQL
 * can't say. Append, never edit (0007 repairs what editing 0002 did).
 */
export const migrations: ReadonlyArray<{ up: string | ((db: Database) => void) }> = [m0001, m0002, m0003, m0004, m0005, m0006, m0007];
