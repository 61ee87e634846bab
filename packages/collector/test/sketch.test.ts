import { describe, expect, it } from 'vitest';
import { hashVisitor, sketchAdd, SketchUnion } from '../src/sketch.js';

const hashes = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => hashVisitor(`visitor-${from + i}`));

describe('visitor sketches', () => {
  it('count exactly up to 256 visitors, duplicates and the hash 0 included, and store them sorted', () => {
    const u = new SketchUnion();
    for (const h of [...hashes(0, 255), ...hashes(0, 100), 0, 0]) u.addHash(h);
    expect(u.count()).toBe(256);
    const blob = u.toBlob();
    expect(blob[0]).toBe(1);
    const stored = Array.from({ length: 256 }, (_, i) => blob.readUInt32LE(1 + 4 * i));
    expect(stored).toEqual([...stored].sort((a, b) => a - b));
    expect(new SketchUnion().addBlob(blob).count()).toBe(256);
  });

  it('estimate within 5% past 256, and merging stored sketches equals counting their union', () => {
    for (const n of [1_000, 50_000]) {
      const all = new SketchUnion();
      for (const h of hashes(0, n)) all.addHash(h);
      expect(Math.abs(all.count() - n) / n).toBeLessThan(0.05);
      // Days overlapping by half, stored as blobs (sparse ones and dense ones), merged back.
      const days = [0, 1, 2, 3].map((d) => sketchAdd(null, ...hashes((d * n) / 8, (d * n) / 8 + n / 4)));
      const merged = new SketchUnion();
      for (const b of days) merged.addBlob(b);
      const direct = new SketchUnion();
      for (const h of hashes(0, (3 * n) / 8 + n / 4)) direct.addHash(h);
      expect(merged.count()).toBe(direct.count());
      expect(new SketchUnion().addUnion(merged).count()).toBe(merged.count());
    }
  });

  it('a small union merged into a dense one and the other way round agree', () => {
    const small = new SketchUnion();
    for (const h of hashes(0, 100)) small.addHash(h);
    const big = new SketchUnion();
    for (const h of hashes(50, 5_000)) big.addHash(h);
    const a = new SketchUnion().addUnion(small).addUnion(big).count();
    const b = new SketchUnion().addUnion(big).addUnion(small).count();
    expect(a).toBe(b);
    expect(Math.abs(a - 5_000) / 5_000).toBeLessThan(0.05);
  });
});
