// Shared pieces of the cache tests: a fake clock, a scripted origin that records what it was
// asked, and a one-line way to send a request through the cache.

import { HttpCache, type CacheRequest, type CacheResult, type HttpCacheOptions, type Upstream, type UpstreamResponse } from '../../src/cache/index.js';

export const t0 = Date.UTC(2026, 0, 15, 12, 0, 0);

export class Clock {
  ms = t0;
  readonly now = (): number => this.ms;
  advance(sec: number): void {
    this.ms += sec * 1000;
  }
  date(offsetSec = 0): string {
    return new Date(this.ms + offsetSec * 1000).toUTCString();
  }
}

/** What a scripted origin answers: fields left out default to 200, no headers, "body N". */
export type Reply = { status?: number; headers?: Record<string, string | string[] | undefined>; body?: Buffer } | Error;

export interface Origin {
  readonly calls: CacheRequest[];
  readonly fn: Upstream;
  /** Replaces what the origin answers from now on. */
  answer(h: (req: CacheRequest, n: number) => Reply | Promise<Reply>): void;
}

/** An origin that answers with `h` (default: 200 "body"); a returned Error is thrown. */
export function origin(h: (req: CacheRequest, n: number) => Reply | Promise<Reply> = () => ({})): Origin {
  const calls: CacheRequest[] = [];
  let handler = h;
  return {
    calls,
    fn: async (req) => {
      calls.push(req);
      const r = await handler(req, calls.length);
      if (r instanceof Error) throw r;
      const headers: UpstreamResponse['headers'] = {};
      for (const [k, v] of Object.entries(r.headers ?? {})) if (v !== undefined) headers[k] = v;
      return { status: r.status ?? 200, headers, body: r.body ?? Buffer.from(`body ${calls.length}`) };
    },
    answer(next) {
      handler = next;
    },
  };
}

export function newCache(clock: Clock, o: Partial<HttpCacheOptions> = {}): HttpCache {
  return new HttpCache({ maxBytes: 1024 * 1024, now: clock.now, ...o });
}

export function get(cache: HttpCache, up: Origin, path: string, headers: Record<string, string | undefined> = {}, method = 'GET', host = 'shop.example.test'): Promise<CacheResult> {
  return cache.handle({ method, path, host, headers }, up.fn);
}

export function header(r: CacheResult, name: string): string | undefined {
  const v = r.response.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

export function text(r: CacheResult): string {
  return r.response.body.toString();
}

/** Lets promise callbacks queued by background work run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((r) => setImmediate(r));
}

/** A promise with its resolve function, for holding an origin answer back. */
export function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
