import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN, makeApp } from './helper.js';

// Request logs: an API request's lines carry its request id; the public routes log at warn
// only, through one shared logger, and never the client's address.
describe('request logs', () => {
  let close: (() => Promise<void>) | null = null;
  afterEach(async () => {
    await close?.();
    close = null;
  });

  async function logged() {
    const lines: Array<Record<string, any>> = [];
    const t = await makeApp({ logger: { level: 'info', stream: { write: (line: string) => void lines.push(JSON.parse(line)) } } });
    close = t.close;
    return { t, lines };
  }

  it('gives the public routes one shared logger, and each API request its own with its id', async () => {
    const { t } = await logged();
    const loggers: Array<{ url: string; log: object; bindings: Record<string, unknown> }> = [];
    t.app.addHook('onResponse', (request, _reply, done) => {
      loggers.push({ url: request.url, log: request.log, bindings: (request.log as unknown as { bindings(): Record<string, unknown> }).bindings() });
      done();
    });
    await t.app.inject({ method: 'POST', url: '/api/sites', headers: { authorization: `Bearer ${ADMIN}` }, payload: { id: 'acme', name: 'Acme', url: 'https://tickets.example.com' } });
    await t.app.inject({ url: '/api/sites', headers: { authorization: `Bearer ${ADMIN}` } });
    for (let i = 0; i < 2; i++) await t.app.inject({ url: `/p.gif?site=acme&order=o-${i}` });
    const [api1, api2, hit1, hit2] = loggers;
    expect(api1!.log).not.toBe(api2!.log);
    expect(api1!.bindings.reqId).toMatch(/^req-/);
    expect(api1!.bindings.reqId).not.toBe(api2!.bindings.reqId);
    expect(hit1!.log).toBe(hit2!.log);
    expect(hit1!.bindings.reqId).toBeUndefined();
  });

  it('logs API requests with their id, and nothing per hit on the public routes', async () => {
    const { t, lines } = await logged();
    const site = await t.app.inject({
      method: 'POST',
      url: '/api/sites',
      headers: { authorization: `Bearer ${ADMIN}` },
      payload: { id: 'acme', name: 'Acme', url: 'https://tickets.example.com' },
    });
    expect(site.statusCode).toBe(201);
    const api = lines.filter((l) => l.msg === 'request completed');
    expect(api).toHaveLength(1);
    expect(api[0]!.reqId).toMatch(/^req-/);

    lines.length = 0;
    for (let i = 0; i < 3; i++) {
      const pixel = await t.app.inject({ url: `/p.gif?site=acme&order=o-${i}&value=10&currency=EUR`, remoteAddress: '203.0.113.9' });
      expect(pixel.statusCode).toBe(200);
    }
    const pageview = await t.app.inject({
      method: 'POST',
      url: '/collect',
      headers: { 'content-type': 'text/plain', 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0 Safari/537.36' },
      payload: JSON.stringify({ site: 'acme', vid: 'visitor-0123456789', url: 'https://tickets.example.com/e/1' }),
    });
    expect(pageview.statusCode).toBe(204);
    expect(lines).toEqual([]);
  });

  it('logs a failure on a public route at error, with its method and URL but not the address', async () => {
    const { t, lines } = await logged();
    // The store failing under the pixel: a 5xx, logged.
    t.app.ctx.ingest.run = async () => {
      throw new Error('disk on fire');
    };
    const res = await t.app.inject({ url: '/p.gif?site=acme&order=o-1', remoteAddress: '203.0.113.9' });
    expect(res.statusCode).toBe(500);
    const failed = lines.filter((l) => l.msg === 'request failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ level: 50, req: { method: 'GET', url: '/p.gif?site=acme&order=o-1' }, err: { message: 'disk on fire' } });
    expect(JSON.stringify(lines)).not.toContain('203.0.113.9');
  });
});
