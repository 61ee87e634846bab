// A sale credited end to end in a real browser: Debian's Chromium follows a shortlink to an
// event page on another port that loads the built lt.js, buys, and lands on a confirmation
// page whose plain <img> pixel records the order. The report then credits the code.
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, json, makeApp } from './helper.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// isbot rightly flags "HeadlessChrome": a real visitor's browser says Chrome.
const UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';

let collector: Awaited<ReturnType<typeof makeApp>>;
let pages: Server;
let browser: Browser;
let api = '';
let shop = '';
let token = '';

function eventPage(): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>Fest</title>
<script>window.linktrail = window.linktrail || function () { (linktrail.q = linktrail.q || []).push(arguments) };</script>
<script async src="${api}/lt.js" data-site="acme" data-event="fest" data-allow-localhost></script></head>
<body><h1>Fest</h1><p id="came-from">?</p><a id="buy" href="/confirmation.html">Buy 2 day passes</a>
<script>linktrail('ready', function (t) { document.getElementById('came-from').textContent = t.channel + '|' + t.affiliate + '|' + t.clickId; });</script>
</body></html>`;
}

function confirmationPage(): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>Thanks</title></head><body><h1>Thanks</h1>
<img id="pixel" alt="" width="1" height="1" src="${api}/p.gif?site=acme&order=B-1001&value=90.00&currency=EUR&event=fest&item=day-pass:2:45.00">
</body></html>`;
}

async function until<T>(read: () => Promise<T>, done: (v: T) => boolean, what: string, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  pages = createServer((req, res) => {
    const body = req.url?.startsWith('/confirmation.html') ? confirmationPage() : eventPage();
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(body);
  });
  await new Promise<void>((r) => pages.listen(0, '127.0.0.1', r));
  shop = `http://127.0.0.1:${(pages.address() as AddressInfo).port}`;

  collector = await makeApp({ now: Date.now });
  await collector.app.listen({ port: 0, host: '127.0.0.1' });
  api = `http://127.0.0.1:${(collector.app.server.address() as AddressInfo).port}`;

  const site = await collector.app.inject({
    method: 'POST',
    url: '/api/sites',
    headers: { authorization: `Bearer ${ADMIN}` },
    payload: { id: 'acme', name: 'Acme', url: `${shop}/event.html` },
  });
  token = json(site).token;
  const code = await collector.app.inject({
    method: 'POST',
    url: '/api/sites/acme/codes',
    headers: { authorization: `Bearer ${token}` },
    payload: { code: 'mia' },
  });
  expect(code.statusCode).toBe(201);

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-blink-features=AutomationControlled',
    ],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await collector?.close();
  await new Promise((r) => pages?.close(r));
});

const report = async (by: string) =>
  json(await collector.app.inject({ method: 'GET', url: `/api/sites/acme/report?by=${by}`, headers: { authorization: `Bearer ${token}` } }));

describe('in Chromium', () => {
  it('a tracking link, the event page and a pixel credit the code with the order, tickets and revenue', async () => {
    const context = await browser.newContext({ userAgent: UA });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));

    await page.goto(`${api}/r/mia`);
    expect(page.url()).toMatch(new RegExp(`^${shop}/event\\.html\\?affiliate=mia&lt_cid=[\\w-]+$`));
    const cid = new URL(page.url()).searchParams.get('lt_cid');
    // The script adopted the shortlink's click id and classified the landing.
    await expect.poll(() => page.textContent('#came-from')).toBe(`affiliate|mia|${cid}`);
    await until(() => report('code'), (r) => r.rows.some((x: any) => x.key === 'mia' && x.visits === 1), 'the landing');

    await page.click('#buy');
    await page.waitForLoadState('load');
    const r = await until(() => report('code'), (x) => x.totals.orders === 1, 'the pixel');
    expect(r.rows.find((x: any) => x.key === 'mia')).toMatchObject({
      clicks: 1,
      visits: 1,
      visitors: 1,
      orders: 1,
      tickets: 2,
      revenue: { EUR: 9000 },
      conversion_rate: 1,
    });
    const conv = json(await collector.app.inject({ method: 'GET', url: '/api/sites/acme/conversions/B-1001', headers: { authorization: `Bearer ${token}` } }));
    expect(conv.attribution).toMatchObject({ link: { code: 'mia', cid }, channel: 'affiliate', rule: 'link:last_click channel:last_touch' });
    expect(errors).toEqual([]);
    await context.close();
  });

  it("the promoter page takes the token out of the address bar, keeps it through a reload, and asks for the access link without one", async () => {
    const invited = await collector.app.inject({
      method: 'POST', url: '/api/sites/acme/promoters', headers: { authorization: `Bearer ${token}` },
      payload: { name: 'Sam Rivera', email: 'sam@example.com', nickname: 'sam' },
    });
    const access = json(invited).token as string;
    const context = await browser.newContext({ userAgent: UA });
    const page = await context.newPage();
    const asked: string[] = [];
    page.on('request', (r) => r.url().includes('/api/') && asked.push(r.headers().authorization ?? ''));
    await page.goto(`${api}/promoter#token=${access}`);
    await expect.poll(() => page.textContent('#codes')).toContain('/r/sam');
    expect(page.url()).toBe(`${api}/promoter`);
    await page.reload();
    await expect.poll(() => page.textContent('#title')).toBe('sam — Acme');
    expect(new Set(asked)).toEqual(new Set([`Bearer ${access}`]));

    // Another tab knows nothing: it asks for the link and sends no empty token (a failed authentication).
    const other = await (await browser.newContext({ userAgent: UA })).newPage();
    other.on('request', (r) => r.url().includes('/api/') && asked.push('other'));
    await other.goto(`${api}/promoter`);
    await expect.poll(() => other.textContent('#error')).toMatch(/access link from your welcome email/);
    expect(asked).not.toContain('other');
    await other.context().close();
    await context.close();
  });
});
