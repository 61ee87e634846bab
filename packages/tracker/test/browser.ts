// A fake browser page in jsdom for the tracker's tests: URL, referrer, navigation type, cookies,
// and a tracker whose hits are captured instead of sent, with a collector the test answers for.
import { vi } from 'vitest';
import { createTracker, type Linktrail, type ReadyInfo, type TrackerOptions, type Verdict } from '../src/index';

// Set by vitest's jsdom environment.
declare const jsdom: { reconfigure(settings: { url?: string }): void };

export type Hit = Record<string, unknown> & { api: string };

/** Puts the window on `url`, arrived at from `referrer`, as a plain navigation (or `nav`), its navigation entry naming `name`. */
export function visit(url: string, referrer = '', nav = 'navigate', name?: string): void {
  jsdom.reconfigure({ url });
  Object.defineProperty(document, 'referrer', { value: referrer, configurable: true });
  // jsdom has no Navigation Timing; browsers report how the page was reached, and the
  // address it loaded at (`name`), here.
  Object.defineProperty(performance, 'getEntriesByType', {
    value: (type: string) => (type == 'navigation' ? [{ type: nav, ...(name ? { name } : {}) }] : []),
    configurable: true,
  });
}

/** Forgets every cookie of every host the tests use, as a new visitor would arrive. */
export function clearCookies(): void {
  for (const url of ['https://shop.example.com/', 'https://tickets.example.com/', 'http://shop.example.com/']) {
    jsdom.reconfigure({ url });
    for (const c of document.cookie.split('; ').filter(Boolean)) {
      const name = c.split('=')[0];
      document.cookie = `${name}=;max-age=0;path=/`;
      document.cookie = `${name}=;max-age=0;path=/;domain=example.com`;
    }
  }
}

/** The collector's verdict on a pageview: by default, the visitor as sent, on no touch. */
export const verdict = (hit: Hit, fields: Partial<Verdict> = {}): Verdict => ({
  vid: hit.vid as string,
  cid: null,
  channel: 'direct',
  source: null,
  affiliate: null,
  touch: false,
  ...fields,
});

export interface Loaded {
  lt: Linktrail;
  /** What reached the collector, in order: `api` and the parsed JSON body. */
  hits: Hit[];
  /** How many hits still wait for the collector's answer (only a pageview asks for one). */
  waiting(): number;
  /** The collector answers the oldest waiting hit: a verdict, or nothing (the request failed). */
  answer(fields?: Partial<Verdict> | 'failed'): void;
}

/** Loads the tracker on the current page; its hits land in `hits` instead of the network. */
export function load(options: Partial<TrackerOptions> = {}): Loaded {
  const hits: Hit[] = [];
  const pending: Array<{ hit: Hit; answer: (v?: Verdict) => void }> = [];
  const lt = createTracker(
    { site: 'acme', api: 'https://t.example.com', ...options },
    {
      send: (api, body, answer) => {
        const hit = { api, ...(JSON.parse(body) as Record<string, unknown>) };
        hits.push(hit);
        if (answer) pending.push({ hit, answer });
      },
    },
  );
  return {
    lt,
    hits,
    waiting: () => pending.length,
    answer(fields = {}) {
      const p = pending.shift();
      if (!p) throw new Error('no hit is waiting for an answer');
      if (fields == 'failed') p.answer();
      else p.answer(verdict(p.hit, fields));
    },
  };
}

/** What linktrail('ready') reports right now, or undefined while it waits. */
export function ready(lt: Linktrail): ReadyInfo | undefined {
  let info: ReadyInfo | undefined;
  lt('ready', (i) => (info = i));
  return info;
}

export const warnings = () => vi.spyOn(console, 'warn').mockImplementation(() => {});
