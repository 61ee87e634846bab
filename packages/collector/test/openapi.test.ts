// The OpenAPI document is generated from the route schemas and served at /docs.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { json, setup, type TestApp } from './helper.js';

let t: TestApp;
beforeEach(async () => {
  t = await setup();
});
afterEach(() => t.close());

const docs = async () => {
  const res = await t.app.inject({ method: 'GET', url: '/docs/json' });
  expect(res.statusCode).toBe(200);
  return json(res);
};

describe('/docs', () => {
  it('serves an OpenAPI 3.1 document listing the main paths', async () => {
    const d = await docs();
    expect(d.openapi).toBe('3.1.0');
    expect(d.info).toMatchObject({ title: 'linktrail collector', version: expect.any(String) });
    expect(Object.keys(d.paths)).toEqual(
      expect.arrayContaining([
        '/api/sites',
        '/api/sites/{site}',
        '/api/sites/{site}/codes',
        '/api/sites/{site}/hits',
        '/api/sites/{site}/conversions',
        '/api/sites/{site}/conversions/{order}',
        '/api/sites/{site}/orders',
        '/api/sites/{site}/orders/{order}/status',
        '/api/sites/{site}/orders/{order}/scans',
        '/api/sites/{site}/report',
        '/api/me/report',
        '/collect',
        '/p.gif',
        '/r/{code}',
      ]),
    );
  });

  it('documents the report query from the route schema, with its formats and bearer security', async () => {
    const report = (await docs()).paths['/api/sites/{site}/report'].get;
    expect(report).toMatchObject({ tags: ['reports'], security: [{ bearer: [] }], summary: expect.any(String) });
    const param = (name: string) => report.parameters.find((p: any) => p.name === name);
    expect(param('by')).toMatchObject({ in: 'query', required: true });
    expect(param('format').schema.enum).toEqual(['json', 'csv', 'xlsx']);
    expect(param('site')).toMatchObject({ in: 'path', required: true });
    expect(report.responses['200'].content['application/json'].schema.properties).toHaveProperty('totals');
    expect(report.responses['4XX'].content['application/json'].schema.required).toEqual(['error', 'message']);
  });

  it('declares the bearer scheme, and public endpoints need none', async () => {
    const d = await docs();
    expect(d.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(d.paths['/p.gif'].get.security).toEqual([]);
    expect(d.paths['/api/sites/{site}/orders'].get.parameters.map((p: any) => p.name)).toEqual(
      expect.arrayContaining(['code', 'affiliate', 'status', 'from', 'to', 'limit', 'cursor']),
    );
  });

  it('leaves demo pages and preflights out', async () => {
    const d = await docs();
    expect(Object.keys(d.paths).some((p) => p.startsWith('/demo') || p === '/promoter')).toBe(false);
    expect(d.paths['/collect'].options).toBeUndefined();
  });

  it('serves Swagger UI at /docs', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/docs' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.body).toMatch(/swagger/i);
  });
});
