// Request collapsing: while one upstream fetch for a key is in flight, other requests for
// that key wait for it instead of sending their own (Varnish's waiting list, nginx's
// proxy_cache_lock).
//
// What a waiter gets when the fetch ends is decided in cache.ts: a stored response if the
// fetch stored one that fits the waiter (Vary, Authorization); the leader's failure if
// upstream threw; otherwise the waiter re-issues its own request. A response that was not
// storable is never handed to other waiters: "not storable" is often "private" or
// "Set-Cookie", i.e. one user's answer. Then the key is marked uncollapsible for a while
// (Varnish's hit-for-miss), so requests for an uncacheable URL stop queueing behind each
// other.

import { assert } from '../lib/index.js';

export class InFlight<T> {
  private readonly pending = new Map<string, Promise<T>>();

  get size(): number {
    return this.pending.size;
  }

  waitFor(key: string): Promise<T> | undefined {
    return this.pending.get(key);
  }

  /** Registers a fetch for `key`; settle() must be called exactly once, and ends it. */
  lead(key: string): (outcome: T) => void {
    assert(!this.pending.has(key), 'one fetch in flight per key');
    let resolve!: (o: T) => void;
    const p = new Promise<T>((r) => (resolve = r));
    this.pending.set(key, p);
    let settled = false;
    return (outcome) => {
      assert(!settled, 'a fetch is settled once');
      settled = true;
      if (this.pending.get(key) === p) this.pending.delete(key);
      resolve(outcome);
    };
  }
}

/** How long a key stays uncollapsible after a response that could not be stored (Varnish's default hit-for-miss TTL). */
export const uncollapsibleMs = 120_000;
/** Bound on remembered keys; the oldest is forgotten first. */
export const uncollapsibleMaxKeys = 10_000;

export class UncollapsibleKeys {
  private readonly until = new Map<string, number>();

  mark(key: string, nowMs: number): void {
    this.until.delete(key);
    this.until.set(key, nowMs + uncollapsibleMs);
    while (this.until.size > uncollapsibleMaxKeys) {
      const oldest = this.until.keys().next().value;
      if (oldest === undefined) break;
      this.until.delete(oldest);
    }
  }

  clear(key: string): void {
    this.until.delete(key);
  }

  has(key: string, nowMs: number): boolean {
    const t = this.until.get(key);
    if (t === undefined) return false;
    if (t > nowMs) return true;
    this.until.delete(key);
    return false;
  }

  get size(): number {
    return this.until.size;
  }
}
