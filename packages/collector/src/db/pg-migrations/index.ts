import * as m0001 from './0001-init.js';

/** Every PostgreSQL schema version in order; version N is migrations[N - 1]. Append, never edit. */
export const pgMigrations: ReadonlyArray<{ up: string }> = [m0001];
