import { createHash } from 'node:crypto';

/**
 * mulberry32: a small, fast, seeded PRNG in [0, 1). A string seed is hashed.
 * Used where runs must be reproducible by seed: quality sampling, simulations, property tests.
 */
export function seededRng(seed: number | string): () => number {
  let a = typeof seed === 'number' ? seed >>> 0 : createHash('sha256').update(seed).digest().readUInt32BE(0);
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
