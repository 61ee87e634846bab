// Applies pending PostgreSQL migrations in one transaction under an advisory lock, so two
// processes starting together never race; refuses a database newer than this code.
import { pgMigrations, type PgMigration } from './pg-migrations/index.js';
import type { PgPool } from './pg-pool.js';

export async function migratePg(pool: PgPool, migrations: ReadonlyArray<PgMigration> = pgMigrations): Promise<number> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    // One lock per schema: tests migrate many schemas of one database in parallel.
    await client.query(`SELECT pg_advisory_xact_lock(hashtextextended('linktrail:migrate:' || current_schema(), 0))`);
    await client.query('CREATE TABLE IF NOT EXISTS linktrail_schema (version INTEGER NOT NULL)');
    const { rows } = await client.query<{ version: number | null }>('SELECT MAX(version) AS version FROM linktrail_schema');
    const current = rows[0]?.version ?? 0;
    if (current > migrations.length) {
      throw new Error(
        `database schema version ${current} is newer than this collector (knows ${migrations.length}); upgrade linktrail`,
      );
    }
    for (let v = current; v < migrations.length; v++) {
      const { up } = migrations[v]!;
      if (typeof up === 'string') await client.query(up);
      else await up(client);
      await client.query('INSERT INTO linktrail_schema (version) VALUES ($1)', [v + 1]);
    }
    await client.query('COMMIT');
    return migrations.length;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
