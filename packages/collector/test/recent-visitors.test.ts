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
    const seen = new RecentVisitors(5000);
    const keys = Array.from({ length: 5000 }, (_, i) => visitorKey('site', `${i}-${Math.random().toString(36).slice(2)}`));
    for (let round = 0; round < 5; round++) keys.forEach((k, i) => seen.touch(k, round * 10_000 + i));
    keys.forEach((k, i) => expect(seen.get(k)).toBe(40_000 + i));
    expect(seen.size).toBe(5000);
  });
});
