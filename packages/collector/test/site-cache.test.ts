// The site cache (context.ts): settings are read on every hit, so sites are cached, but never
// long when another process's change could go unheard, and an unknown id only for a second.
import { describe, expect, it } from 'vitest';
import { createSiteCache } from '../src/context.js';
import type { Site, SiteListener, Store } from '../src/store.js';

const site = (honorGpc = false): Site => ({
  id: 'acme', name: 'Acme', url: 'https://tickets.example.com', platformHosts: [], windowDays: 28, currency: 'EUR',
  createdAt: 0, requireSignedConversions: false, honorGpc,
});

/** A store holding at most site acme, counting reads; `watched`: it tells of changes (PostgreSQL). */
function fakeStore(watched: boolean) {
  const state = { site: null as Site | null, reads: 0, listener: null as SiteListener | null, release: null as (() => void) | null, hold: false };
  const store = {
    kind: watched ? 'postgres' : 'sqlite',
    async getSite() {
      state.reads++;
      const answer = state.site;
      if (state.hold) await new Promise<void>((resolve) => (state.release = resolve));
      return answer;
    },
    ...(watched
      ? {
          watchSites(listener: SiteListener) {
            state.listener = listener;
            listener.listening(false);
            return () => {
              state.listener = null;
            };
          },
        }
      : {}),
  } as unknown as Store;
  const clock = { now: 1_000_000 };
  const cache = createSiteCache(store, { now: () => clock.now });
  return { state, clock, cache };
}

describe('the site cache', () => {
  it('stops listening when closed', () => {
    const { state, cache } = fakeStore(true);
    expect(state.listener).not.toBeNull();
    cache.close();
    expect(state.listener).toBeNull();
  });

  it('knows a site created elsewhere within a second, and reads an unknown id at most once a second', async () => {
    const { state, clock, cache } = fakeStore(false);
    // A flood of hits for an id no site has: one read, however many come at once or soon after.
    const answers = await Promise.all(Array.from({ length: 50 }, () => cache.get('acme')));
    expect(answers.every((a) => a === null)).toBe(true);
    clock.now += 900;
    expect(await cache.get('acme')).toBeNull();
    expect(state.reads).toBe(1);
    // Created by another process: known after the second.
    state.site = site();
    clock.now += 200;
    expect(await cache.get('acme')).toEqual(site());
    expect(state.reads).toBe(2);
  });

  it('keeps a site for 30 s where every change reaches it, and drops it when told', async () => {
    const { state, clock, cache } = fakeStore(false);
    state.site = site();
    await cache.get('acme');
    clock.now += 29_000;
    await cache.get('acme');
    expect(state.reads).toBe(1);
    state.site = site(true);
    cache.forget('acme');
    expect((await cache.get('acme'))?.honorGpc).toBe(true);
    clock.now += 1_001;
    await cache.get('acme');
    expect(state.reads).toBe(2);
  });

  it('keeps a site for a second while changes from other processes go unheard, 30 s once they are heard', async () => {
    const { state, clock, cache } = fakeStore(true);
    state.site = site();
    await cache.get('acme');
    clock.now += 1_001;
    await cache.get('acme');
    expect(state.reads).toBe(2);

    state.listener!.listening(true);
    await cache.get('acme');
    clock.now += 20_000;
    await cache.get('acme');
    expect(state.reads).toBe(3);
    // Heard: another process changed it.
    state.site = site(true);
    state.listener!.changed('acme');
    expect((await cache.get('acme'))?.honorGpc).toBe(true);
    expect(state.reads).toBe(4);

    // The listener drops: what is kept is read again within a second.
    state.site = site(false);
    state.listener!.listening(false);
    expect((await cache.get('acme'))?.honorGpc).toBe(false);
    clock.now += 1_001;
    await cache.get('acme');
    expect(state.reads).toBe(6);
  });

  it('a change heard while the site is being read is not hidden by that read', async () => {
    const { state, cache } = fakeStore(true);
    state.listener!.listening(true);
    state.site = site();
    state.hold = true;
    const first = cache.get('acme');
    // The change commits while the read is under way: the read answers what it saw, and is not kept.
    state.site = site(true);
    state.listener!.changed('acme');
    state.release!();
    expect((await first)?.honorGpc).toBe(false);
    state.hold = false;
    expect((await cache.get('acme'))?.honorGpc).toBe(true);
  });
});
