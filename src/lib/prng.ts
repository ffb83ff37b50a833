// A small seeded pseudo-random generator, so that everything the local world draws
// (users, jitter, faults) replays from one seed. Not for anything secret.

/**
 * mulberry32 (Tommy Ettinger, public domain): a 32-bit state, period 2^32, good enough
 * for simulation. Returns a function giving floats in [0, 1), the same sequence for the
 * same seed. The seed is taken modulo 2^32.
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
