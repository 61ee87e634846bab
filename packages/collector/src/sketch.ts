// Distinct-visitor sketches for the daily rollups: distinct counts can't be summed across
// days, but sketches can be merged. Exact (a sorted set of 32-bit hashes) up to SPARSE_MAX
// visitors, then a HyperLogLog with 2^10 registers (about 3% standard error).
// Layout: [1][uint32 LE…] sparse, or [2][1024 register bytes] dense.
// Reports merge thousands of these (30 days x 200 codes), so the merge works on the stored
// bytes directly and a union turns dense once, in place.

const P = 10;
const M = 1 << P;
const SPARSE_MAX = 256;
const SPARSE = 1;
const DENSE = 2;
/** 2^-rank for every register value (ranks stay below 32 - P + 2). */
const INVERSE_POW = Float64Array.from({ length: 64 }, (_, r) => 2 ** -r);
const ALPHA_MM = ((0.7213 / (1 + 1.079 / M)) * M * M);

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

function addToDense(registers: Uint8Array, h: number): void {
  const idx = h >>> (32 - P);
  const rank = Math.clz32((h << P) | (1 << (P - 1))) + 1;
  if (rank > registers[idx]!) registers[idx] = rank;
}

/** A set of visitors being merged: exact while small, a HyperLogLog once past SPARSE_MAX. */
export class SketchUnion {
  // The exact set: open addressing over twice SPARSE_MAX slots (0 marks a free slot, so the
  // hash 0 is kept aside), no allocation per visitor. Once past SPARSE_MAX, `registers` counts.
  private slots: Uint32Array | null = null;
  private size = 0;
  private zero = false;
  private registers: Uint8Array | null = null;

  /** The exact set's hashes (a plain loop: a generator here cost 40 µs a report row). */
  private members(): number[] {
    const out: number[] = this.zero ? [0] : [];
    const slots = this.slots;
    if (slots) for (let i = 0; i < slots.length; i++) if (slots[i] !== 0) out.push(slots[i]!);
    return out;
  }

  private densify(): Uint8Array {
    if (this.registers) return this.registers;
    const registers = new Uint8Array(M);
    if (this.size > 0) for (const h of this.members()) addToDense(registers, h);
    this.slots = null;
    this.registers = registers;
    return registers;
  }

  addHash(h: number): this {
    if (this.registers) {
      addToDense(this.registers, h);
      return this;
    }
    if (h === 0) {
      if (!this.zero) {
        this.zero = true;
        this.size++;
      }
    } else {
      const slots = (this.slots ??= new Uint32Array(2 * SPARSE_MAX));
      const mask = slots.length - 1;
      let i = h & mask;
      while (slots[i] !== 0 && slots[i] !== h) i = (i + 1) & mask;
      if (slots[i] === 0) {
        slots[i] = h;
        this.size++;
      }
    }
    if (this.size > SPARSE_MAX) this.densify();
    return this;
  }

  /** Merges a stored blob straight from its bytes. */
  addBlob(blob: Uint8Array | null | undefined): this {
    if (!blob || blob.length === 0) return this;
    if (blob[0] === DENSE) {
      const registers = this.densify();
      for (let i = 0; i < M; i++) {
        const r = blob[i + 1]!;
        if (r > registers[i]!) registers[i] = r;
      }
      return this;
    }
    for (let i = 1; i + 4 <= blob.length; i += 4) {
      this.addHash((blob[i]! | (blob[i + 1]! << 8) | (blob[i + 2]! << 16) | (blob[i + 3]! << 24)) >>> 0);
    }
    return this;
  }

  addUnion(other: SketchUnion): this {
    if (!other.registers) {
      for (const h of other.members()) this.addHash(h);
      return this;
    }
    const registers = this.densify();
    const theirs = other.registers;
    for (let i = 0; i < M; i++) if (theirs[i]! > registers[i]!) registers[i] = theirs[i]!;
    return this;
  }

  count(): number {
    if (!this.registers) return this.size;
    const registers = this.registers;
    let sum = 0;
    let zeros = 0;
    for (let i = 0; i < M; i++) {
      const r = registers[i]!;
      sum += INVERSE_POW[r]!;
      if (r === 0) zeros++;
    }
    const raw = ALPHA_MM / sum;
    // Small ranges: linear counting is the better estimate.
    return Math.round(raw <= 2.5 * M && zeros > 0 ? M * Math.log(M / zeros) : raw);
  }

  toBlob(): Buffer {
    if (this.registers) {
      const out = Buffer.allocUnsafe(1 + M);
      out[0] = DENSE;
      out.set(this.registers, 1);
      return out;
    }
    // A typed array sorts numerically without a comparator call per step.
    const hashes = Uint32Array.from(this.members()).sort();
    const out = Buffer.allocUnsafe(1 + 4 * hashes.length);
    out[0] = SPARSE;
    for (let i = 0; i < hashes.length; i++) out.writeUInt32LE(hashes[i]!, 1 + 4 * i);
    return out;
  }
}

/** Adds visitor hashes to a stored sketch (null = empty) and returns the new blob. */
export function sketchAdd(blob: Uint8Array | null, ...hashes: number[]): Buffer {
  const u = new SketchUnion().addBlob(blob);
  for (const h of hashes) u.addHash(h);
  return u.toBlob();
}
