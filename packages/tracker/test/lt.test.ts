// @vitest-environment jsdom
// The script tag as a page uses it: data-* attributes, the queue stub, fetch and sendBeacon.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import type { Verdict } from '../src/index';
import { clearCookies, visit, warnings } from './browser';

type Stub = ((...args: unknown[]) => void) & { q?: IArguments[] };
const page = window as unknown as { linktrail?: Stub };

const CID = 'Q2xpY2tJZEZyb21SMQ';

/** What left the page, in order, by which way. */
let sent: Array<{ by: 'fetch' | 'beacon'; url: string; hit: Record<string, unknown> }>;

beforeEach(() => {
  vi.resetModules();
  clearCookies();
  visit(`https://shop.example.com/e/summer-fest?affiliate=mia&lt_cid=${CID}`, 'https://l.instagram.com/');
  delete page.linktrail;
  sent = [];
  vi.stubGlobal(
    'navigator',
    Object.assign(Object.create(navigator) as Navigator, {
      sendBeacon: (url: string, body: string) => sent.push({ by: 'beacon', url, hit: JSON.parse(body) as Record<string, unknown> }) > 0,
    }),
  );
  // The collector: a touch through mia's link, as it would classify this page.
  vi.stubGlobal('fetch', (url: string, init: RequestInit) => {
    const hit = JSON.parse(init.body as string) as Record<string, unknown>;
    sent.push({ by: 'fetch', url, hit });
    const verdict: Verdict = { vid: hit.vid as string, cid: CID, channel: 'affiliate', source: 'instagram', affiliate: 'mia', touch: true };
    return Promise.resolve({ json: () => Promise.resolve(verdict) });
  });
});
afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

/** Inserts `<script async src=.../lt.js data-…>` and runs it. */
async function loadScript(data: Record<string, string>, src = 'https://t.example.com/lt.js') {
  const script = document.createElement('script');
  script.src = src;
  for (const [k, v] of Object.entries(data)) script.setAttribute(`data-${k}`, v);
  Object.defineProperty(document, 'currentScript', { value: script, configurable: true });
  await import('../src/lt');
}

/** The snippet pages paste before the script tag. */
function installStub() {
  page.linktrail =
    page.linktrail ||
    function () {
      (page.linktrail!.q = page.linktrail!.q || []).push(arguments);
    };
  return page.linktrail;
}

it('replays calls queued before it loaded, then takes over window.linktrail', async () => {
  const linktrail = installStub();
  const info: unknown[] = [];
  linktrail('ready', (i: unknown) => info.push(i));
  linktrail('event', 'signup', { plan: 'pro' });
  await loadScript({ site: 'acme', event: 'summer-fest' });

  expect(sent.map((s) => s.by)).toEqual(['fetch', 'beacon']);
  expect(sent[0]).toMatchObject({
    url: 'https://t.example.com/collect',
    hit: { site: 'acme', event: 'summer-fest', url: location.href, referrer: 'https://l.instagram.com/' },
  });
  expect(sent[1].hit).toMatchObject({ kind: 'conversion', type: 'signup', plan: 'pro', vid: sent[0].hit.vid });

  await vi.waitFor(() => expect(info).toHaveLength(1));
  expect(info[0]).toEqual({ vid: sent[0].hit.vid, clickId: CID, channel: 'affiliate', source: 'instagram', affiliate: 'mia' });

  expect(page.linktrail).not.toBe(linktrail);
  page.linktrail!('conversion', { order: 'A-1', value: '45.00', currency: 'EUR' });
  expect(sent[2]).toMatchObject({ by: 'beacon', hit: { kind: 'conversion', order: 'A-1', vid: sent[0].hit.vid, cid: CID } });
});

it('reads its options from data-* attributes', async () => {
  visit('http://localhost:5173/e/summer-fest?ref=crew42', 'https://www.example.org/');
  installStub()('consent', true);
  const cookies = vi.spyOn(document, 'cookie', 'set');
  await loadScript({
    site: 'acme',
    event: 'summer-fest',
    api: 'https://collect.example.net',
    'cookie-domain': 'example.com',
    consent: 'required',
    'allow-localhost': '',
    'honor-gpc': '',
  });
  expect(sent).toHaveLength(1);
  expect(sent[0]).toMatchObject({ url: 'https://collect.example.net/collect', hit: { site: 'acme', event: 'summer-fest' } });
  expect(cookies.mock.calls[0][0]).toMatch(/^_lt_vid=.*;domain=example\.com$/);
});

it('waits for consent when data-consent="required"', async () => {
  await loadScript({ site: 'acme', consent: 'required' });
  expect(sent).toEqual([]);
  expect(document.cookie).toBe('');
  page.linktrail!('consent', true);
  expect(sent).toHaveLength(1);
});

it('a refusal queued before it loaded keeps the pageview and the cookie back; a later yes sends it', async () => {
  installStub()('consent', false);
  await loadScript({ site: 'acme' });
  expect(sent).toEqual([]);
  expect(document.cookie).toBe('');
  page.linktrail!('consent', true);
  expect(sent.map((s) => s.hit.url)).toEqual([`https://shop.example.com/e/summer-fest?affiliate=mia&lt_cid=${CID}`]);
});

it('a yes queued before it loaded sends the pageview at once, and a ready queued before it gets the landing', async () => {
  const got: unknown[] = [];
  installStub()('ready', (info: unknown) => got.push(info));
  page.linktrail!('consent', true);
  await loadScript({ site: 'acme' });
  expect(sent).toHaveLength(1);
  await expect.poll(() => got).toEqual([expect.objectContaining({ clickId: CID, affiliate: 'mia' })]);
});

it('runs once when the tag is on the page twice (pasted, and again by a tag manager)', async () => {
  const warn = warnings();
  installStub()('conversion', { order: 'A-1' });
  await loadScript({ site: 'acme' });
  const linktrail = page.linktrail;
  vi.resetModules();
  await loadScript({ site: 'acme', event: 'summer-fest' });

  expect(page.linktrail).toBe(linktrail);
  expect(sent.map((s) => s.by)).toEqual(['fetch', 'beacon']);
  expect(warn).toHaveBeenCalledWith('linktrail:', 'loaded twice');
});

it('a tag for another site on the same page still runs', async () => {
  const warn = warnings();
  await loadScript({ site: 'acme' });
  vi.resetModules();
  await loadScript({ site: 'platform' });
  expect(sent.map((s) => s.hit.site)).toEqual(['acme', 'platform']);
  expect(warn).not.toHaveBeenCalledWith('linktrail:', 'loaded twice');
});

it('runs once when pasted twice in its built, minified form too', () => {
  // Minifying must keep the site marker by which a second copy knows the first.
  // jsdom's URL would resolve against the page, not this file.
  const built = join(dirname(fileURLToPath(import.meta.url)), '../dist/lt.js');
  if (!existsSync(built)) throw new Error(`${built} is missing: run npm run build -w @linktrail/tracker`);
  const run = new Function(readFileSync(built, 'utf8')) as () => void;
  const warn = warnings();
  const script = document.createElement('script');
  script.src = 'https://t.example.com/lt.js';
  script.dataset.site = 'acme';
  Object.defineProperty(document, 'currentScript', { value: script, configurable: true });
  installStub()('conversion', { order: 'A-1' });
  run();
  run();
  expect(sent.map((s) => s.by)).toEqual(['fetch', 'beacon']);
  expect(warn).toHaveBeenCalledWith('linktrail:', 'loaded twice');
});

it('without data-site, warns and sends nothing', async () => {
  const warn = warnings();
  installStub()('conversion', { order: 'A-1' });
  await loadScript({ event: 'summer-fest' });
  expect(warn).toHaveBeenCalledWith('linktrail:', 'no data-site');
  expect(sent).toEqual([]);
});

it('never throws into the page, even without document.currentScript', async () => {
  const warn = warnings();
  Object.defineProperty(document, 'currentScript', { value: null, configurable: true });
  await expect(import('../src/lt')).resolves.toBeDefined();
  expect(warn).toHaveBeenCalled();
  expect(sent).toEqual([]);
});
