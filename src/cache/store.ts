// The stored responses: an index by primary key (each key holds its Vary variants), an index
// by surrogate key, and a least-recently-used order, bounded by bytes (headers + body).

import { assert } from '../lib/index.js';
import type { AgeBasis } from './age.js';
import type { ResponseDirectives } from './directives.js';
import type { HeaderMap } from './types.js';
import type { VarySelector } from './vary.js';

export interface StoredResponse {
  /** Insertion order: among matching variants the most recent wins (RFC 9111 §4.1). */
  readonly seq: number;
  readonly key: string;
  readonly status: number;
  /** As stored: hop-by-hop fields, Age and Set-Cookie removed. */
  readonly headers: HeaderMap;
  readonly body: Buffer;
  readonly vary: VarySelector;
  readonly age: AgeBasis;
  readonly lifetimeSec: number;
  readonly directives: ResponseDirectives;
  /** §3.5: public, s-maxage or must-revalidate — may answer requests with Authorization. */
  readonly allowsAuthorized: boolean;
  readonly tags: readonly string[];
  readonly bytes: number;
}

export class ResponseStore {
  private readonly byKey = new Map<string, StoredResponse[]>();
  private readonly byTag = new Map<string, Set<StoredResponse>>();
  /** Map order is the LRU order: first is least recently used. */
  private readonly lru = new Map<StoredResponse, true>();
  private usedBytes = 0;

  constructor(
    readonly maxBytes: number,
    private readonly onEvict: (e: StoredResponse) => void,
  ) {
    assert(Number.isFinite(maxBytes) && maxBytes > 0, 'maxBytes > 0');
  }

  get bytes(): number {
    return this.usedBytes;
  }

  get entries(): number {
    return this.lru.size;
  }

  variants(key: string): readonly StoredResponse[] {
    return this.byKey.get(key) ?? [];
  }

  /** Marks an entry as just used. */
  touch(e: StoredResponse): void {
    if (!this.lru.delete(e)) return;
    this.lru.set(e, true);
  }

  /**
   * Stores `e` in place of `replaces` (variants it supersedes), evicting least recently used
   * entries until it fits. The caller has checked e.bytes against the per-object bound.
   */
  put(e: StoredResponse, replaces: readonly StoredResponse[]): void {
    assert(e.bytes <= this.maxBytes, 'an object fits the whole cache');
    for (const old of replaces) this.remove(old);
    while (this.usedBytes + e.bytes > this.maxBytes) {
      const victim = this.lru.keys().next().value;
      assert(victim !== undefined, 'something to evict while over the bound');
      this.remove(victim);
      this.onEvict(victim);
    }
    this.byKey.set(e.key, [...(this.byKey.get(e.key) ?? []), e]);
    for (const t of e.tags) {
      let set = this.byTag.get(t);
      if (set === undefined) this.byTag.set(t, (set = new Set()));
      set.add(e);
    }
    this.lru.set(e, true);
    this.usedBytes += e.bytes;
    assert(this.usedBytes <= this.maxBytes, 'bytes within the bound after a put');
  }

  /** Removes one entry; false if it was already gone. */
  remove(e: StoredResponse): boolean {
    if (!this.lru.delete(e)) return false;
    this.usedBytes -= e.bytes;
    const left = (this.byKey.get(e.key) ?? []).filter((x) => x !== e);
    if (left.length === 0) this.byKey.delete(e.key);
    else this.byKey.set(e.key, left);
    for (const t of e.tags) {
      const set = this.byTag.get(t);
      set?.delete(e);
      if (set?.size === 0) this.byTag.delete(t);
    }
    assert(this.usedBytes >= 0, 'bytes never negative');
    return true;
  }

  removeKey(key: string): number {
    const vs = [...this.variants(key)];
    for (const e of vs) this.remove(e);
    return vs.length;
  }

  removeTag(tag: string): number {
    const es = [...(this.byTag.get(tag) ?? [])];
    for (const e of es) this.remove(e);
    return es.length;
  }

  clear(): number {
    const n = this.lru.size;
    this.byKey.clear();
    this.byTag.clear();
    this.lru.clear();
    this.usedBytes = 0;
    return n;
  }
}
