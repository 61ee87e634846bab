// Distinct-visitor sketches for the daily rollups: distinct counts can't be summed across
// days, but sketches can be merged. Exact (a sorted set of 32-bit hashes) up to SPARSE_MAX
// visitors, then a HyperLogLog with 2^10 registers (about 3% standard error).
// Layout: [1][uint32 LE…] sparse, or [2][1024 register bytes] dense.

const P = 10;
const M = 1 << P;
const SPARSE_MAX = 256;
const SPARSE = 1;
const DENSE = 2;

/** 32-bit murmur3-style hash of a visitor id. */
export function hashVisitor(vid: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < vid.length; i++) {
    h ^= vid.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

type Sketch = { sparse: Set<number> } | { dense: Uint8Array };

function decode(blob: Uint8Array | null | undefined): Sketch {
  if (!blob || blob.length === 0) return { sparse: new Set() };
  if (blob[0] === DENSE) return { dense: Uint8Array.from(blob.subarray(1, 1 + M)) };
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const set = new Set<number>();
  for (let i = 1; i + 4 <= blob.length; i += 4) set.add(view.getUint32(i, true));
  return { sparse: set };
}

function encode(s: Sketch): Buffer {
  if ('dense' in s) return Buffer.concat([Buffer.of(DENSE), s.dense]);
  const out = Buffer.alloc(1 + 4 * s.sparse.size);
  out[0] = SPARSE;
  let i = 1;
  for (const h of [...s.sparse].sort((a, b) => a - b)) i = out.writeUInt32LE(h, i);
  return out;
}

function addToDense(registers: Uint8Array, h: number): void {
  const idx = h >>> (32 - P);
  const rank = Math.clz32((h << P) | (1 << (P - 1))) + 1;
  if (rank > registers[idx]!) registers[idx] = rank;
}

function densify(set: Set<number>): Uint8Array {
  const registers = new Uint8Array(M);
  for (const h of set) addToDense(registers, h);
  return registers;
}

function add(s: Sketch, h: number): Sketch {
  if ('dense' in s) {
    addToDense(s.dense, h);
    return s;
  }
  s.sparse.add(h);
  return s.sparse.size > SPARSE_MAX ? { dense: densify(s.sparse) } : s;
}

function merge(a: Sketch, b: Sketch): Sketch {
  if ('sparse' in b) {
    for (const h of b.sparse) a = add(a, h);
    return a;
  }
  const dense = 'dense' in a ? a.dense : densify(a.sparse);
  for (let i = 0; i < M; i++) if (b.dense[i]! > dense[i]!) dense[i] = b.dense[i]!;
  return { dense };
}

function estimate(s: Sketch): number {
  if ('sparse' in s) return s.sparse.size;
  let sum = 0;
  let zeros = 0;
  for (let i = 0; i < M; i++) {
    sum += 2 ** -s.dense[i]!;
    if (s.dense[i] === 0) zeros++;
  }
  const raw = ((0.7213 / (1 + 1.079 / M)) * M * M) / sum;
  // Small ranges: linear counting is the better estimate.
  return Math.round(raw <= 2.5 * M && zeros > 0 ? M * Math.log(M / zeros) : raw);
}

/** Adds visitor hashes to a stored sketch (null = empty) and returns the new blob. */
export function sketchAdd(blob: Uint8Array | null, ...hashes: number[]): Buffer {
  let s = decode(blob);
  for (const h of hashes) s = add(s, h);
  return encode(s);
}

/** Merges stored sketches (and loose hashes) and estimates their distinct count. */
export class SketchUnion {
  private s: Sketch = { sparse: new Set() };

  /** Merges a stored blob straight from its bytes (reports merge thousands of them). */
  addBlob(blob: Uint8Array | null | undefined): this {
    if (!blob || blob.length === 0) return this;
    if (blob[0] === DENSE) {
      const dense = 'dense' in this.s ? this.s.dense : densify(this.s.sparse);
      for (let i = 0; i < M; i++) {
        const r = blob[i + 1]!;
        if (r > dense[i]!) dense[i] = r;
      }
      this.s = { dense };
      return this;
    }
    for (let i = 1; i + 4 <= blob.length; i += 4) {
      this.s = add(this.s, (blob[i]! | (blob[i + 1]! << 8) | (blob[i + 2]! << 16) | (blob[i + 3]! << 24)) >>> 0);
    }
    return this;
  }
  addUnion(other: SketchUnion): this {
    this.s = merge(this.s, other.s);
    return this;
  }
  addHash(h: number): this {
    this.s = add(this.s, h);
    return this;
  }
  count(): number {
    return estimate(this.s);
  }
  toBlob(): Buffer {
    return encode(this.s);
  }
}
