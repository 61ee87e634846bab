// The reference for durable ingest: bare Fastify's GIF route where each request's row is
// queued, inserted with the rest of its event-loop turn in one transaction, and answered after
// the COMMIT, into a table with only a time index; nothing classified, derived or rolled up.
//   SYNC=FULL PORT=8912 node packages/collector/bench/insert-bare.mjs   (NORMAL: no fsync at commit)
//   wrk -t2 -c50 -d6s 'http://127.0.0.1:8912/p.gif?site=bench&order=1&value=45.00'
// Figures: BENCHMARKS.md, eleventh session.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import Fastify from 'fastify';

const db = new Database(join(mkdtempSync(join(tmpdir(), 'insert-bare-')), 'db.sqlite'));
db.pragma('journal_mode = WAL');
db.pragma(`synchronous = ${process.env.SYNC === 'NORMAL' ? 'NORMAL' : 'FULL'}`);
db.exec('CREATE TABLE hits (id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, site TEXT, url TEXT); CREATE INDEX hits_ts ON hits (ts);');
const insert = db.prepare('INSERT INTO hits (ts, site, url) VALUES (?, ?, ?)');
const insertAll = db.transaction((rows) => {
  for (const r of rows) insert.run(r.ts, r.site, r.url);
});

const GIF = Buffer.from('R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==', 'base64');
let queued = [];
const app = Fastify({ logger: false });
app.get('/p.gif', (request, reply) => {
  queued.push({ ts: Date.now(), site: request.query.site ?? null, url: request.url, reply });
  if (queued.length === 1) {
    setImmediate(() => {
      const rows = queued;
      queued = [];
      insertAll(rows);
      for (const r of rows) r.reply.header('content-type', 'image/gif').header('cache-control', 'no-store').send(GIF);
    });
  }
  return reply;
});
const address = await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
console.log(`insert-bare (${db.pragma('synchronous', { simple: true }) === 2 ? 'FULL' : 'NORMAL'}) listening on ${address}`);
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
