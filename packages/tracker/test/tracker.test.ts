// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createTracker, type ReadyInfo, type Verdict } from '../src/index';
import { clearCookies, load, ready, visit, warnings, type Hit } from './browser';

const EVENT_PAGE = 'https://shop.example.com/e/summer-fest';
const CHECKOUT = 'https://shop.example.com/checkout';
const ID = /^[\w-]{16,64}$/;
const CID = 'Q2xpY2tJZEZyb21SMQ';
const SERVER_VID = 'c2VydmVyLWNvb2tpZS12aWQ';
const MIA: Partial<Verdict> = { touch: true, cid: CID, channel: 'affiliate', source: 'instagram', affiliate: 'mia' };
const NO_TOUCH = { clickId: null, channel: null, source: null, affiliate: null };

/** A landing through mia's link that the collector answers as a touch; returns its pageview. */
function landFromMia(): Hit {
  visit(`${EVENT_PAGE}?affiliate=mia&lt_cid=${CID}`, 'https://l.instagram.com/');
  const t = load();
  t.answer(MIA);
  return t.hits[0];
}

beforeEach(() => {
  clearCookies();
  visit(EVENT_PAGE);
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});

describe('the pageview', () => {
  it('names the site, event, visitor, page and referrer, and leaves classifying to the collector', () => {
    const url = `${EVENT_PAGE}?affiliate=mia&utm_source=instagram&utm_medium=social&gclid=Cj0K&lt_cid=${CID}`;
    visit(url, 'https://l.instagram.com/');
    const { hits } = load({ event: 'summer-fest' });
    expect(hits).toEqual([
      { api: 'https://t.example.com', site: 'acme', event: 'summer-fest', vid: expect.stringMatching(ID), url, referrer: 'https://l.instagram.com/', nav: 'navigate' },
    ]);
  });

  it('leaves empty fields out', () => {
    const { hits } = load();
    expect(Object.keys(hits[0]).sort()).toEqual(['api', 'nav', 'site', 'url', 'vid']);
  });

  it('says how the page was reached: the collector counts no visit or click for a reload or back/forward', () => {
    for (const nav of ['navigate', 'reload', 'back_forward'] as const) {
      visit(EVENT_PAGE, '', nav);
      expect(load().hits[0].nav).toBe(nav);
    }
  });

  it('names the address the page loaded at, even when the page replaced it before the script ran', () => {
    const landing = `${EVENT_PAGE}?affiliate=mia&utm_source=newsletter`;
    visit(landing, '', 'navigate', landing);
    history.replaceState(null, '', '/e/summer-fest');
    expect(load().hits[0].url).toBe(landing);
  });

  describe('on a page the browser prerendered', () => {
    // The browser fires prerenderingchange once, when the visitor opens the page: this test's
    // listeners only (jsdom keeps every earlier test's on the one document).
    let listeners: Array<() => void> = [];
    beforeEach(() => {
      listeners = [];
      vi.spyOn(document, 'addEventListener').mockImplementation((type: string, cb: unknown) => {
        if (type == 'prerenderingchange') listeners.push(cb as () => void);
      });
    });
    const prerender = (on: boolean) => Object.defineProperty(document, 'prerendering', { value: on, configurable: true });
    const open = () => {
      prerender(false);
      listeners.splice(0).map((cb) => cb());
    };
    afterEach(() => void delete (document as { prerendering?: boolean }).prerendering);

    it('sends nothing until the visitor opens it (a page never opened is no visit)', () => {
      prerender(true);
      const t = load();
      t.lt('conversion', { order: 'A-1' });
      expect(t.hits).toEqual([]);
      expect(document.cookie).toBe('');
      open();
      expect(t.hits.map((h) => h.kind ?? 'pageview')).toEqual(['pageview', 'conversion']);
    });

    it('heeds a refusal made before it is opened, and a yes after it', () => {
      prerender(true);
      const t = load();
      t.lt('event', 'signup');
      t.lt('consent', false);
      open();
      expect(t.hits).toEqual([]);
      expect(document.cookie).toBe('');
      t.lt('consent', true);
      expect(t.hits.map((h) => h.kind ?? 'pageview')).toEqual(['pageview']);
    });

    it('with data-consent="required", a yes then a no before it is opened sends nothing', () => {
      prerender(true);
      const t = load({ consent: 'required' });
      t.lt('consent', true);
      t.lt('consent', false);
      open();
      expect(t.hits).toEqual([]);
      expect(document.cookie).toBe('');
    });
  });

  it('asks the collector for its verdict, which conversions do not', () => {
    const t = load();
    t.lt('conversion', { order: 'A-1' });
    expect(t.hits).toHaveLength(2);
    expect(t.waiting()).toBe(1);
  });
});

describe('the visitor id', () => {
  it('is random, at least 96 bits, and the same on the next page', () => {
    const first = load().hits[0].vid as string;
    expect(first).toMatch(ID);
    visit(CHECKOUT, EVENT_PAGE);
    expect(load().hits[0].vid).toBe(first);
  });

  it('differs for another visitor', () => {
    const first = load().hits[0].vid;
    clearCookies();
    visit(EVENT_PAGE);
    expect(load().hits[0].vid).not.toBe(first);
  });

  it('lives in a first-party cookie that is Lax, Secure on https, on the configured domain, for 400 days', () => {
    const set = vi.spyOn(document, 'cookie', 'set');
    load({ cookieDomain: 'example.com' });
    expect(set.mock.calls[0][0]).toMatch(/^_lt_vid=[\w-]{16,64};path=\/;max-age=34560000;samesite=lax;domain=example\.com;secure$/);
    set.mockClear();
    visit('http://shop.example.com/');
    load();
    expect(set.mock.calls[0][0]).toMatch(/^_lt_vid=[\w-]+;path=\/;max-age=34560000;samesite=lax$/);
  });

  it('becomes the collector’s when its verdict names another, for ready(), conversions and the next pages', () => {
    const t = load();
    expect(t.hits[0].vid).not.toBe(SERVER_VID);
    t.answer({ vid: SERVER_VID });
    expect(ready(t.lt)?.vid).toBe(SERVER_VID);
    t.lt('conversion', { order: 'A-1' });
    expect(t.hits[1].vid).toBe(SERVER_VID);
    visit(CHECKOUT, EVENT_PAGE);
    expect(load().hits[0].vid).toBe(SERVER_VID);
  });

  it('stays when the verdict’s is malformed', () => {
    const t = load();
    t.answer({ vid: '<script>' });
    expect(ready(t.lt)?.vid).toBe(t.hits[0].vid);
    expect(document.cookie).toContain(`_lt_vid=${t.hits[0].vid as string}`);
  });
});

describe('the last touch', () => {
  it('is stored from a touch verdict, for 28 days, and given by ready() on a later page', () => {
    const set = vi.spyOn(document, 'cookie', 'set');
    visit(`${EVENT_PAGE}?affiliate=mia&lt_cid=${CID}`);
    const t = load({ cookieDomain: 'example.com' });
    t.answer(MIA);
    expect(set.mock.calls.map(([c]) => c).find((c) => c.startsWith('_lt_t='))).toMatch(
      /;path=\/;max-age=2419200;samesite=lax;domain=example\.com;secure$/,
    );

    visit(CHECKOUT, EVENT_PAGE);
    const next = load();
    next.answer({ channel: 'platform' });
    expect(ready(next.lt)).toEqual({ vid: t.hits[0].vid, clickId: CID, channel: 'affiliate', source: 'instagram', affiliate: 'mia' });
  });

  it('is kept when the verdict is not a touch, even one naming a channel and click id', () => {
    landFromMia();
    visit(`${EVENT_PAGE}?affiliate=bob`, '', 'reload');
    const t = load();
    t.answer({ touch: false, cid: 'Ym9iLWNsaWNrLWlkLTEyMzQ', channel: 'affiliate', affiliate: 'bob' });
    expect(ready(t.lt)).toMatchObject({ clickId: CID, affiliate: 'mia' });
  });

  it('is replaced by a newer touch', () => {
    landFromMia();
    visit(EVENT_PAGE, 'https://www.bing.com/');
    const t = load();
    t.answer({ touch: true, cid: 'YmluZy1jbGljay1pZC0xMjM', channel: 'search', source: 'bing' });
    expect(ready(t.lt)).toMatchObject({ clickId: 'YmluZy1jbGljay1pZC0xMjM', channel: 'search', source: 'bing', affiliate: null });
  });

  it('is not stored from a touch verdict without a usable click id', () => {
    const t = load();
    t.answer({ touch: true, cid: null, channel: 'search', source: 'bing' });
    expect(ready(t.lt)).toMatchObject(NO_TOUCH);
    expect(document.cookie).not.toContain('_lt_t=');
  });

  it('ignores a tampered touch cookie', () => {
    document.cookie = '_lt_t=%7Bnot%20json;path=/';
    const t = load();
    t.answer();
    expect(t.hits).toHaveLength(1);
    expect(ready(t.lt)).toMatchObject(NO_TOUCH);
  });
});

describe('ready()', () => {
  it('waits for the verdict, then gives this page’s touch with the canonical visitor id', () => {
    visit(`${EVENT_PAGE}?affiliate=mia`);
    const t = load();
    const info: ReadyInfo[] = [];
    t.lt('ready', (i) => info.push(i));
    expect(info).toEqual([]);
    t.answer({ ...MIA, vid: SERVER_VID });
    expect(info).toEqual([{ vid: SERVER_VID, clickId: CID, channel: 'affiliate', source: 'instagram', affiliate: 'mia' }]);
  });

  it('gives nulls when there never was a touch', () => {
    const t = load();
    t.answer();
    expect(ready(t.lt)).toEqual({ vid: t.hits[0].vid, ...NO_TOUCH });
  });

  it('gives the stored touch when the request fails', () => {
    const landing = landFromMia();
    visit(CHECKOUT, EVENT_PAGE);
    const t = load();
    expect(ready(t.lt)).toBeUndefined();
    t.answer('failed');
    expect(ready(t.lt)).toEqual({ vid: landing.vid, clickId: CID, channel: 'affiliate', source: 'instagram', affiliate: 'mia' });
  });

  it('answers at once while consent is pending, and from the verdict once consent is given', () => {
    landFromMia();
    visit(CHECKOUT, EVENT_PAGE);
    const t = load({ consent: 'required' });
    expect(ready(t.lt)).toMatchObject({ clickId: CID });
    t.lt('consent', true);
    t.answer({ ...MIA, cid: 'bmV3ZXItY2xpY2staWQtMTI', vid: SERVER_VID });
    expect(ready(t.lt)).toMatchObject({ vid: SERVER_VID, clickId: 'bmV3ZXItY2xpY2staWQtMTI' });
  });

  it('once consent is given, however late, waits for the verdict on the landing and gives its touch', () => {
    visit(`${EVENT_PAGE}?affiliate=mia&lt_cid=${CID}`, 'https://l.instagram.com/');
    vi.useFakeTimers();
    try {
      const t = load({ consent: 'required' });
      expect(ready(t.lt)).toEqual({ vid: expect.stringMatching(ID), ...NO_TOUCH });
      // The visitor reads the banner for a while.
      vi.advanceTimersByTime(10_000);
      t.lt('consent', true);
      const info: ReadyInfo[] = [];
      t.lt('ready', (i) => info.push(i));
      expect(info).toEqual([]);
      t.answer({ ...MIA, vid: SERVER_VID });
      expect(info).toEqual([{ vid: SERVER_VID, clickId: CID, channel: 'affiliate', source: 'instagram', affiliate: 'mia' }]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('once consent is given, stops waiting for a collector that does not answer after two seconds', () => {
    landFromMia();
    visit(CHECKOUT, EVENT_PAGE);
    vi.useFakeTimers();
    try {
      const t = load({ consent: 'required' });
      vi.advanceTimersByTime(10_000);
      t.lt('consent', true);
      expect(ready(t.lt)).toBeUndefined();
      vi.advanceTimersByTime(2000);
      expect(ready(t.lt)).toMatchObject({ clickId: CID, affiliate: 'mia' });
    } finally {
      vi.useRealTimers();
    }
  });

  it('stops waiting for a collector that does not answer after two seconds, with the stored touch', () => {
    landFromMia();
    visit(CHECKOUT, EVENT_PAGE);
    vi.useFakeTimers();
    try {
      const t = load();
      expect(ready(t.lt)).toBeUndefined();
      vi.advanceTimersByTime(2000);
      expect(ready(t.lt)).toMatchObject({ clickId: CID, affiliate: 'mia' });
    } finally {
      vi.useRealTimers();
    }
  });

  it('answers at once when tracking is off', () => {
    vi.stubGlobal('navigator', Object.assign(Object.create(navigator) as Navigator, { webdriver: true }));
    const t = load();
    expect(ready(t.lt)).toEqual({ vid: expect.stringMatching(ID), ...NO_TOUCH });
    expect(t.hits).toEqual([]);
  });

  it('runs every callback even when one throws', () => {
    const warn = warnings();
    const t = load();
    const calls: string[] = [];
    t.lt('ready', () => calls.push('first'));
    t.lt('ready', () => {
      throw new Error('page bug');
    });
    t.lt('ready', () => calls.push('third'));
    expect(() => t.answer()).not.toThrow();
    expect(calls).toEqual(['first', 'third']);
    expect(warn).toHaveBeenCalledOnce();
  });

  it('calls a callback registered from another callback', () => {
    const t = load();
    let inner: ReadyInfo | undefined;
    t.lt('ready', () => t.lt('ready', (i) => (inner = i)));
    t.answer();
    expect(inner?.vid).toBe(t.hits[0].vid);
  });
});

describe('conversions', () => {
  it('carry the visitor and the last touch’s click id', () => {
    const landing = landFromMia();
    visit(CHECKOUT, EVENT_PAGE);
    const { lt, hits } = load({ event: 'summer-fest' });
    lt('conversion', { order: 'A-1001', value: '90.00', currency: 'EUR', items: [{ type: 'day', qty: 2, price: '45.00' }], tickets: 2 });
    expect(hits[1]).toEqual({
      api: 'https://t.example.com',
      kind: 'conversion',
      site: 'acme',
      event: 'summer-fest',
      vid: landing.vid,
      cid: CID,
      order: 'A-1001',
      value: '90.00',
      currency: 'EUR',
      items: [{ type: 'day', qty: 2, price: '45.00' }],
      tickets: 2,
    });
  });

  it('name their own event over the page’s, and no click id before any touch', () => {
    const { lt, hits } = load({ event: 'summer-fest' });
    lt('conversion', { order: 'A-1', value: 10, currency: 'EUR', event: 'winter-fest' });
    expect(hits[1]).toMatchObject({ kind: 'conversion', event: 'winter-fest' });
    expect(hits[1]).not.toHaveProperty('cid');
  });

  it('event() sends a conversion of that type with a minted order', () => {
    const { lt, hits } = load();
    lt('event', 'signup', { plan: 'pro' });
    lt('event', 'form_sent-2');
    expect(hits[1]).toMatchObject({ kind: 'conversion', type: 'signup', plan: 'pro', vid: hits[0].vid });
    expect(hits[1].order).toMatch(ID);
    expect(hits[2]).toMatchObject({ type: 'form_sent-2' });
    expect(hits[2].order).not.toBe(hits[1].order);
  });

  it('event() keeps an order given in its props', () => {
    const { lt, hits } = load();
    lt('event', 'download', { order: 'dl-7' });
    expect(hits[1]).toMatchObject({ type: 'download', order: 'dl-7' });
  });

  it.each(['Signup', 'sign up', 'sign-up!', '1st-visit', '_x', 'x'.repeat(33), '', undefined, 42, ['signup']])(
    'event() with the name %j, which the collector refuses, warns and sends nothing',
    (name) => {
      const warn = warnings();
      const { lt, hits } = load();
      (lt as unknown as (...a: unknown[]) => void)('event', name);
      expect(hits).toHaveLength(1);
      expect(warn).toHaveBeenCalledOnce();
    },
  );
});

describe('consent', () => {
  it('when required, nothing is sent nor stored until consent(true), then the pageview goes first', () => {
    visit(`${EVENT_PAGE}?affiliate=mia&lt_cid=${CID}`);
    const t = load({ consent: 'required' });
    t.lt('conversion', { order: 'A-1', value: 1 });
    expect(t.hits).toEqual([]);
    expect(document.cookie).toBe('');
    t.lt('consent', true);
    expect(t.hits.map((h) => h.kind ?? 'pageview')).toEqual(['pageview', 'conversion']);
    expect(document.cookie).toContain('_lt_vid=');
    t.answer(MIA);
    expect(document.cookie).toContain('_lt_t=');
    t.lt('event', 'signup');
    expect(t.hits[2]).toMatchObject({ type: 'signup', cid: CID });
  });

  it('consent(false) drops what was waiting, sends nothing more and writes no cookie', () => {
    const { lt, hits } = load({ consent: 'required' });
    lt('conversion', { order: 'A-1', value: 1 });
    lt('consent', false);
    lt('conversion', { order: 'A-2', value: 1 });
    expect(hits).toEqual([]);
    expect(document.cookie).toBe('');
  });

  it('consent(false) then consent(true) on the same page sends its pageview, not what was called while declined', () => {
    visit(`${EVENT_PAGE}?affiliate=mia&lt_cid=${CID}`);
    const t = load({ consent: 'required' });
    t.lt('conversion', { order: 'A-1', value: 1 });
    t.lt('consent', false);
    t.lt('conversion', { order: 'A-2', value: 1 });
    expect(t.hits).toEqual([]);
    t.lt('consent', true);
    expect(t.hits).toHaveLength(1);
    expect(t.hits[0]).toMatchObject({ url: `${EVENT_PAGE}?affiliate=mia&lt_cid=${CID}` });
    expect(t.hits[0]!.kind).toBeUndefined();
    t.answer(MIA);
    expect(document.cookie).toContain('_lt_t=');
    // Declined again and accepted again: the pageview went already, it does not go twice.
    t.lt('consent', false);
    t.lt('consent', true);
    expect(t.hits).toHaveLength(1);
  });

  it('sends the landing’s address and referrer even when the page changed its address before consent', () => {
    const landing = `${EVENT_PAGE}?affiliate=mia&utm_source=ig&lt_cid=${CID}`;
    visit(landing, 'https://l.instagram.com/');
    const t = load({ consent: 'required' });
    // A single-page app tidies its address bar, then moves on, before the visitor accepts.
    history.replaceState(null, '', '/e/summer-fest');
    history.pushState(null, '', '/e/summer-fest/tickets');
    t.lt('consent', true);
    expect(t.hits[0]).toMatchObject({ url: landing, referrer: 'https://l.instagram.com/' });
  });

  it('consent(false) deletes the cookies of an earlier consent', () => {
    landFromMia();
    expect(document.cookie).toContain('_lt_t=');
    load().lt('consent', false);
    expect(document.cookie).toBe('');
  });

  it('a verdict arriving after consent(false) stores nothing', () => {
    const t = load();
    t.lt('consent', false);
    t.answer({ ...MIA, vid: SERVER_VID });
    expect(document.cookie).toBe('');
  });
});

describe('silence', () => {
  it('sends nothing and stores nothing when navigator.webdriver is set', () => {
    vi.stubGlobal('navigator', Object.assign(Object.create(navigator) as Navigator, { webdriver: true }));
    const { lt, hits } = load();
    lt('conversion', { order: 'A-1', value: 1 });
    lt('consent', true);
    expect(hits).toEqual([]);
    expect(document.cookie).toBe('');
  });

  it.each([
    'http://localhost:3000/',
    'http://localhost./',
    'http://127.0.0.1:8080/e',
    'http://0.0.0.0:8080/',
    'http://0/',
    'http://[::1]/',
    'http://[::]/',
    'http://shop.localhost/',
    'http://shop.localhost./',
    'file:///home/me/page.html',
  ])(
    'sends nothing on %s unless localhost is allowed',
    (url) => {
      visit(url);
      expect(load().hits).toEqual([]);
      expect(load({ allowLocalhost: '' }).hits).toHaveLength(1);
    },
  );

  it.each(['https://localhost-tickets.com/', 'https://tickets.example.com./', 'https://10.0.0.5/'])('tracks %s, which is not localhost', (url) => {
    visit(url);
    expect(load().hits).toHaveLength(1);
  });

  it('honours Global Privacy Control only when the site asks to', () => {
    vi.stubGlobal('navigator', Object.assign(Object.create(navigator) as Navigator, { globalPrivacyControl: true }));
    expect(load().hits).toHaveLength(1);
    expect(load({ honorGpc: '' }).hits).toEqual([]);
    expect(load({ honorGpc: true }).hits).toEqual([]);
  });
});

describe('misuse', () => {
  it('warns and never throws', () => {
    const warn = warnings();
    const t = load();
    t.answer();
    const call = t.lt as unknown as (...a: unknown[]) => void;
    const cyclic: Record<string, unknown> = { order: 'A-1' };
    cyclic.self = cyclic;
    for (const args of [
      ['nope'],
      [],
      ['conversion'],
      ['conversion', { value: 10 }],
      ['conversion', 'A-1'],
      ['event'],
      ['ready'],
      ['ready', 'not a function'],
      ['conversion', cyclic],
    ])
      expect(() => call(...args)).not.toThrow();
    expect(warn).toHaveBeenCalledTimes(9);
    expect(warn.mock.calls.every(([prefix]) => prefix == 'linktrail:')).toBe(true);
    expect(t.hits).toHaveLength(1);
  });

  it('warns about a ready() callback that is not a function when the verdict comes', () => {
    const warn = warnings();
    const t = load();
    (t.lt as unknown as (...a: unknown[]) => void)('ready', 42);
    expect(() => t.answer()).not.toThrow();
    expect(warn).toHaveBeenCalledOnce();
  });

  it('keeps working when cookies throw', () => {
    warnings();
    const sandboxed = () => {
      throw new DOMException('sandboxed', 'SecurityError');
    };
    Object.defineProperty(document, 'cookie', { get: sandboxed, set: sandboxed, configurable: true });
    try {
      const t = load();
      expect(() => {
        t.answer({ ...MIA, vid: SERVER_VID });
        t.lt('conversion', { order: 'A-1', value: 1 });
        t.lt('consent', false);
      }).not.toThrow();
      expect(t.hits).toHaveLength(2);
      expect(t.hits[1]).toMatchObject({ vid: SERVER_VID, cid: CID });
    } finally {
      delete (document as { cookie?: string }).cookie;
    }
  });

  it('never throws when the transport throws, and ready() still answers', () => {
    const warn = warnings();
    const lt = createTracker(
      { site: 'acme', api: 'https://t.example.com' },
      {
        send: () => {
          throw new Error('boom');
        },
      },
    );
    expect(() => lt('conversion', { order: 'A-1', value: 1 })).not.toThrow();
    expect(warn).toHaveBeenCalledTimes(2);
    expect(ready(lt)).toMatchObject(NO_TOUCH);
  });
});
