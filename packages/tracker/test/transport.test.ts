// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Verdict } from '../src/index';
import { transport } from '../src/transport';

const API = 'https://t.example.com';
const BODY = JSON.stringify({ site: 'acme', vid: 'dmlzaXRvci1pZC0xMjM0NTY', url: 'https://shop.example.com/?a=1&b=é' });
const VERDICT: Verdict = { vid: 'dmlzaXRvci1pZC0xMjM0NTY', cid: null, channel: 'direct', source: null, affiliate: null, touch: false };

type Fetch = (url: string, init: RequestInit) => Promise<unknown>;

/** A browser with the given ways to send; records what went out, in order. */
function browser({ beacon, fetch }: { beacon?: (url: string, body: string) => boolean; fetch?: Fetch }) {
  const sent: string[] = [];
  const images: string[] = [];
  vi.stubGlobal('navigator', {
    sendBeacon:
      beacon &&
      ((url: string, body: string) => {
        sent.push('beacon');
        return beacon(url, body);
      }),
  });
  const fetchSpy =
    fetch &&
    vi.fn((url: string, init: RequestInit) => {
      sent.push('fetch');
      return fetch(url, init);
    });
  vi.stubGlobal('fetch', fetchSpy);
  vi.stubGlobal(
    'Image',
    class {
      set src(url: string) {
        sent.push('image');
        images.push(url);
      }
    },
  );
  return { sent, images, fetch: fetchSpy };
}

/** A pageview through the transport; resolves with what its answer callback got. */
function pageview(): Promise<Verdict | undefined> {
  return new Promise((resolve) => transport(API, BODY, resolve));
}

const json = (body: unknown) => () => Promise.resolve({ json: () => Promise.resolve(body) });
const noContent = () => Promise.resolve({ json: () => Promise.reject(new SyntaxError('Unexpected end of JSON input')) });
const throws = () => {
  throw new TypeError('Illegal invocation');
};

afterEach(() => vi.unstubAllGlobals());

describe('the pageview', () => {
  it('goes by a keepalive, credentialed fetch asking for JSON, and the verdict is answered', async () => {
    const b = browser({ beacon: () => true, fetch: json(VERDICT) });
    await expect(pageview()).resolves.toEqual(VERDICT);
    expect(b.fetch).toHaveBeenCalledWith(`${API}/collect`, {
      method: 'POST',
      body: BODY,
      keepalive: true,
      credentials: 'include',
      headers: { Accept: 'application/json' },
    });
    expect(b.sent).toEqual(['fetch']);
  });

  it('is answered with nothing when the collector sends no JSON', async () => {
    const b = browser({ beacon: () => true, fetch: noContent });
    await expect(pageview()).resolves.toBeUndefined();
    expect(b.sent).toEqual(['fetch']);
  });

  it('is not sent again when the fetch rejects, since it may have reached the collector', async () => {
    const b = browser({ beacon: () => true, fetch: () => Promise.reject(new TypeError('Failed to fetch')) });
    await expect(pageview()).resolves.toBeUndefined();
    expect(b.sent).toEqual(['fetch']);
  });

  it('falls back to sendBeacon without fetch, answered with nothing', async () => {
    const b = browser({ beacon: () => true });
    await expect(pageview()).resolves.toBeUndefined();
    expect(b.sent).toEqual(['beacon']);
  });

  it('falls back to sendBeacon when fetch throws, then to the image when sendBeacon refuses', async () => {
    const b = browser({ beacon: () => false, fetch: throws });
    await expect(pageview()).resolves.toBeUndefined();
    expect(b.sent).toEqual(['fetch', 'beacon', 'image']);
  });

  it('falls back to the image when sendBeacon throws', async () => {
    const b = browser({ beacon: throws });
    await expect(pageview()).resolves.toBeUndefined();
    expect(b.sent).toEqual(['beacon', 'image']);
  });
});

describe('a conversion', () => {
  it('goes by sendBeacon to /collect as a string, and nothing else', () => {
    const beacon = vi.fn(() => true);
    const b = browser({ beacon, fetch: json(null) });
    transport(API, BODY);
    expect(beacon).toHaveBeenCalledWith(`${API}/collect`, BODY);
    expect(b.sent).toEqual(['beacon']);
  });

  it('falls back to the keepalive fetch when sendBeacon refuses, swallowing its failure', async () => {
    const b = browser({ beacon: () => false, fetch: () => Promise.reject(new TypeError('Failed to fetch')) });
    transport(API, BODY);
    expect(b.sent).toEqual(['beacon', 'fetch']);
    expect(b.fetch).toHaveBeenCalledWith(`${API}/collect`, expect.objectContaining({ body: BODY, keepalive: true, credentials: 'include' }));
    // An unhandled rejection would fail this test run.
    await new Promise((r) => setTimeout(r, 0));
  });

  it('uses fetch when there is no sendBeacon', () => {
    const b = browser({ fetch: json(null) });
    transport(API, BODY);
    expect(b.sent).toEqual(['fetch']);
  });

  it('falls back to an image GET of /collect.gif carrying the JSON in d when there is no fetch', () => {
    const b = browser({ beacon: () => false });
    transport(API, BODY);
    expect(b.sent).toEqual(['beacon', 'image']);
    const url = new URL(b.images[0]);
    expect(url.origin + url.pathname).toBe(`${API}/collect.gif`);
    expect(url.searchParams.get('d')).toBe(BODY);
  });

  it('falls back to fetch, without throwing, when sendBeacon throws, and to the image when fetch throws too', () => {
    const b = browser({ beacon: throws, fetch: json(null) });
    expect(() => transport(API, BODY)).not.toThrow();
    expect(b.sent).toEqual(['beacon', 'fetch']);
    const c = browser({ beacon: throws, fetch: throws });
    expect(() => transport(API, BODY)).not.toThrow();
    expect(c.sent).toEqual(['beacon', 'fetch', 'image']);
  });
});
