import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DAY, EVENT_URL, MINUTE, json, pageview, postback, setup, type TestApp } from './helper.js';

let t: TestApp;
beforeEach(async () => {
  t = await setup();
  for (const code of ['mia', 'sam']) {
    await t.app.inject({ method: 'POST', url: '/api/sites/acme/codes', headers: t.auth, payload: { code } });
  }
});
afterEach(() => t.close());

const click = (vid: string, code: string, referrer = 'https://l.instagram.com/') =>
  pageview(t, { vid, url: `${EVENT_URL}?affiliate=${code}`, referrer });

async function buy(body: Record<string, unknown>) {
  const res = await postback(t, { value: '45.00', ...body });
  expect(res.statusCode).toBe(201);
  return json(res).conversion.attribution;
}

describe('link attribution', () => {
  it.each([
    [27, 'mia'],
    [28, 'mia'],
    [29, null],
  ])('a click %i days before the order credits %s', async (days, expected) => {
    await click('visitor-aaaa', 'mia');
    t.clock.advance(days * DAY);
    const a = await buy({ order: 'o1', vid: 'visitor-aaaa' });
    expect(a.link?.code ?? null).toBe(expected);
  });

  it('a later click on another code takes the credit', async () => {
    await click('visitor-aaaa', 'mia');
    t.clock.advance(2 * DAY);
    await click('visitor-aaaa', 'sam', 'https://t.co/x');
    t.clock.advance(DAY);
    const a = await buy({ order: 'o1', vid: 'visitor-aaaa' });
    expect(a.link.code).toBe('sam');
    expect(a.candidates.filter((c: any) => c.kind === 'click').map((c: any) => [c.code, c.verdict])).toEqual([
      ['sam', 'won'],
      ['mia', 'earlier'],
    ]);
  });

  it('a direct visit after the click does not erase it', async () => {
    await click('visitor-aaaa', 'mia');
    t.clock.advance(3 * DAY);
    await pageview(t, { vid: 'visitor-aaaa', url: EVENT_URL, referrer: '' });
    const a = await buy({ order: 'o1', vid: 'visitor-aaaa' });
    expect(a.link.code).toBe('mia');
    expect(a.channel).toBe('affiliate');
  });

  it('an event-scoped code credits only orders for its event', async () => {
    for (const id of ['fest', 'gig']) {
      await t.app.inject({ method: 'POST', url: '/api/sites/acme/events', headers: t.auth, payload: { id, name: id, url: `https://tickets.example.com/e/${id}` } });
    }
    await t.app.inject({ method: 'POST', url: '/api/sites/acme/codes', headers: t.auth, payload: { code: 'fest-only', event: 'fest' } });
    await click('visitor-aaaa', 'fest-only');
    t.clock.advance(MINUTE);
    expect((await buy({ order: 'o-gig', vid: 'visitor-aaaa', event: 'gig' })).link).toBeNull();
    expect((await buy({ order: 'o-fest', vid: 'visitor-aaaa', event: 'fest' })).link.code).toBe('fest-only');
  });

  it('a common code is passed over for an event order only by a later eligible click', async () => {
    await t.app.inject({ method: 'POST', url: '/api/sites/acme/events', headers: t.auth, payload: { id: 'gig', name: 'gig', url: 'https://tickets.example.com/e/gig' } });
    await t.app.inject({ method: 'POST', url: '/api/sites/acme/events', headers: t.auth, payload: { id: 'fest', name: 'fest', url: 'https://tickets.example.com/e/fest' } });
    await t.app.inject({ method: 'POST', url: '/api/sites/acme/codes', headers: t.auth, payload: { code: 'fest-only', event: 'fest' } });
    await click('visitor-aaaa', 'mia');
    t.clock.advance(MINUTE);
    await click('visitor-aaaa', 'fest-only');
    t.clock.advance(MINUTE);
    const a = await buy({ order: 'o-gig', vid: 'visitor-aaaa', event: 'gig' });
    expect(a.link.code).toBe('mia');
    expect(a.candidates.find((c: any) => c.code === 'fest-only').verdict).toBe('other_event');
  });

  it('a conversion known only by its click id is credited to that click', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/r/mia', headers: { 'user-agent': 'Mozilla/5.0 (Windows NT 10.0) Chrome/120.0 Safari/537.36' } });
    const cid = new URL(res.headers.location as string).searchParams.get('lt_cid');
    const a = await buy({ order: 'o1', cid });
    expect(a.link).toMatchObject({ code: 'mia', cid });
  });

  it('a conversion known only by the click id of a search landing finds its visitor, who came from search', async () => {
    const landing = json(await pageview(t, { vid: 'visitor-aaaa', url: EVENT_URL, referrer: 'https://www.google.com/' }, { accept: 'application/json' }));
    expect(landing).toMatchObject({ channel: 'search', touch: true });
    t.clock.advance(3 * DAY);
    // The page hands the touch's cid to checkout (linktrail('ready')); the shop's server posts it.
    const a = await buy({ order: 'o1', cid: landing.cid });
    expect(a).toMatchObject({ channel: 'search', source: 'google', rule: 'link:none channel:last_touch' });
  });

  it('a conversion known only by a click id of its own that a server hit brought finds that visitor', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/sites/acme/hits',
      headers: t.auth,
      payload: { hits: [{ vid: 'visitor-aaaa', url: EVENT_URL, referrer: 'https://www.google.com/', cid: 'shop-own-click-id-0001', ua: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0' }] },
    });
    expect(res.statusCode).toBe(202);
    t.clock.advance(DAY);
    const a = await buy({ order: 'o1', cid: 'shop-own-click-id-0001' });
    expect(a).toMatchObject({ channel: 'search', source: 'google' });
  });

  it('click ids of visits stored before they carried their time are found again after the upgrade (migration 0005)', async () => {
    const ts = t.clock.now - DAY;
    // As an older collector left them: a 16-character touch id, on a visit only.
    await t.remigrate(
      `DROP TABLE visit_cids;
       INSERT INTO visits (site_id, ts, vid, cid, event, channel, source, code, utm_source, utm_medium, utm_campaign, touch)
       VALUES ('acme', ${ts}, 'visitor-aaaa', 'AbCdEfGhIjKlMnOp', NULL, 'email', 'newsletter', NULL, NULL, NULL, NULL, 1);`,
      5,
    );
    const a = await buy({ order: 'o1', cid: 'AbCdEfGhIjKlMnOp' });
    expect(a).toMatchObject({ channel: 'email', source: 'newsletter' });
  });

  it('a click id that names no stored click or touch is unattributed, whatever its form', async () => {
    await pageview(t, { vid: 'visitor-aaaa', url: EVENT_URL, referrer: 'https://www.google.com/' });
    // A touch id shaped like ours with a time no visit has, and ids of other shapes.
    const forged = `t${t.clock.now.toString(36).padStart(9, '0')}AAAAAAAAAAAAAAAA`;
    for (const [order, cid] of [['o1', forged], ['o2', 'some-custom-click-id'], ['o3', 'tzzzzzzzzzAAAAAAAAAAAAAAAA']]) {
      const a = await buy({ order, cid });
      expect(a.channel).toBe('unattributed');
    }
  });

  it('an unknown visitor is unattributed', async () => {
    const a = await buy({ order: 'o1', vid: 'never-seen-1' });
    expect(a.link).toBeNull();
    expect(a.channel).toBe('unattributed');
    expect(a.rule).toBe('link:none channel:unattributed');
  });
});

describe('channel attribution', () => {
  it('the latest touch wins over later platform and direct visits', async () => {
    await pageview(t, { vid: 'visitor-aaaa', url: EVENT_URL, referrer: 'https://www.google.de/' });
    t.clock.advance(DAY);
    await pageview(t, { vid: 'visitor-aaaa', url: EVENT_URL, referrer: '' });
    t.clock.advance(DAY);
    await pageview(t, { vid: 'visitor-aaaa', url: EVENT_URL, referrer: 'https://blog.example.com/post' });
    const a = await buy({ order: 'o1', vid: 'visitor-aaaa' });
    expect([a.channel, a.source, a.rule]).toEqual(['search', 'google', 'link:none channel:last_touch']);
  });

  it('with no touch in the window, the latest visit gives the channel', async () => {
    await pageview(t, { vid: 'visitor-aaaa', url: EVENT_URL, referrer: '' });
    t.clock.advance(2 * DAY);
    await pageview(t, { vid: 'visitor-aaaa', url: EVENT_URL, referrer: 'https://www.example.com/' });
    const a = await buy({ order: 'o1', vid: 'visitor-aaaa' });
    expect([a.channel, a.rule]).toEqual(['platform', 'link:none channel:last_visit']);
  });

  it('utm tags of the winning touch are kept with the order', async () => {
    await pageview(t, { vid: 'visitor-aaaa', url: `${EVENT_URL}?utm_source=newsletter&utm_medium=email&utm_campaign=june`, referrer: '' });
    const a = await buy({ order: 'o1', vid: 'visitor-aaaa' });
    expect(a).toMatchObject({ channel: 'email', source: 'newsletter', utm: { source: 'newsletter', medium: 'email', campaign: 'june' } });
  });
});

describe('explanation', () => {
  it('GET conversions/:order shows the candidates and the rule', async () => {
    await click('visitor-aaaa', 'mia');
    t.clock.advance(30 * DAY);
    await click('visitor-aaaa', 'sam');
    t.clock.advance(DAY);
    await buy({ order: 'o1', vid: 'visitor-aaaa' });
    const res = await t.app.inject({ method: 'GET', url: '/api/sites/acme/conversions/o1', headers: t.auth });
    expect(res.statusCode).toBe(200);
    const body = json(res);
    expect(body.attribution.rule).toBe('link:last_click channel:last_touch');
    expect(body.attribution.candidates.filter((c: any) => c.kind === 'click').map((c: any) => c.verdict)).toEqual(['won', 'outside_window']);
  });

  it('an unknown order is a 404', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/sites/acme/conversions/nope', headers: t.auth });
    expect(res.statusCode).toBe(404);
    expect(json(res).error).toBe('not_found');
  });
});

describe('many later candidates', () => {
  it('a touch followed by 25 direct visits still gives the channel', async () => {
    await pageview(t, { vid: 'visitor-aaaa', url: EVENT_URL, referrer: 'https://l.instagram.com/' });
    for (let i = 0; i < 25; i++) {
      t.clock.advance(40 * MINUTE);
      await pageview(t, { vid: 'visitor-aaaa', url: EVENT_URL, referrer: '' });
    }
    const a = await buy({ order: 'o1', vid: 'visitor-aaaa' });
    expect([a.channel, a.source, a.rule]).toEqual(['social', 'instagram', 'link:none channel:last_touch']);
  });

  it('an eligible click behind 25 clicks on another event’s code still wins', async () => {
    for (const id of ['fest', 'gig']) {
      await t.app.inject({ method: 'POST', url: '/api/sites/acme/events', headers: t.auth, payload: { id, name: id, url: `https://tickets.example.com/e/${id}` } });
    }
    await t.app.inject({ method: 'POST', url: '/api/sites/acme/codes', headers: t.auth, payload: { code: 'gig-only', event: 'gig' } });
    await click('visitor-aaaa', 'mia');
    for (let i = 0; i < 25; i++) {
      t.clock.advance(MINUTE);
      await click('visitor-aaaa', 'gig-only');
    }
    const a = await buy({ order: 'o1', vid: 'visitor-aaaa', event: 'fest' });
    expect(a.link.code).toBe('mia');
  });
});
