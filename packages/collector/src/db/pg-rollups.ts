// The daily rollups on PostgreSQL, written once per batch before COMMIT (like SQLite's
// flush in sqlite-store.ts). Counts are added in SQL; the visitor sketch can't be merged in
// SQL here, so: upsert the counts (which locks each touched row, in key order, for the rest
// of the transaction), read the locked rows' sketches, merge in JavaScript (sketch.ts), and
// write them back. Another process flushing the same row waits on that row lock, then reads
// the sketch this one committed: no visitor is lost between two processes.
import { ROLLUPS, type RollupBatch, type RollupDelta } from '../rollups.js';
import { sketchAdd } from '../sketch.js';
import type { PgClient } from './pg-pool.js';

const KEY_COLUMNS = new Map<string, string[]>(
  ROLLUPS.flatMap((r) => [
    [r.table, ['site_id', 'day', ...r.columns]],
    [r.orders, ['site_id', 'day', ...r.columns, 'currency', 'type']],
  ]),
);

const keyOf = (d: RollupDelta) => [d.keys[0]!, d.day, ...d.keys.slice(1)];
const compare = (a: RollupDelta, b: RollupDelta) => {
  const x = keyOf(a);
  const y = keyOf(b);
  for (let i = 0; i < x.length; i++) {
    if (x[i]! < y[i]!) return -1;
    if (x[i]! > y[i]!) return 1;
  }
  return 0;
};

export async function flushPgRollups(c: PgClient, batch: RollupBatch): Promise<void> {
  const byTable = new Map<string, RollupDelta[]>();
  for (const d of batch.deltas.values()) {
    const list = byTable.get(d.table);
    if (list) list.push(d);
    else byTable.set(d.table, [d]);
  }
  batch.clear();
  // Tables, then rows, always in the same order: concurrent batches lock rows in one order.
  for (const table of [...byTable.keys()].sort()) {
    const deltas = byTable.get(table)!.sort(compare);
    await upsertCounts(c, table, deltas);
    const traffic = deltas.filter((d) => d.hashes.length > 0);
    if (traffic.length > 0) await mergeSketches(c, table, traffic);
  }
}

async function upsertCounts(c: PgClient, table: string, deltas: RollupDelta[]): Promise<void> {
  const keys = KEY_COLUMNS.get(table)!;
  const counts = Object.keys(deltas[0]!.counts);
  const columns = [...keys, ...counts];
  const types = columns.map((col) => (col === 'day' ? 'integer' : counts.includes(col) ? 'bigint' : 'text'));
  const params = columns.map((col, i) =>
    deltas.map((d) => (i < keys.length ? keyOf(d)[i] : (d.counts[col] ?? 0))),
  );
  await c.query(
    `INSERT INTO ${table} AS r (${columns.join(', ')})
     SELECT * FROM unnest(${types.map((t, i) => `$${i + 1}::${t}[]`).join(', ')}) AS u(${columns.join(', ')})
     ORDER BY ${keys.join(', ')}
     ON CONFLICT (${keys.join(', ')}) DO UPDATE SET ${counts.map((k) => `${k} = r.${k} + excluded.${k}`).join(', ')}`,
    params,
  );
}

async function mergeSketches(c: PgClient, table: string, deltas: RollupDelta[]): Promise<void> {
  const keys = KEY_COLUMNS.get(table)!;
  const types = keys.map((k) => (k === 'day' ? 'integer' : 'text'));
  const keyParams = keys.map((_, i) => deltas.map((d) => keyOf(d)[i]));
  const match = keys.map((k) => `r.${k} = u.${k}`).join(' AND ');
  const unnest = `unnest(${types.map((t, i) => `$${i + 1}::${t}[]`).join(', ')}) AS u(${keys.join(', ')})`;
  // These rows are locked by the upsert above: their sketches can't change before COMMIT.
  const stored = await c.query(`SELECT ${keys.map((k) => `r.${k}`).join(', ')}, r.visitors FROM ${table} r JOIN ${unnest} ON ${match}`, keyParams);
  const id = (values: unknown[]) => values.map(String).join('\n');
  const sketches = new Map(stored.rows.map((r) => [id(keys.map((k) => r[k])), r.visitors as Buffer | null]));
  const merged = deltas.map((d) => sketchAdd(sketches.get(id(keyOf(d))) ?? null, ...d.hashes));
  await c.query(
    `UPDATE ${table} r SET visitors = u.visitors
     FROM unnest(${types.map((t, i) => `$${i + 1}::${t}[]`).join(', ')}, $${keys.length + 1}::bytea[]) AS u(${keys.join(', ')}, visitors)
     WHERE ${match}`,
    [...keyParams, merged],
  );
}
