// Anti-entropy digests. Every row and counter slot hashes to 64 bits; a bucket's digest is
// the XOR of its members' hashes, so it is kept up to date in O(1) per write (XOR the old
// hash out, the new one in) and two regions holding the same rows hold the same digest.

import { createHash } from 'node:crypto';
import type { Hlc } from '../lib/index.js';

export const bucketCount = 64;

/** FNV-1a over the key's UTF-16 units: the same bucket on every node. */
export function bucketOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % bucketCount;
}

export function rowHash(table: string, key: string, v: Hlc): bigint {
  return hash64(`r\0${table}\0${key}\0${v.wall}.${v.logical}.${v.region}`);
}

export function slotHash(table: string, key: string, slot: string, p: number, n: number): bigint {
  return hash64(`c\0${table}\0${key}\0${slot}\0${p}\0${n}`);
}

function hash64(s: string): bigint {
  return createHash('sha1').update(s).digest().readBigUInt64BE(0);
}

export function classKey(table: string, home: string | null): string {
  return `${table}\0${home ?? ''}`;
}

export function parseClassKey(k: string): { table: string; home: string | null } {
  const i = k.indexOf('\0');
  const home = k.slice(i + 1);
  return { table: k.slice(0, i), home: home === '' ? null : home };
}

/** Per class, one 64-bit digest per bucket. */
export class Digests {
  private readonly byClass = new Map<string, bigint[]>();

  toggle(cls: string, bucket: number, h: bigint): void {
    let d = this.byClass.get(cls);
    if (d === undefined) {
      d = new Array<bigint>(bucketCount).fill(0n);
      this.byClass.set(cls, d);
    }
    d[bucket] = (d[bucket] as bigint) ^ h;
  }

  of(cls: string): readonly bigint[] {
    return this.byClass.get(cls) ?? new Array<bigint>(bucketCount).fill(0n);
  }

  classes(): string[] {
    return [...this.byClass.keys()];
  }
}
