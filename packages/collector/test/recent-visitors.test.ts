import { describe, expect, it } from 'vitest';
import { visitorKey } from '../src/ingest.js';
import { RecentVisitors } from '../src/recent-visitors.js';

describe('recent visitors (the memory of the 30-minute rule)', () => {
  it('holds the latest time per key, and nothing for a key never touched', () => {
    const seen = new RecentVisitors(100);
    const a = visitorKey('site', 'visitor-a');
    expect(seen.get(a)).toBeUndefined();
    expect(seen.touch(a, 1000)).toBeUndefined();
    expect(seen.touch(a, 5000)).toBe(1000);
    expect(seen.touch(a, 3000)).toBe(5000); // an older hit arriving late does not move the time back
    expect(seen.get(a)).toBe(5000);
    expect(seen.get(visitorKey('site', 'visitor-b'))).toBeUndefined();
    expect(seen.get(visitorKey('other', 'visitor-a'))).toBeUndefined();
    expect(seen.size).toBe(1);
  });

  it('keeps the keys touched last when full, like a least-recently-used map', () => {
    const max = 1000;
    const seen = new RecentVisitors(max);
    const key = (i: number) => visitorKey('s', `v${i}`);
    seen.touch(key(0), 1); // touched again below, so it stays
    for (let i = 1; i < 20_000; i++) {
      seen.touch(key(i), i);
      if (i % 500 === 0) seen.touch(key(0), i);
    }
    // Rebuilds ran (the table never holds more than its 3/4 mark) and kept the latest `max`.
    expect(seen.size).toBeLessThan(max * 4);
    expect(seen.get(key(0))).toBe(19_500);
    for (let i = 19_000; i < 20_000; i++) expect(seen.get(key(i))).toBe(i);
    expect(seen.get(key(1))).toBeUndefined();
    expect(seen.get(key(10_000))).toBeUndefined();
  });

  it('finds every key after many rebuilds, whatever their slots', () => {
    const max = 5000;
    const seen = new RecentVisitors(max);
    const keys = Array.from({ length: 40_000 }, (_, i) => visitorKey('site', `${i}-${Math.random().toString(36).slice(2)}`));
    keys.forEach((k, i) => seen.touch(k, i));
    // Eight times the bound went through: the latest `max` are all there, the oldest are gone.
    keys.slice(-max).forEach((k, i) => expect(seen.get(k)).toBe(40_000 - max + i));
    expect(keys.slice(0, 20_000).filter((k) => seen.get(k) !== undefined)).toEqual([]);
  });

  it('always holds the `max` keys touched last, however often some of them come back', () => {
    const max = 1000;
    const seen = new RecentVisitors(max);
    // The reference: a Map kept in touch order, bounded to `max`, as the memory used to be.
    const reference = new Map<number, number>();
    const touch = (key: number, ts: number) => {
      const before = reference.get(key);
      reference.delete(key);
      reference.set(key, Math.max(before ?? ts, ts));
      if (reference.size > max) reference.delete(reference.keys().next().value!);
      expect(seen.touch(key, ts)).toBe(before);
    };
    let seed = 11;
    const random = (k: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % k);
    let ts = 0;
    // A few regulars with many pageviews among a stream of new visitors.
    for (let i = 0; i < 30_000; i++) {
      const regular = random(3) === 0;
      touch(visitorKey('s', regular ? `regular-${random(50)}` : `new-${i}`), ++ts);
      if (i % 997 === 0) for (const [key, time] of reference) expect(seen.get(key)).toBe(time);
    }
    // One visitor coming back 900 times, then a new one: the rebuild keeps all `max` of the latest.
    for (let i = 0; i < 900; i++) touch(visitorKey('s', 'new-29999'), ++ts);
    for (let i = 0; i < 700; i++) touch(visitorKey('s', `late-${i}`), ++ts);
    for (const [key, time] of reference) expect(seen.get(key)).toBe(time);
  });
});
