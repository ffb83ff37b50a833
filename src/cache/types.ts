// The cache's public shapes: what the gateway hands in, what it gets back.

import type { CacheKeyParts } from './key.js';

export type HeaderMap = Record<string, string | string[]>;

export interface CacheRequest {
  method: string;
  /** Path and query as received (origin-form); absolute-form is accepted too. */
  path: string;
  host: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface UpstreamResponse {
  status: number;
  headers: HeaderMap;
  body: Buffer;
  /** false: the caller forbids storing this response (data residency); it is served, not kept. */
  mayStore?: boolean;
  /** When the request for it was sent, if before the cache asked: a response the caller
   *  fetched itself after stepAside() and hands in through handle() (the age's response_delay). */
  requestTimeMs?: number;
}

/** A request the cache takes no part in (HttpCache.stepAside), and what to tell it afterwards. */
export type StepAside =
  | { readonly kind: 'unsafe'; readonly key: CacheKeyParts }
  | { readonly kind: 'bypass' }
  | { readonly kind: 'hit-for-miss'; readonly key: CacheKeyParts; readonly authorized: boolean; readonly head: boolean; readonly sentMs: number };

/**
 * hit: served from the cache, fresh (or stale as the client allowed with max-stale is 'stale').
 * miss: the answer came from upstream for this request (also a collapsed waiter's answer,
 *   and a 504 the cache generated because nothing usable was stored).
 * stale: a stale stored response (max-stale, stale-while-revalidate, stale-if-error).
 * revalidated: a stored response validated with upstream (304) for this request.
 * bypass: the cache took no part (unsafe method, Range, If-Match, ...).
 */
export type CacheStatus = 'hit' | 'miss' | 'stale' | 'revalidated' | 'bypass';

export interface CacheResult {
  response: UpstreamResponse;
  status: CacheStatus;
  /** The Age sent (whole seconds) when the response came from the store; null otherwise. */
  ageSec: number | null;
}

export interface CacheRule {
  /** Path pattern (query not included): `*` matches within one segment, `**` across segments. */
  match: string;
  /** Freshness lifetime for responses that state none (RFC 9111 §4.2.2 heuristic). */
  defaultTtlMs: number;
}

export interface HttpCacheOptions {
  maxBytes: number;
  /** Default: min(maxBytes / 8, 8 MiB). */
  maxObjectBytes?: number;
  rules?: CacheRule[];
  now?: () => number;
  onEvent?: (e: { kind: string; key: string }) => void;
}

export interface HttpCacheStats {
  entries: number;
  bytes: number;
  maxBytes: number;
  hits: number;
  misses: number;
  stale: number;
  revalidated: number;
  bypass: number;
  evictions: number;
  collapsed: number;
}

export type Upstream = (req: CacheRequest) => Promise<UpstreamResponse>;

/**
 * Thrown by an upstream function to say "the upstream answered, but this response is not
 * for the cache" (too large to hold, say): the cache passes the signal straight back to
 * its caller — no stale-if-error, no 504 — and requests waiting on the same key fetch for
 * themselves. `abandon` releases the response when nobody will read it (a background
 * revalidation).
 */
export class PassThroughSignal extends Error {
  constructor(readonly abandon: () => void) {
    super('pass-through');
  }
}
