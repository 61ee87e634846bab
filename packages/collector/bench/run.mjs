// npm run bench: the real collector (built dist, durable SQLite on a temporary file) against
// bare Fastify answering the same bytes, each in its own process on 127.0.0.1, driven
// alternately by wrk with 50 connections. Loopback only; bounded in time.
//   BENCH_SECONDS (default 5) per run, BENCH_ROUNDS (default 2) per server and scenario.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const CONNECTIONS = 50;
const THREADS = 2;
const ADMIN = 'bench-admin-token-0123456789';
const here = (p) => fileURLToPath(new URL(p, import.meta.url));

try {
  execFileSync('wrk', ['--version'], { stdio: 'ignore' });
} catch (error) {
  // wrk --version exits 1 after printing; only a missing binary is fatal.
  if (error.code === 'ENOENT') {
    console.error('bench: wrk not found; install it (Debian: apt-get install wrk)');
    process.exit(1);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'linktrail-bench-'));
const children = [];

// The collector runs with the Node flags `npm start` gives it (package.json config.nodeFlags).
const nodeFlags = JSON.parse(readFileSync(here('../../../package.json'), 'utf8')).config.nodeFlags.split(' ').filter(Boolean);

/** Starts a server process and resolves with its URL once it prints "listening on URL". */
function start(name, script, env, flags = []) {
  const child = spawn(process.execPath, [...flags, script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err = (err + d).slice(-4000)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start in 20 s:\n${out}${err}`)), 20_000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/[\d.:]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ name, child, url: m[1] });
      }
    });
    child.on('exit', (code) => reject(new Error(`${name} exited (${code}) before listening:\n${out}${err}`)));
  });
}

// A browser's User-Agent: without one a client counts as a bot (bots.ts), and its pageviews
// would be stored without their visit, click and rollup rows, a cheaper path than a person's.
const UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const lua = {
  // Every request a new order, so each one is a real insert with its attribution lookups.
  pixel: `
local n = 0
function setup(thread) thread:set("tid", math.random(1, 2^30)) end
request = function()
  n = n + 1
  return wrk.format("GET", "/p.gif?site=bench&order=" .. prefix .. tid .. "-" .. n ..
    "&value=45.00&currency=EUR&event=fest&item=day-pass:1:45.00", { ["User-Agent"] = "${UA}" })
end`,
  // Every request a new visitor (a new visit row too), as a busy page sees, with a random id
  // as the script makes (22 base64url characters): sequential ids would land side by side in
  // the per-visitor index and hide its cost (measured: 21% more pageviews/s, a third of the
  // bytes written).
  collect: `
local chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
function setup(thread) thread:set("tid", math.random(1, 2^30)) end
local function vid()
  local t = {}
  for i = 1, 22 do
    local k = math.random(1, 64)
    t[i] = chars:sub(k, k)
  end
  return table.concat(t)
end
request = function()
  local body = '{"site":"bench","vid":"' .. vid() ..
    '","url":"https://tickets.bench.example/e/fest?utm_source=newsletter&utm_medium=email","referrer":"https://mail.google.com/","nav":"navigate"}'
  return wrk.format("POST", "/collect", { ["Content-Type"] = "text/plain;charset=UTF-8", ["User-Agent"] = "${UA}" }, body)
end`,
};
const common = `
function init(args)
  prefix = args[1]
  math.randomseed(tid + os.time())
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('RESULT {"requests":%d,"us":%d,"p50":%d,"p99":%d,"status":%d,"socket":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end`;
for (const [name, body] of Object.entries(lua)) writeFileSync(join(dir, `${name}.lua`), body + common);

let runs = 0;
function wrk(server, scenario, seconds) {
  const prefix = `r${++runs}-`;
  const out = execFileSync(
    'wrk',
    ['-t', String(THREADS), '-c', String(CONNECTIONS), '-d', `${seconds}s`, '--timeout', '5s', '-s', join(dir, `${scenario}.lua`), server.url, '--', prefix],
    { encoding: 'utf8' },
  );
  const r = JSON.parse(/RESULT (.*)/.exec(out)[1]);
  return { rps: r.requests / (r.us / 1e6), p50: r.p50 / 1000, p99: r.p99 / 1000, ok: r.requests - r.status, errors: r.status + r.socket };
}

/** Per thread of `pid`: ns on a core and ns waiting for one (/proc/<pid>/task/<tid>/schedstat). */
function threadTimes(pid) {
  const times = new Map();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const [run, wait] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ').map(Number);
      times.set(Number(tid), { run, wait });
    } catch {
      // A thread that ended between the listing and the read.
    }
  }
  return times;
}

/** CPU of this process's finished children (wrk), in ns: /proc/self/stat cutime + cstime. */
const childrenCpu = () => {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return (Number(fields[13]) + Number(fields[14])) * (1e9 / 100);
};

/** Whether the collector runs its ingest worker (the default), or ingests on its main thread. */
const WORKER = process.env.LINKTRAIL_INGEST_THREAD !== 'main';

/**
 * Where a collector run's time went, per request: the answering (main) thread, the busiest
 * other thread (the ingest worker), the rest (V8's and libuv's helpers) and wrk.
 */
function accountRun(pid, before, after, wrkNs, requests, into) {
  let worker = { run: 0, wait: 0 };
  let others = 0;
  for (const [tid, a] of after) {
    const b = before.get(tid) ?? { run: 0, wait: 0 };
    const d = { run: a.run - b.run, wait: a.wait - b.wait };
    if (tid === pid) (into.main.run += d.run), (into.main.wait += d.wait);
    else if (WORKER && d.run > worker.run) (others += worker.run), (worker = d);
    else others += d.run;
  }
  into.worker.run += worker.run;
  into.worker.wait += worker.wait;
  into.others += others;
  into.wrk += wrkNs;
  into.requests += requests;
}

const peakRss = (pid) => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;

async function main() {
  const bare = await start('bare', here('./bare.mjs'), {});
  const collector = await start('collector', here('../dist/server.js'), {
    PORT: '0',
    HOST: '127.0.0.1',
    LINKTRAIL_DB: join(dir, 'bench.db'),
    LINKTRAIL_ADMIN_TOKEN: ADMIN,
    LINKTRAIL_DEMO: '0',
    // The limiter stays on (its cost is measured) but high enough for one wrk address.
    LINKTRAIL_PUBLIC_RATE_LIMIT: '100000000',
  }, nodeFlags);
  const res = await fetch(`${collector.url}/api/sites`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ id: 'bench', name: 'Bench', url: 'https://tickets.bench.example', platformHosts: ['bench.example'] }),
  });
  if (res.status !== 201) throw new Error(`seeding the site failed: ${res.status} ${await res.text()}`);

  // Other work on the machine shows in the load average: compare runs only when it is low.
  const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
  console.log(`linktrail bench: ${availableParallelism()} cores, node ${process.version}, wrk -t${THREADS} -c${CONNECTIONS} -d${SECONDS}s, ${ROUNDS} rounds, load average ${load()}`);
  let acked = { pixel: 0, collect: 0 };
  const summary = [];
  for (const scenario of ['pixel', 'collect']) {
    // Warm-up: JIT and SQLite page cache, not measured.
    for (const s of [bare, collector]) acked[scenario] += s === collector ? wrk(s, scenario, 2).ok : 0;
    const results = { bare: [], collector: [] };
    const time = { main: { run: 0, wait: 0 }, worker: { run: 0, wait: 0 }, others: 0, wrk: 0, requests: 0 };
    for (let round = 0; round < ROUNDS; round++) {
      for (const s of [bare, collector]) {
        const before = s === collector ? [threadTimes(collector.child.pid), childrenCpu()] : null;
        const r = wrk(s, scenario, SECONDS);
        if (before) accountRun(collector.child.pid, before[0], threadTimes(collector.child.pid), childrenCpu() - before[1], r.ok + r.errors, time);
        results[s.name].push(r);
        if (s === collector) acked[scenario] += r.ok;
        console.log(`  ${scenario.padEnd(8)} ${s.name.padEnd(10)} ${r.rps.toFixed(0).padStart(7)} req/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  errors ${r.errors}`);
      }
    }
    const mean = (xs, k) => xs.reduce((a, r) => a + r[k], 0) / xs.length;
    const max = (xs, k) => Math.max(...xs.map((r) => r[k]));
    summary.push({
      scenario,
      bare: mean(results.bare, 'rps'),
      collector: mean(results.collector, 'rps'),
      p50: mean(results.collector, 'p50'),
      p99: max(results.collector, 'p99'),
      errors: results.collector.reduce((a, r) => a + r.errors, 0),
      time,
    });
  }
  const rss = peakRss(collector.child.pid);

  // Every acknowledged request must be a stored row (more rows is fine: wrk drops in-flight
  // answers when a run ends).
  const db = new Database(join(dir, 'bench.db'), { readonly: true });
  const orders = db.prepare("SELECT COUNT(*) AS n FROM conversions WHERE site_id = 'bench'").get().n;
  const hits = db.prepare("SELECT COUNT(*) AS n FROM hits WHERE site_id = 'bench'").get().n;
  // Each pageview is a new visitor's: a visit each, or the bench measured a cheaper path.
  const visits = db.prepare("SELECT COUNT(*) AS n FROM visits WHERE site_id = 'bench'").get().n;
  db.close();

  console.log('\nscenario   bare req/s  collector req/s  ratio  collector p50  p99 (worst)  errors');
  for (const s of summary) {
    console.log(
      `${s.scenario.padEnd(10)} ${s.bare.toFixed(0).padStart(10)} ${s.collector.toFixed(0).padStart(16)}  ${(s.collector / s.bare).toFixed(2)}  ${s.p50.toFixed(2).padStart(9)} ms  ${s.p99.toFixed(2).padStart(8)} ms  ${s.errors}`,
    );
  }
  // Times req/s, a thread's sum is the share of each second it could not take new work (the
  // ingest worker also sleeps in its WAL fsync, not shown): near 1 s, that thread sets the pace.
  console.log("\nthe collector's threads, µs per request: on a core + waiting for one");
  console.log('scenario   answering thread   ingest worker   other threads    wrk');
  for (const { scenario, time: t } of summary) {
    const us = (ns) => (ns / 1000 / t.requests).toFixed(1);
    const pair = (x) => `${us(x.run)} + ${us(x.wait)}`.padStart(16);
    console.log(`${scenario.padEnd(10)} ${pair(t.main)}  ${pair(t.worker)}  ${us(t.others).padStart(13)}  ${us(t.wrk).padStart(5)}`);
  }
  console.log(`collector peak RSS (VmHWM): ${rss.toFixed(0)} MB; load average now ${load()}`);
  console.log(`stored: ${orders} orders for ${acked.pixel} acknowledged pixels, ${hits} hits and ${visits} visits for ${acked.collect} acknowledged pageviews`);
  if (orders < acked.pixel || hits < acked.collect) {
    console.error('bench: FEWER ROWS THAN ACKNOWLEDGED REQUESTS');
    process.exitCode = 1;
  }
  if (visits !== hits) {
    console.error('bench: PAGEVIEWS STORED WITHOUT THEIR VISIT (counted as bots?)');
    process.exitCode = 1;
  }
}

main()
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(async () => {
    for (const child of children) {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });
