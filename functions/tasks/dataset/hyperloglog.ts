import { deflateRawSync, inflateRawSync } from 'node:zlib';

/**
 * 2^14 one-byte registers: a standard error of 1.04/√m ≈ 0.8 %. Each register keeps the highest rank seen among the
 * values whose hash falls in it (Flajolet et al., "HyperLogLog: the analysis of a near-optimal cardinality estimation
 * algorithm", 2007).
 */
const P = 14;
const M = 1 << P;
const ALPHA = 0.7213 / (1 + 1.079 / M);

/**
 * Approximate distinct count with a state that checkpoints as a short string. Written here rather than taken from
 * npm: the maintained packages (bloom-filters) hash through strings of bits, far too slow for every field of a large
 * CSV. The register index takes 14 bits of one 32-bit hash lane and the rank the other lane, so 46 hash bits are used
 * and no large-range correction is needed below billions of distinct values.
 */
export class HyperLogLog {
  private constructor(private readonly registers: Uint8Array) {}

  static empty(): HyperLogLog {
    return new HyperLogLog(new Uint8Array(M));
  }

  /** From `toJSON()`: the registers, deflated (mostly zeros for small columns) and base64-encoded. */
  static fromJSON(state: string): HyperLogLog {
    const registers = new Uint8Array(inflateRawSync(Buffer.from(state, 'base64')));
    if (registers.length !== M)
      throw new Error(`HyperLogLog state has ${registers.length} registers, not ${M}`);
    return new HyperLogLog(registers);
  }

  add(value: string): void {
    // cyrb53 (public domain, bryc): two 32-bit lanes of a fast, well-mixed string hash.
    let h1 = 0xdeadbeef;
    let h2 = 0x41c6ce57;
    for (let i = 0; i < value.length; i++) {
      const ch = value.charCodeAt(i);
      h1 = Math.imul(h1 ^ ch, 2654435761);
      h2 = Math.imul(h2 ^ ch, 1597334677);
    }
    h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
    h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
    h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
    h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
    const index = h1 >>> (32 - P);
    const rank = Math.clz32(h2) + 1;
    if (rank > this.registers[index]) this.registers[index] = rank;
  }

  /** The estimate, with linear counting for small cardinalities where the raw estimate is biased. */
  estimate(): number {
    let sum = 0;
    let zeros = 0;
    for (const r of this.registers) {
      sum += 2 ** -r;
      if (r === 0) zeros++;
    }
    const raw = (ALPHA * M * M) / sum;
    return Math.round(raw <= 2.5 * M && zeros > 0 ? M * Math.log(M / zeros) : raw);
  }

  toJSON(): string {
    return deflateRawSync(this.registers).toString('base64');
  }
}
