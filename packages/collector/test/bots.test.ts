import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BROWSER_UA, EVENT_URL, json, pageview, report, rowFor, setup, type TestApp } from './helper.js';

let t: TestApp;
beforeEach(async () => {
  t = await setup();
  await t.app.inject({ method: 'POST', url: '/api/sites/acme/codes', headers: t.auth, payload: { code: 'mia' } });
});
afterEach(() => t.close());

const hits = async () => Number((await t.sql('SELECT COUNT(*) AS n FROM hits'))[0]!.n);
const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';

describe('bots, crawlers and headless browsers', () => {
  it.each([
    ['Googlebot', 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)'],
    ['Bingbot', 'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)'],
    ['GPTBot', 'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.0; +https://openai.com/gptbot)'],
    ['Facebook link preview', 'facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)'],
    ['WhatsApp link preview', 'WhatsApp/2.23.20.0'],
    ['Slack link preview', 'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)'],
    ['Telegram link preview', 'TelegramBot (like TwitterBot)'],
    ['Discord link preview', 'Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)'],
    ['headless Chrome', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0 Safari/537.36'],
    ['PhantomJS', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/537.36'],
    ['curl', 'curl/8.5.0'],
    ['python-requests', 'python-requests/2.31.0'],
    ['an empty user agent', ''],
  ])('%s landing with ?affiliate= is stored, neither a visit nor a click: a preview', async (_name, ua) => {
    const res = await pageview(t, { vid: 'visitor-aaaa', url: `${EVENT_URL}?affiliate=mia`, referrer: 'https://t.co/x' }, { 'user-agent': ua });
    expect(res.statusCode).toBe(204);
    expect(rowFor(await report(t, 'by=code'), 'mia')).toMatchObject({ visits: 0, clicks: 0, previews: 1 });
    expect((await report(t, 'by=channel')).totals).toMatchObject({ visits: 0, clicks: 0, previews: 1 });
    expect(await hits()).toBe(1);
  });

  it('a preview of a landing counts once on every path; one that followed a shortlink was counted at its redirect', async () => {
    const bot = { 'user-agent': 'Twitterbot/1.0' };
    await pageview(t, { vid: 'visitor-bot1', url: `${EVENT_URL}?affiliate=mia` }, bot);
    const r = await t.app.inject({ method: 'GET', url: '/r/mia', headers: bot });
    const landing = new URL(r.headers.location as string);
    await pageview(t, { vid: 'visitor-bot2', url: landing.toString() }, bot);
    // A reload of the preview counts nothing more.
    await pageview(t, { vid: 'visitor-bot1', url: `${EVENT_URL}?affiliate=mia`, nav: 'reload' }, bot);
    const now = t.clock.now;
    for (const range of ['', `&from=${new Date(now - 3_600_000).toISOString()}&to=${new Date(now + 1).toISOString()}`]) {
      expect(rowFor(await report(t, `by=code${range}`), 'mia'), range).toMatchObject({ visits: 0, clicks: 0, previews: 2 });
    }
    // A person who then opens the shared landing is a click of their own.
    await pageview(t, { vid: 'visitor-person1', url: `${EVENT_URL}?affiliate=mia` });
    expect(rowFor(await report(t, 'by=code'), 'mia')).toMatchObject({ visits: 1, clicks: 1, previews: 2 });
  });

  it('a pageview without any User-Agent header is not a visit', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/collect', headers: { 'content-type': 'text/plain' }, payload: JSON.stringify({ site: 'acme', vid: 'visitor-aaaa', url: EVENT_URL }) });
    expect(res.statusCode).toBe(204);
    expect((await report(t, 'by=channel')).totals.visits).toBe(0);
  });

  it('a headless Chrome that disguises its User-Agent is known by its client hints', async () => {
    await pageview(t, { vid: 'visitor-aaaa', url: `${EVENT_URL}?affiliate=mia` }, { 'user-agent': CHROME, 'sec-ch-ua': '"HeadlessChrome";v="126", "Chromium";v="126"' });
    expect((await report(t, 'by=channel')).totals).toMatchObject({ visits: 0, clicks: 0 });
    await pageview(t, { vid: 'visitor-bbbb', url: `${EVENT_URL}?affiliate=mia` }, { 'user-agent': CHROME, 'sec-ch-ua': '"Google Chrome";v="126", "Chromium";v="126"' });
    expect((await report(t, 'by=channel')).totals).toMatchObject({ visits: 1, clicks: 1 });
  });

  it.each([
    ['Instagram', 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 300.0.0.0'],
    ['Facebook', 'Mozilla/5.0 (Linux; Android 13) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/440.0.0.0;]'],
    ['TikTok', 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 TikTok 32.0'],
  ])("%s's in-app browser is a real visitor", async (_name, ua) => {
    await pageview(t, { vid: 'visitor-aaaa', url: `${EVENT_URL}?affiliate=mia` }, { 'user-agent': ua });
    expect(rowFor(await report(t, 'by=code'), 'mia')).toMatchObject({ visits: 1, clicks: 1 });
  });

  it('the image fallback /collect.gif applies the same rule', async () => {
    const d = encodeURIComponent(JSON.stringify({ site: 'acme', vid: 'visitor-aaaa', url: `${EVENT_URL}?affiliate=mia` }));
    await t.app.inject({ method: 'GET', url: `/collect.gif?d=${d}`, headers: { 'user-agent': 'Twitterbot/1.0' } });
    expect((await report(t, 'by=channel')).totals).toMatchObject({ visits: 0, clicks: 0 });
    expect(await hits()).toBe(1);
  });

  it('server-side hits: a crawler ua is no visit; a hit that names no ua is one', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/sites/acme/hits',
      headers: t.auth,
      payload: { hits: [{ vid: 'visitor-aaaa', url: EVENT_URL, ua: 'Googlebot/2.1' }, { vid: 'visitor-bbbb', url: EVENT_URL }, { vid: 'visitor-cccc', url: EVENT_URL, ua: BROWSER_UA }] },
    });
    expect(json(res)).toEqual({ accepted: 3 });
    expect((await report(t, 'by=channel')).totals).toMatchObject({ visits: 2, visitors: 2 });
  });

  it('a shortlink fetched by a headless browser is a preview, and its landing no click', async () => {
    const headless = { 'user-agent': CHROME, 'sec-ch-ua': '"HeadlessChrome";v="126"' };
    const res = await t.app.inject({ method: 'GET', url: '/r/mia', headers: headless });
    expect(res.statusCode).toBe(302);
    const landing = String(res.headers.location);
    await pageview(t, { vid: 'visitor-aaaa', url: landing }, headless);
    expect(rowFor(await report(t, 'by=code'), 'mia')).toMatchObject({ clicks: 0, previews: 1, visits: 0 });
  });
});
