// Anti-entropy planning: what two regions holding the same class of rows must exchange to
// hold the same thing. PURE.
//
// Each side keeps, per class, 64 bucket digests (XOR of its members' hashes). Buckets whose
// digests differ are listed entry by entry (key, slot, version); for each entry the side
// with the newer version sends it, and an entry one side lacks is sent by the other. Both
// sides merge by the same rules as replication (LWW rows, max-merge slots), so a repair
// that races with replication is harmless.

import { compareHlc } from '../lib/index.js';
import type { DigestEntry } from '../store/index.js';

export function differingBuckets(local: readonly bigint[], remote: readonly bigint[]): number[] {
  const out: number[] = [];
  const n = Math.max(local.length, remote.length);
  for (let i = 0; i < n; i++) if ((local[i] ?? 0n) !== (remote[i] ?? 0n)) out.push(i);
  return out;
}

export interface RepairPlan {
  /** Entries this side holds newer (or alone): send them. */
  readonly push: readonly DigestEntry[];
  /** Entries the other side holds newer (or alone): ask for them. */
  readonly pull: readonly DigestEntry[];
}

const entryKey = (e: DigestEntry): string => `${e.key}\0${e.slot ?? ''}`;

export function planRepair(local: readonly DigestEntry[], remote: readonly DigestEntry[]): RepairPlan {
  const theirs = new Map(remote.map((e) => [entryKey(e), e]));
  const push: DigestEntry[] = [];
  const pull: DigestEntry[] = [];
  for (const mine of local) {
    const k = entryKey(mine);
    const other = theirs.get(k);
    theirs.delete(k);
    if (other === undefined) push.push(mine);
    else {
      const c = compareHlc(mine.version, other.version);
      if (c > 0) push.push(mine);
      else if (c < 0) pull.push(other);
    }
  }
  pull.push(...theirs.values());
  return { push, pull };
}

/** Hex form of a bucket digest on the wire (JSON has no 64-bit integers). */
export function digestToWire(d: readonly bigint[]): string[] {
  return d.map((x) => x.toString(16).padStart(16, '0'));
}

export function digestFromWire(d: readonly string[]): bigint[] {
  return d.map((x) => BigInt(`0x${x}`));
}
