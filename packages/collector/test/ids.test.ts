import { describe, expect, it } from 'vitest';
import { touchCid, touchCidTime } from '../src/ids.js';

describe('touch click ids', () => {
  it('carry the time of their visit, read back exactly, in 26 url-safe characters', () => {
    for (const ts of [0, 1, Date.UTC(2026, 10, 22, 12, 30, 15, 123), Date.UTC(2059, 0, 1), 36 ** 9 - 1]) {
      const cid = touchCid(ts);
      expect(cid).toMatch(/^t[0-9a-z]{9}[\w-]{16}$/);
      expect(touchCidTime(cid)).toBe(ts);
    }
    // 96 random bits after the time: two ids of the same millisecond differ.
    expect(touchCid(5)).not.toBe(touchCid(5));
  });

  it('are told apart from ids of any other shape, which carry no time', () => {
    for (const cid of ['', 'shortlink-cid-0001', 'AbCdEfGhIjKlMnOp', 't0mhz5k3a1AAAAAAAAAAAAAAA', 't0mhz5k3a1AAAAAAAAAAAAAAAAA', 'T0MHZ5K3A1AAAAAAAAAAAAAAAA', 't0mhz5k3a!AAAAAAAAAAAAAAAA']) {
      expect(touchCidTime(cid)).toBeNull();
    }
    expect(touchCidTime('t0mhz5k3a1AAAAAAAAAAAAAAAA')).toBe(parseInt('0mhz5k3a1', 36));
  });
});
