// What clients send is either refused with a 400 naming the field or stored clean: URLs that
// do not parse, control characters, U+FFFF and the like never reach a link, a report or an
// export (found by an audit: a bad event URL made code lists and shortlinks answer 500, and one
// anonymous pixel could make the organiser's XLSX export unreadable).
import ExcelJS from 'exceljs';
import { connect } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN, EVENT_URL, json, pageview, report, setup, type TestApp } from './helper.js';

let t: TestApp;
beforeEach(async () => {
  t = await setup();
});
afterEach(() => t.close());

const post = (url: string, payload: Record<string, unknown>, auth = t.auth) => t.app.inject({ method: 'POST', url, headers: auth, payload });

describe('URLs that do not parse', () => {
  it.each([
    ['https://[oops', 'a bracket never closed'],
    ['https://tickets.example.com:99999/', 'a port past 65535'],
    ['https://exa mple.com/', 'a space in the host'],
  ])('are refused for a site, an event and a code target with a 400 naming the field: %s (%s)', async (url) => {
    const site = await post('/api/sites', { id: 'other', name: 'Other', url }, { authorization: `Bearer ${ADMIN}` });
    expect(site.statusCode).toBe(400);
    expect(json(site).message).toMatch(/^body\/url must match (format "http-url"|pattern)/);
    const event = await post('/api/sites/acme/events', { id: 'fest', name: 'Fest', url });
    expect(event.statusCode).toBe(400);
    expect(json(event).message).toMatch(/^body\/url /);
    const code = await post('/api/sites/acme/codes', { code: 'mia', target: url });
    expect(code.statusCode).toBe(400);
    expect(json(code).message).toMatch(/^body\/target /);
  });

  it('stored before they were checked, are passed over: the code list and the shortlink go to the next URL that parses', async () => {
    expect((await post('/api/sites/acme/events', { id: 'fest', name: 'Fest', url: EVENT_URL })).statusCode).toBe(201);
    expect((await post('/api/sites/acme/codes', { code: 'mia', event: 'fest' })).statusCode).toBe(201);
    await t.sql("UPDATE events SET url = 'https://[oops' WHERE id = 'fest' RETURNING id");
    const list = await t.app.inject({ method: 'GET', url: '/api/sites/acme/codes', headers: t.auth });
    expect(list.statusCode).toBe(200);
    expect(json(list).codes[0].link).toBe('https://tickets.example.com/?affiliate=mia');
    const follow = await t.app.inject({ method: 'GET', url: '/r/mia', headers: { 'user-agent': 'Mozilla/5.0 Chrome/131' } });
    expect(follow.statusCode).toBe(302);
    expect(follow.headers.location).toMatch(/^https:\/\/tickets\.example\.com\/\?affiliate=mia&lt_cid=/);
    // Nothing left that parses: a 409 that says so, not a 500.
    await t.sql("UPDATE sites SET url = 'https://host:99999/' WHERE id = 'acme' RETURNING id");
    t.app.ctx.sites.forget('acme'); // as the site cache does after 30 s
    const none = await t.app.inject({ method: 'GET', url: '/r/acme/mia' });
    expect([none.statusCode, json(none).error]).toEqual([409, 'unusable_target']);
    expect(json(none).message).toMatch(/tracking code mia has no target URL that parses/);
  });
});

describe('control characters, separators and non-characters', () => {
  it.each([
    ['a C1 control', '\u0085'],
    ['a line separator', '\u2028'],
    ['U+FFFF', '\uffff'],
    ['an escape', '\u001b[2J'],
    // Only JSON can carry one (a query string decodes it to U+FFFD).
    ['a lone surrogate', '\ud800'],
  ])('are refused in an order id, an item type and an email: %s', async (_name, bad) => {
    const email = await post('/api/sites/acme/affiliates', { name: 'Esc', email: `x${bad}@example.com` });
    expect(email.statusCode).toBe(400);
    expect(json(email).message).toMatch(/^body\/email must match pattern/);
    const postback = await post('/api/sites/acme/conversions', { order: `A${bad}1`, value: '1' });
    expect(postback.statusCode).toBe(400);
    expect(json(postback).message).toMatch(/^body\/order must match pattern/);
    if (bad === '\ud800') return;
    const order = await t.app.inject({ method: 'GET', url: `/p.gif?site=acme&order=${encodeURIComponent(`A${bad}1`)}&value=1` });
    expect(order.statusCode).toBe(400);
    expect(order.headers['x-linktrail-error']).toMatch(/order must match pattern/);
    const item = await t.app.inject({ method: 'GET', url: `/p.gif?site=acme&order=A2&value=1&item=${encodeURIComponent(`vip${bad}:1:1`)}` });
    expect(item.statusCode).toBe(400);
    expect(item.headers['x-linktrail-error']).toMatch(/item 1 .*TYPE must be 1 to 64 printable characters/);
    expect(await t.sql('SELECT order_id FROM conversions')).toEqual([]);
  });

  it('are dropped from what a pageview stores: url, referrer, affiliate code and utm values', async () => {
    const url = `${EVENT_URL}?affiliate=mi%0D%0Aa&utm_source=news%C2%85&utm_medium=%1B%5B2J&utm_campaign=x%EF%BF%BFy`;
    const res = await pageview(t, { vid: 'visitor-ctl1', url, referrer: 'https://www.google.com/\u0007' });
    expect(res.statusCode).toBe(204);
    const [hit] = await t.sql('SELECT url, referrer, code, utm_source, utm_medium, utm_campaign FROM hits');
    expect(hit).toEqual({
      // The URL is stored as sent (percent-encoded: printable); the values read from it are decoded and cleaned.
      url,
      referrer: 'https://www.google.com/',
      code: 'mia',
      utm_source: 'news',
      utm_medium: '[2J',
      utm_campaign: 'xy',
    });
    expect(JSON.stringify(await report(t, 'by=utm_campaign&from=2026-06-01&to=2026-06-01'))).not.toMatch(/\\u|\uffff/);
  });

  it('already stored, are replaced in an XLSX export, which stays a file Excel can open', async () => {
    expect((await pageview(t, { vid: 'visitor-ctl2', url: `${EVENT_URL}?utm_source=legacy` })).statusCode).toBe(204);
    // As rows written before ingest dropped them would hold.
    const chr = t.kind === 'postgres' ? 'chr' : 'char';
    await t.sql(`UPDATE visits SET utm_source = 'leg' || ${chr}(65535) || 'acy' || ${chr}(1) RETURNING id`);
    const res = await t.app.inject({ method: 'GET', url: '/api/sites/acme/report?by=utm_source&from=2026-06-01&to=2026-06-01T23:00:00Z&format=xlsx', headers: t.auth });
    expect(res.statusCode).toBe(200);
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(res.rawPayload as unknown as ArrayBuffer);
    expect(workbook.worksheets[0]!.getCell('A2').value).toBe('leg\ufffdacy\ufffd');
  });
});

describe('answers that name the problem', () => {
  const send = (payload: string, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'POST', url: '/api/sites/acme/events', headers: { ...t.auth, 'content-type': 'application/json', ...headers }, payload });

  it('a JSON body that does not parse, holds a prototype key, or is empty', async () => {
    const broken = await send('{"id": }');
    expect([broken.statusCode, json(broken).error]).toEqual([400, 'invalid_json']);
    expect(json(broken).message).toMatch(/^body is not JSON: Unexpected token '}'/);
    const poisoned = await send('{"id": "fest", "__proto__": {"admin": true}}');
    expect(json(poisoned)).toEqual({ error: 'invalid_json', message: 'body is not JSON: Object contains forbidden prototype property' });
    const empty = await send('');
    expect(json(empty)).toEqual({ error: 'invalid_json', message: 'body is empty: send a JSON object' });
  });

  it('a compressed body, refused by its Content-Encoding (it was read as broken JSON)', async () => {
    const api = await send('\u001f\u008b\u0008', { 'content-encoding': 'gzip' });
    expect(api.statusCode).toBe(415);
    expect(json(api)).toEqual({ error: 'unsupported_media_type', message: 'Content-Encoding gzip is not accepted: send the body uncompressed' });
    const beacon = await t.app.inject({ method: 'POST', url: '/collect', headers: { 'content-type': 'text/plain', 'content-encoding': 'br' }, payload: 'xx' });
    expect([beacon.statusCode, json(beacon).message]).toEqual([415, 'Content-Encoding br is not accepted: send the body uncompressed']);
    // A request without a body is not refused for the header.
    const pixel = await t.app.inject({ method: 'GET', url: '/p.gif?site=acme&order=E1&value=1', headers: { 'content-encoding': 'gzip' } });
    expect(pixel.statusCode).toBe(200);
  });

  it('a Content-Type no route takes, naming the type and the one to send', async () => {
    const form = await send('id=fest', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(form.statusCode).toBe(415);
    expect(json(form).message).toBe('Content-Type application/x-www-form-urlencoded is not accepted here: send application/json');
  });

  it('a path that does not decode, in the same { error, message } as every 4xx', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/r/%E0%A4%A' });
    expect(res.statusCode).toBe(400);
    expect(json(res)).toEqual({ error: 'invalid_request', message: "'/r/%E0%A4%A' is not a valid url component" });
  });

  it('a request the HTTP parser refuses (a Content-Length that is no number), with its reason', async () => {
    const address = await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = new URL(address);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () =>
        socket.write('POST /api/sites/acme/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1x\r\n\r\n{}'),
      );
      let data = '';
      socket.on('data', (chunk) => (data += chunk));
      socket.on('close', () => resolve(data));
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toEqual({ error: 'invalid_request', message: expect.stringMatching(/^malformed HTTP request: .*Content-Length/i) });
  });
});
