// Seeds a collector with VISITS visits through the server-side hits API (spread over 29 days,
// a third through 50 affiliate codes, 1% buying), then times reports. Loopback only, bounded.
// Usage: node report-time.mjs http://127.0.0.1:PORT ADMIN_TOKEN [VISITS=100000] [RUNS=20] [SITE:TOKEN]
// With SITE:TOKEN (printed by a first run), times that site's reports again without seeding.
const [base, admin, visitsArg, runsArg, again] = process.argv.slice(2);
if (!base || !admin) {
  console.error('usage: node report-time.mjs http://127.0.0.1:PORT ADMIN_TOKEN [VISITS] [RUNS] [SITE:TOKEN]');
  process.exit(2);
}
const VISITS = Number(visitsArg ?? 100_000);
const RUNS = Number(runsArg ?? 20);
const DAY = 86_400_000;
const site = again ? again.split(':')[0] : `report${Date.now() % 100000}`;

async function call(method, path, body, token) {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body && JSON.stringify(body),
  });
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

const token = again ? again.split(':')[1] : await seed();

async function seed() {
  const { token } = await call('POST', '/api/sites', { id: site, name: 'Report bench', url: 'https://tickets.example.com' }, admin);
  for (let c = 0; c < 50; c++) await call('POST', `/api/sites/${site}/codes`, { code: `code-${c}` }, token);

  const now = Date.now();
  const referrers = ['https://www.google.com/', 'https://l.instagram.com/', 'https://t.co/x', '', 'https://news.example.org/a'];
  const started = performance.now();
  const BATCH = 1000;
  let sent = 0;
  // Four batches in flight: the ingest side of the seed, not the point of this benchmark.
  async function worker() {
    while (sent < VISITS) {
      const from = sent;
      const n = Math.min(BATCH, VISITS - from);
      sent += n;
      const hits = [];
      for (let i = from; i < from + n; i++) {
        const code = i % 3 === 0 ? `?affiliate=code-${i % 50}` : '';
        hits.push({
          vid: `visitor-${i}`,
          url: `https://tickets.example.com/e/fest${code}`,
          referrer: referrers[i % referrers.length],
          ts: now - Math.floor(((i * 7919) % VISITS) / VISITS * 29 * DAY),
        });
      }
      await call('POST', `/api/sites/${site}/hits`, { hits }, token);
    }
  }
  await Promise.all([worker(), worker(), worker(), worker()]);
  const seconds = (performance.now() - started) / 1000;
  for (let i = 0; i < VISITS / 100; i++) {
    await call('POST', `/api/sites/${site}/conversions`, { order: `o-${i}`, vid: `visitor-${i * 100}`, value: '45.00', tickets: 1 }, token);
  }
  console.log(JSON.stringify({ visits: VISITS, seed_hits_per_s: Math.round(VISITS / seconds), again: `${site}:${token}` }));
  return token;
}

async function time(query) {
  const ms = [];
  let rows = 0;
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    const body = await call('GET', `/api/sites/${site}/report?${query}`, undefined, token);
    ms.push(performance.now() - t0);
    rows = body.rows.length;
    if (r === 0 && body.totals.visits !== VISITS) throw new Error(`expected ${VISITS} visits, report has ${body.totals.visits}`);
  }
  ms.sort((a, b) => a - b);
  return { query, rows, median_ms: +ms[Math.floor(RUNS / 2)].toFixed(1), p90_ms: +ms[Math.floor(RUNS * 0.9)].toFixed(1) };
}

for (const q of ['by=code', 'by=channel', 'by=code,day', 'by=affiliate']) console.log(JSON.stringify(await time(q)));
