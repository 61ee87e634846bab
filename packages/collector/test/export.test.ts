// CSV and XLSX exports carry the JSON report's rows and columns, read back with real parsers.
import { parse } from 'csv-parse/sync';
import ExcelJS from 'exceljs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { seedDemo } from '../src/demo-seed.js';
import { reportCsv } from '../src/export.js';
import { emptyRow } from '../src/report.js';
import { EVENT_URL, MINUTE, json, makeApp, pageview, postback, report, setup, type TestApp, addMia } from './helper.js';

let t: TestApp;
beforeEach(async () => {
  t = await setup();
  await addMia(t);
});
afterEach(() => t.close());

const CAMPAIGN = '=HYPERLINK("http://evil.example","x"), "summer"\nfest';
/** As stored: ingest drops control characters (input-hygiene.test.ts). */
const STORED_CAMPAIGN = CAMPAIGN.replace('\n', '');

async function sales() {
  const q = new URLSearchParams({ affiliate: 'mia', utm_source: 'ig', utm_medium: 'social', utm_campaign: CAMPAIGN });
  await pageview(t, { vid: 'visitor-ana1', url: `${EVENT_URL}?${q}`, referrer: 'https://l.instagram.com/' });
  await pageview(t, { vid: 'visitor-bo11', url: `${EVENT_URL}?utm_source=google&utm_campaign=-2%2B3`, referrer: 'https://www.google.com/' });
  await pageview(t, { vid: 'visitor-cy11', url: EVENT_URL, referrer: '' });
  t.clock.advance(MINUTE);
  await postback(t, { order: 'A1', vid: 'visitor-ana1', items: [{ type: 'vip', qty: 2, price: '45.50' }] });
  await postback(t, { order: 'B1', vid: 'visitor-bo11', value: '4500', currency: 'JPY', tickets: 1 });
  await postback(t, { order: 'K1', vid: 'visitor-bo11', value: '12.345', currency: 'KWD', tickets: 1 });
  await postback(t, { order: 'S1', vid: 'visitor-cy11', type: 'signup' });
  await t.app.inject({ method: 'POST', url: '/api/sites/acme/orders/A1/scans', headers: t.auth, payload: { scanned: 1 } });
}

const download = (qs: string) => t.app.inject({ method: 'GET', url: `/api/sites/acme/report?${qs}`, headers: t.auth });
const csv = async (qs: string) => parse((await download(`${qs}&format=csv`)).body, { relax_column_count: false }) as string[][];

async function xlsx(qs: string) {
  const res = await download(`${qs}&format=xlsx`);
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.load(res.rawPayload as unknown as ArrayBuffer);
  const sheet = workbook.worksheets[0]!;
  const rows: unknown[][] = [];
  sheet.eachRow({ includeEmpty: false }, (row) => rows.push((row.values as unknown[]).slice(1)));
  return { res, sheet, rows };
}

const HEADER = ['visits', 'visitors', 'clicks', 'previews', 'orders', 'tickets', 'revenue_EUR', 'revenue_JPY', 'revenue_KWD',
  'conversion_rate', 'new_customers', 'scanned', 'unscanned', 'attendance_rate', 'conversions_signup'];

describe('CSV export', () => {
  it('answers a UTF-8 CSV attachment named for the site, dimensions and days', async () => {
    await sales();
    const res = await download('by=code,ticket_type&from=2026-05-01&to=2026-06-01&format=csv');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toBe('attachment; filename="linktrail-acme-code+ticket_type-2026-05-01-2026-06-01.csv"');
  });

  it('has the JSON rows and columns, money in major units and a final totals row', async () => {
    await sales();
    const j = await report(t, 'by=channel');
    const [header, ...lines] = await csv('by=channel');
    expect(header).toEqual(['channel', ...HEADER]);
    expect(lines).toHaveLength(j.rows.length + 1);
    expect(lines.map((l) => l[0])).toEqual([...j.rows.map((r: any) => r.key), 'Total']);
    // Every cell is the JSON figure: counts and rates as written, revenue in major units.
    [...j.rows, j.totals].forEach((row: any, i: number) => {
      header!.slice(1).forEach((name, c) => {
        const [, cur] = /^revenue_(\w+)$/.exec(name) ?? [];
        const [, goal] = /^conversions_(\w+)$/.exec(name) ?? [];
        const expected = cur ? row.revenue[cur] ?? 0 : goal ? row.conversions[goal] ?? 0 : row[name];
        const cell = lines[i]![c + 1]!;
        if (cur) expect(Math.round(Number(cell) * 10 ** { EUR: 2, JPY: 0, KWD: 3 }[cur]!), `${name} of row ${i}`).toBe(expected);
        else expect(cell, `${name} of row ${i}`).toBe(expected === null ? '' : String(expected));
      });
    });
    const affiliate = Object.fromEntries(header!.map((h, i) => [h, lines.find((l) => l[0] === 'affiliate')![i]]));
    expect(affiliate).toMatchObject({ channel: 'affiliate', visits: '1', orders: '1', tickets: '2', revenue_EUR: '91.00', revenue_JPY: '0', revenue_KWD: '0.000', scanned: '1', attendance_rate: '0.5', conversion_rate: '1' });
    const total = Object.fromEntries(header!.map((h, i) => [h, lines.at(-1)![i]]));
    expect(total).toMatchObject({ channel: 'Total', visits: '3', orders: '3', revenue_EUR: '91.00', revenue_JPY: '4500', revenue_KWD: '12.345', conversions_signup: '1' });
  });

  it('quotes commas, quotes and line breaks, and neutralises formulas in keys', async () => {
    await sales();
    const lines = await csv('by=utm_campaign');
    const keys = lines.slice(1).map((l) => l[0]);
    expect(keys).toContain(`'${STORED_CAMPAIGN}`);
    expect(keys).toContain("'-2+3");
    expect(keys).toContain('');
    expect(keys.every((k) => !/^[=+\-@\t\r]/.test(k!))).toBe(true);
  });

  it('quotes a line break in a key (rows stored before ingest dropped them)', () => {
    const row = (key: string) => ({ key, ...emptyRow() });
    const text = reportCsv({ by: 'utm_campaign', from: '2026-06-01T00:00:00.000Z', to: '2026-06-02T00:00:00.000Z', event: null, rows: [row('summer\nfest, "x"')], totals: emptyRow() });
    expect((parse(text) as string[][])[1]![0]).toBe('summer\nfest, "x"');
  });

  it('writes two-level keys as two columns and null keys as empty cells', async () => {
    await sales();
    const [header, ...lines] = await csv('by=code,ticket_type');
    expect(header!.slice(0, 3)).toEqual(['code', 'ticket_type', 'visits']);
    expect(lines).toContainEqual(expect.arrayContaining(['mia', 'vip']));
    expect(lines.at(-1)!.slice(0, 2)).toEqual(['Total', '']);
  });

  it('keeps an order at the ceiling of 10^12 minor units exact', async () => {
    await postback(t, { order: 'big', value: '9999999999.99', tickets: 1 });
    const [header, ...lines] = await csv('by=channel');
    expect(lines.at(-1)![header!.indexOf('revenue_EUR')]).toBe('9999999999.99');
  });

  it('an empty report still has its header and totals', async () => {
    const lines = await csv('by=day');
    expect(lines).toEqual([
      ['day', 'visits', 'visitors', 'clicks', 'previews', 'orders', 'tickets', 'conversion_rate', 'new_customers', 'scanned', 'unscanned', 'attendance_rate'],
      ['Total', '0', '0', '0', '0', '0', '0', '', '0', '0', '0', ''],
    ]);
  });

  it('by=affiliate carries the parent and the team roll-up', async () => {
    await sales();
    const [header] = await csv('by=affiliate');
    expect(header).toEqual(expect.arrayContaining(['affiliate', 'parent', 'team_orders', 'team_revenue_EUR']));
  });

  it('by=affiliate leaves every team cell empty in the no-affiliate row and the totals, in CSV and XLSX', async () => {
    await sales();
    await postback(t, { order: 'S2', vid: 'visitor-ana1', type: 'signup' });
    const [header, ...lines] = await csv('by=affiliate');
    expect(header).toEqual(expect.arrayContaining(['team_orders', 'team_revenue_EUR', 'team_conversions_signup']));
    const team = header!.flatMap((h, i) => (h.startsWith('team_') ? [i] : []));
    const teamCells = (line: unknown[]) => team.map((i) => line[i] ?? '');
    const line = (key: string) => lines.find((l) => l[0] === key)!;
    expect(Object.fromEntries(team.map((i) => [header![i], line('mia')[i]]))).toMatchObject({ team_orders: '1', team_revenue_EUR: '91.00', team_conversions_signup: '1' });
    for (const key of ['', 'Total']) expect(teamCells(line(key)), key).toEqual(team.map(() => ''));
    const { rows } = await xlsx('by=affiliate');
    for (const key of ['', 'Total']) expect(teamCells(rows.find((r) => (r[0] ?? '') === key)!), key).toEqual(team.map(() => ''));
  });
});

describe('XLSX export', () => {
  it('answers a workbook attachment with the same header and rows as the CSV', async () => {
    await sales();
    const { res, rows } = await xlsx('by=channel&from=2026-06-01&to=2026-06-01');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    expect(res.headers['content-disposition']).toBe('attachment; filename="linktrail-acme-channel-2026-06-01-2026-06-01.xlsx"');
    const lines = await csv('by=channel&from=2026-06-01&to=2026-06-01');
    expect(rows[0]).toEqual(lines[0]);
    expect(rows.map((r) => r[0] ?? '')).toEqual(lines.map((l) => l[0]));
  });

  it('holds numbers as numbers, money in major units with the currency decimals', async () => {
    await sales();
    const { sheet, rows } = await xlsx('by=channel');
    const header = rows[0] as string[];
    const total = sheet.getRow(rows.length);
    const cell = (name: string) => total.getCell(header.indexOf(name) + 1);
    expect(cell('channel').value).toBe('Total');
    expect(cell('orders').value).toBe(3);
    expect(cell('revenue_EUR').value).toBe(91);
    expect(cell('revenue_EUR').numFmt).toBe('0.00');
    expect(cell('revenue_JPY').value).toBe(4500);
    expect(cell('revenue_JPY').numFmt).toBe('0');
    expect(cell('revenue_KWD').value).toBe(12.345);
    expect(cell('revenue_KWD').numFmt).toBe('0.000');
    expect(cell('attendance_rate').value).toBe(0.25);
    expect(cell('conversions_signup').value).toBe(1);
  });

  it('stores keys as the text itself, never as formulas (no CSV apostrophe)', async () => {
    await sales();
    const { sheet, rows } = await xlsx('by=utm_campaign');
    const keys = rows.slice(1, -1).map((r) => r[0] ?? null);
    expect(keys).toContain(STORED_CAMPAIGN);
    expect(keys).toContain('-2+3');
    // The same keys as the JSON, in the same order.
    expect(keys).toEqual((await report(t, 'by=utm_campaign')).rows.map((r: any) => r.key));
    sheet.eachRow((row) => row.eachCell((c) => expect([ExcelJS.ValueType.String, ExcelJS.ValueType.Number]).toContain(c.type)));
  });

  it('holds the largest exact order as the nearest spreadsheet number', async () => {
    await postback(t, { order: 'big', value: '9999999999.99', tickets: 1 });
    const { sheet, rows } = await xlsx('by=channel');
    const header = rows[0] as string[];
    expect(sheet.getRow(rows.length).getCell(header.indexOf('revenue_EUR') + 1).value).toBeCloseTo(9999999999.99, 2);
  });
});

describe('export requests', () => {
  it('a promoter exports their own report too', async () => {
    const invite = await t.app.inject({ method: 'POST', url: '/api/sites/acme/promoters', headers: t.auth, payload: { affiliate: 'mia' } });
    const token = json(invite).token as string;
    await sales();
    const res = await t.app.inject({ method: 'GET', url: '/api/me/report?by=code&format=csv', headers: { authorization: `Bearer ${token}` } });
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    const lines = parse(res.body) as string[][];
    expect(lines.slice(1, -1).map((l) => l[0])).toEqual(['mia']);
  });

  it("the demo site's open report downloads as CSV", async () => {
    const demo = await makeApp({ demoDir: fileURLToPath(new URL('../../../examples/', import.meta.url)) });
    try {
      await seedDemo(demo.app.ctx);
      const res = await demo.app.inject({ method: 'GET', url: '/demo/report?by=code&format=csv' });
      expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
      expect((parse(res.body) as string[][])[0]!.slice(0, 2)).toEqual(['code', 'visits']);
    } finally {
      await demo.close();
    }
  });

  it('an unknown format is a 400 naming format and the formats there are, for a promoter too', async () => {
    const invite = await t.app.inject({ method: 'POST', url: '/api/sites/acme/promoters', headers: t.auth, payload: { affiliate: 'mia' } });
    const promoter = { authorization: `Bearer ${json(invite).token}` };
    for (const res of [await download('by=code&format=pdf'), await t.app.inject({ method: 'GET', url: '/api/me/report?by=code&format=XLSX', headers: promoter })]) {
      expect(res.statusCode).toBe(400);
      expect(json(res)).toEqual({ error: 'invalid_request', message: 'querystring/format must be equal to one of the allowed values: json, csv, xlsx' });
    }
  });
});
