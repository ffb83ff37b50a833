// A small stable hash for the picks that must not change between queries: the weighted
// and multivalue policies hash (client subnet, region) so one client keeps its answer,
// on every node and across restarts, without any shared state.
//
// cyrb53 (bryc, public domain): two 32-bit multiply-xor lanes with a murmur-style final
// mix, combined into 53 bits, the most a JS number holds exactly. FNV-1a would be
// simpler, but its high bits barely move when only the tail of a key changes, and the
// keys here differ in their tails (`81.2.69.0/24|us-east-1`, `…|eu-west-1`).

const twoPow53 = 2 ** 53;

/** A 53-bit non-negative integer hash of `text`, the same on every platform and run. */
export function stableHash(text: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/**
 * A stable number strictly inside (0, 1) for `text`: the hash's 53 bits, shifted by half
 * a step so that neither 0 nor 1 can come out (rendezvous hashing takes ln(u)).
 */
export function stableUnit(text: string): number {
  return (stableHash(text) + 0.5) / twoPow53;
}

/** The key a per-client pick hashes: the client's subnet and the candidate region. */
export function pickKey(subnet: string, region: string): string {
  // NUL cannot appear in a subnet or a region id, so distinct pairs give distinct keys.
  return `${subnet}\u0000${region}`;
}
