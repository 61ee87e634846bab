// A database that can't serve a request now (shutting down, connection lost or refused, too
// slow) is a 503 database_unavailable with Retry-After, never a bare 500; pixels still answer
// their GIF. Other failures stay 500 internal.
import { afterEach, describe, expect, it } from 'vitest';
import { FROM_DATABASE, UNAVAILABLE_LOG_EVERY } from '../src/errors.js';
import { ADMIN, BROWSER_UA, EVENT_URL, makeApp, setup, type TestApp } from './helper.js';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const fail = (message: string, code: string, fromDatabase = true) =>
  Object.assign(new Error(message), { code }, fromDatabase ? { [FROM_DATABASE]: true } : {});

/** Makes the store's `method` throw `error` from now on. */
function breakStore(app: TestApp, method: 'getSite' | 'report' | 'recordHits', error: Error) {
  const store = app.app.ctx.store as unknown as Record<string, unknown>;
  store[method] = async () => {
    throw error;
  };
}

describe('the database unavailable', () => {
  it('a database shutting down answers 503 database_unavailable with Retry-After, on the API and public routes', async () => {
    t = await setup();
    t.app.ctx.sites.forget('acme');
    breakStore(t, 'getSite', fail('terminating connection due to administrator command', '57P01', false));
    breakStore(t, 'report', fail('terminating connection due to administrator command', '57P01', false));

    const hit = await t.app.inject({
      method: 'POST', url: '/collect', headers: { 'content-type': 'text/plain', 'user-agent': BROWSER_UA },
      payload: JSON.stringify({ site: 'acme', vid: 'visitor-0123456789ab', url: EVENT_URL }),
    });
    expect(hit.statusCode).toBe(503);
    expect(hit.headers['retry-after']).toBe('5');
    expect(hit.json()).toEqual({ error: 'database_unavailable', message: 'the database is restarting; try again shortly' });

    const pixel = await t.app.inject({ method: 'GET', url: '/p.gif?site=acme&order=A1&value=10.00', headers: { 'user-agent': BROWSER_UA } });
    expect(pixel.statusCode).toBe(503);
    expect(pixel.headers['content-type']).toBe('image/gif');
    expect(pixel.headers['retry-after']).toBe('5');
    expect(pixel.headers['x-linktrail-error']).toBe('the database is restarting; try again shortly');

    const report = await t.app.inject({ method: 'GET', url: '/api/sites/acme/report?by=channel', headers: t.auth });
    expect([report.statusCode, report.json().error]).toEqual([503, 'database_unavailable']);
  });

  it('a connection the database client lost or could not open is a 503; the same error from elsewhere stays a 500', async () => {
    t = await setup();
    const collect = () =>
      t!.app.inject({
        method: 'POST', url: '/collect', headers: { 'content-type': 'text/plain', 'user-agent': BROWSER_UA },
        payload: JSON.stringify({ site: 'acme', vid: 'visitor-0123456789ab', url: EVENT_URL }),
      });
    const cases: Array<[Error, number, string]> = [
      [fail('connect ECONNREFUSED 10.0.0.5:5432', 'ECONNREFUSED'), 503, 'the database is unreachable; try again shortly'],
      [fail('Connection terminated unexpectedly', ''), 503, 'the database is unreachable; try again shortly'],
      // Five capitals like a SQLSTATE, but a broken pipe.
      [fail('write EPIPE', 'EPIPE'), 503, 'the database is unreachable; try again shortly'],
      [fail('timeout exceeded when trying to connect', ''), 503, 'the database did not answer in time; try again shortly'],
      [fail('Query read timeout', ''), 503, 'the database did not answer in time; try again shortly'],
      [fail('Connection terminated due to connection timeout', ''), 503, 'the database did not answer in time; try again shortly'],
      [fail('could not receive data from server', '08006', false), 503, 'the connection to the database failed; try again shortly'],
      [fail('canceling statement due to statement timeout', '57014', false), 503, 'the database did not answer in time; try again shortly'],
      [fail('sorry, too many clients already', '53300', false), 503, 'the database has no free connection; try again shortly'],
      [fail('connect ECONNREFUSED 10.0.0.5:25', 'ECONNREFUSED', false), 500, 'internal error'],
      [fail('duplicate key value violates unique constraint', '23505', false), 500, 'internal error'],
    ];
    for (const [error, status, message] of cases) {
      breakStore(t, 'recordHits', error);
      const res = await collect();
      expect([error.message, res.statusCode, res.json().message]).toEqual([error.message, status, message]);
      expect(res.headers['retry-after']).toBe(status === 503 ? '5' : undefined);
    }
  });

  it('an outage logs one line per 10 s, with how many failures it did not log', async () => {
    const lines: Array<Record<string, any>> = [];
    const made = await makeApp({ logger: { level: 'info', stream: { write: (line: string) => void lines.push(JSON.parse(line)) } } });
    t = { ...made, token: '', site: 'acme', auth: {} } as TestApp;
    await t.app.inject({ method: 'POST', url: '/api/sites', headers: { authorization: `Bearer ${ADMIN}` }, payload: { id: 'acme', name: 'Acme', url: 'https://tickets.example.com' } });
    breakStore(t, 'recordHits', fail('Connection terminated unexpectedly', ''));
    const collect = () =>
      t!.app.inject({
        method: 'POST', url: '/collect', headers: { 'content-type': 'text/plain', 'user-agent': BROWSER_UA },
        payload: JSON.stringify({ site: 'acme', vid: 'visitor-0123456789ab', url: EVENT_URL }),
      });
    const failures = () => lines.filter((l) => l.msg === 'request failed: database unavailable');
    for (let i = 0; i < 5; i++) expect((await collect()).statusCode).toBe(503);
    expect(failures().map((l) => [l.level, l.unlogged, l.err?.message])).toEqual([[50, 0, 'Connection terminated unexpectedly']]);
    t.clock.now += UNAVAILABLE_LOG_EVERY;
    for (let i = 0; i < 2; i++) expect((await collect()).statusCode).toBe(503);
    expect(failures().map((l) => l.unlogged)).toEqual([0, 4]);
  });
});
