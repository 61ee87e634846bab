// The daily rollups on PostgreSQL, kept off the acknowledgement path. A batch transaction
// appends its rollup changes to rollup_pending (one INSERT, new rows only: batches never wait
// on each other); the folder (pg-folder.ts) later claims pending rows with SKIP LOCKED, merges
// them, adds them to the rollup tables and deletes them, all in one transaction: a crash at
// any point leaves each change either pending or folded, never lost, never counted twice.
// Reports read each rollup table together with its pending rows (liveRollup), so a write is in
// the next report whether or not it has been folded yet.
// Folders of several processes touch the same rollup rows: they lock them in one order
// (tables, then keys), and merge each visitor sketch under that row's lock.
import { ORDER_COUNTS, ROLLUPS, TRAFFIC_COUNTS, type RollupBatch, type RollupDelta } from '../rollups.js';
import { SketchUnion, sketchAdd } from '../sketch.js';
import type { PgClient } from './pg-pool.js';

interface Shape {
  /** Key columns after site_id and day (key1…). */
  keys: readonly string[];
  /** Counters (count1…). */
  counts: readonly string[];
  traffic: boolean;
}

const SHAPES = new Map<string, Shape>(
  ROLLUPS.flatMap((r) => [
    [r.table, { keys: r.columns, counts: TRAFFIC_COUNTS, traffic: true }],
    [r.orders, { keys: [...r.columns, 'currency', 'type'], counts: ORDER_COUNTS, traffic: false }],
  ]),
);
// rollup_pending's key1…key6 and count1…count5 (pg-migrations/0004-rollup-pending.ts).
const KEY_SLOTS = 6;
const COUNT_SLOTS = 5;
for (const [table, s] of SHAPES) {
  if (s.keys.length > KEY_SLOTS || s.counts.length > COUNT_SLOTS) throw new Error(`rollup ${table} does not fit rollup_pending`);
}
const slots = (n: number, name: string) => Array.from({ length: n }, (_, i) => `${name}${i + 1}`);

/** A rollup table as reports read it: its rows plus the pending changes not yet folded in. */
export function liveRollup(table: string): string {
  const s = SHAPES.get(table);
  if (!s) throw new Error(`no rollup table ${table}`);
  const own = ['site_id', 'day', ...s.keys, ...s.counts, ...(s.traffic ? ['visitors'] : [])];
  const pending = [
    'site_id',
    'day',
    ...s.keys.map((k, i) => `key${i + 1} AS ${k}`),
    ...s.counts.map((k, i) => `count${i + 1} AS ${k}`),
    ...(s.traffic ? ['visitors'] : []),
  ];
  return `(SELECT ${own.join(', ')} FROM ${table} UNION ALL SELECT ${pending.join(', ')} FROM rollup_pending WHERE rollup = '${table}')`;
}

/** Appends a batch's rollup changes as new pending rows (in the batch's transaction). */
export async function appendPending(c: PgClient, batch: RollupBatch): Promise<boolean> {
  const values = pendingValues(batch);
  if (!values) return false;
  await c.query({ name: 'linktrail-append-pending', text: appendPendingSql(1), values });
  return true;
}

/**
 * An INSERT of pending rows whose values are parameters $first… (pendingValues), so that
 * another statement can carry it as a CTE and save a round trip.
 */
export function appendPendingSql(first: number): string {
  const keys = slots(KEY_SLOTS, 'key');
  const counts = slots(COUNT_SLOTS, 'count');
  const types = ['text', 'text', 'integer', ...keys.map(() => 'text'), ...counts.map(() => 'bigint'), 'bytea'];
  return `INSERT INTO rollup_pending (rollup, site_id, day, ${keys.join(', ')}, ${counts.join(', ')}, visitors)
    SELECT * FROM unnest(${types.map((t, i) => `$${first + i}::${t}[]`).join(', ')})`;
}

/** The parameters of appendPendingSql for a batch's changes (then cleared); null when none. */
export function pendingValues(batch: RollupBatch): unknown[][] | null {
  const deltas = [...batch.deltas.values()];
  batch.clear();
  if (deltas.length === 0) return null;
  const shape = (d: RollupDelta) => SHAPES.get(d.table)!;
  return [
    deltas.map((d) => d.table),
    deltas.map((d) => d.keys[0]),
    deltas.map((d) => d.day),
    ...Array.from({ length: KEY_SLOTS }, (_, i) => deltas.map((d) => d.keys[i + 1] ?? null)),
    ...Array.from({ length: COUNT_SLOTS }, (_, i) =>
      deltas.map((d) => {
        const name = shape(d).counts[i];
        return name === undefined ? null : (d.counts[name] ?? 0);
      }),
    ),
    deltas.map((d) => (d.hashes.length > 0 ? sketchAdd(null, ...d.hashes) : null)),
  ];
}

/** pendingValues of no changes: appendPendingSql inserts nothing. */
export const NO_PENDING: unknown[][] = Array.from({ length: 3 + KEY_SLOTS + COUNT_SLOTS + 1 }, () => []);

/** Pending changes to one rollup row, merged. */
interface Folded {
  table: string;
  day: number;
  /** site_id, then the table's key columns. */
  keys: string[];
  counts: Record<string, number>;
  visitors: SketchUnion | null;
}

const keyOf = (d: Folded) => [d.keys[0]!, d.day, ...d.keys.slice(1)];
const compare = (a: Folded, b: Folded) => {
  const x = keyOf(a);
  const y = keyOf(b);
  for (let i = 0; i < x.length; i++) {
    if (x[i]! < y[i]!) return -1;
    if (x[i]! > y[i]!) return 1;
  }
  return 0;
};

/**
 * Folds up to `limit` pending rows that no other transaction holds into the rollup tables,
 * in the caller's transaction (which must commit for the fold to count). Answers how many.
 * Rows for rollup tables this code does not know (a newer collector's) stay for one that does.
 */
export async function foldPending(c: PgClient, limit: number): Promise<number> {
  const claimed = await c.query(
    `DELETE FROM rollup_pending WHERE id IN
       (SELECT id FROM rollup_pending WHERE rollup = ANY($2::text[]) LIMIT $1 FOR UPDATE SKIP LOCKED)
     RETURNING *`,
    [limit, [...SHAPES.keys()]],
  );
  const rows = new Map<string, Folded>();
  for (const r of claimed.rows) {
    const s = SHAPES.get(String(r.rollup))!;
    // As stored: a NULL key (never written by appendPending) fails the fold, not becomes 'null'.
    const keys = [r.site_id as string, ...s.keys.map((_, i) => r[`key${i + 1}`] as string)];
    const id = JSON.stringify([r.rollup, r.day, ...keys]);
    let f = rows.get(id);
    if (!f) {
      f = { table: String(r.rollup), day: Number(r.day), keys, counts: Object.fromEntries(s.counts.map((k) => [k, 0])), visitors: null };
      rows.set(id, f);
    }
    s.counts.forEach((k, i) => (f.counts[k]! += Number(r[`count${i + 1}`] ?? 0)));
    if (r.visitors) f.visitors = (f.visitors ?? new SketchUnion()).addBlob(r.visitors as Buffer);
  }
  const byTable = new Map<string, Folded[]>();
  for (const f of rows.values()) {
    const list = byTable.get(f.table);
    if (list) list.push(f);
    else byTable.set(f.table, [f]);
  }
  // Tables, then rows, always in the same order: concurrent folds lock rows in one order.
  for (const table of [...byTable.keys()].sort()) {
    const folded = byTable.get(table)!.sort(compare);
    await upsertCounts(c, table, folded);
    const traffic = folded.filter((f) => f.visitors !== null);
    if (traffic.length > 0) await mergeSketches(c, table, traffic);
  }
  return claimed.rowCount ?? 0;
}

const keyColumns = (table: string) => ['site_id', 'day', ...SHAPES.get(table)!.keys];

async function upsertCounts(c: PgClient, table: string, rows: Folded[]): Promise<void> {
  const keys = keyColumns(table);
  const counts = SHAPES.get(table)!.counts;
  const columns = [...keys, ...counts];
  const types = columns.map((col) => (col === 'day' ? 'integer' : counts.includes(col) ? 'bigint' : 'text'));
  const params = columns.map((col, i) => rows.map((f) => (i < keys.length ? keyOf(f)[i] : f.counts[col])));
  await c.query(
    `INSERT INTO ${table} AS r (${columns.join(', ')})
     SELECT * FROM unnest(${types.map((t, i) => `$${i + 1}::${t}[]`).join(', ')}) AS u(${columns.join(', ')})
     ORDER BY ${keys.join(', ')}
     ON CONFLICT (${keys.join(', ')}) DO UPDATE SET ${counts.map((k) => `${k} = r.${k} + excluded.${k}`).join(', ')}`,
    params,
  );
}

async function mergeSketches(c: PgClient, table: string, rows: Folded[]): Promise<void> {
  const keys = keyColumns(table);
  const types = keys.map((k) => (k === 'day' ? 'integer' : 'text'));
  const keyParams = keys.map((_, i) => rows.map((f) => keyOf(f)[i]));
  const match = keys.map((k) => `r.${k} = u.${k}`).join(' AND ');
  const unnest = `unnest(${types.map((t, i) => `$${i + 1}::${t}[]`).join(', ')}) AS u(${keys.join(', ')})`;
  // These rows are locked by the upsert above: their sketches can't change before COMMIT.
  const stored = await c.query(`SELECT ${keys.map((k) => `r.${k}`).join(', ')}, r.visitors FROM ${table} r JOIN ${unnest} ON ${match}`, keyParams);
  const id = (values: unknown[]) => values.map(String).join('\n');
  const sketches = new Map(stored.rows.map((r) => [id(keys.map((k) => r[k])), r.visitors as Buffer | null]));
  const merged = rows.map((f) => f.visitors!.addBlob(sketches.get(id(keyOf(f)))).toBlob());
  await c.query(
    `UPDATE ${table} r SET visitors = u.visitors
     FROM unnest(${types.map((t, i) => `$${i + 1}::${t}[]`).join(', ')}, $${keys.length + 1}::bytea[]) AS u(${keys.join(', ')}, visitors)
     WHERE ${match}`,
    [...keyParams, merged],
  );
}
