// May this response be stored, and for how long is it fresh? http-cache-semantics
// answers the parts it gets right for a shared cache — method and status understood,
// no-store, private, Authorization (§3, §3.5), and the explicit freshness lifetime in the
// order s-maxage, max-age, Expires minus Date, an invalid Expires meaning already expired
// (§4.2.1) — and the rest is corrected around it here:
//
// - proxy-revalidate: the library gives it a lifetime of 0 in a shared cache; §5.2.2.8
//   means "must-revalidate once stale". We hide it from the library (see directives.ts).
// - Heuristic freshness (§4.2.2): the library takes 10% of Date − Last-Modified with no
//   upper bound, and adds a 24 h floor for `immutable`. We cap the heuristic at one day
//   (Apache's CacheMaxExpire default) and turn the immutable floor off: immutable
//   (RFC 8246) says nothing about how long a response without max-age is fresh.
// - Set-Cookie: the library stores it and only makes it stale. A shared cache that
//   replays one user's cookie to everyone is a session leak, so we do not store a
//   response with Set-Cookie at all unless it is explicitly `public`, and when it is, the
//   stored copy has no Set-Cookie (the user who caused the fetch still gets it).
// - POST with explicit freshness is storable to the library; we store GET only.
// - Vary: * is storable to the library; it can never be selected (§4.1), so we skip it.
// - Responses that can never be reused — zero lifetime, no validator, no stale-if-error
//   window — are "storable" but would only churn the LRU; we skip them.

import CachePolicy from 'http-cache-semantics';
import { libraryCacheControl, type ResponseDirectives } from './directives.js';
import { fieldValue, firstValue } from './header-fields.js';
import type { HeaderMap } from './types.js';

/** Status codes the cache understands (the library's list; 206 is not cached: no ranges). */
const understood = new Set([200, 203, 204, 300, 301, 302, 303, 307, 308, 404, 405, 410, 414, 501]);

/** Heuristically cacheable status codes (RFC 9110 §15.1, 206 excepted as above). */
export const heuristicallyCacheable = new Set([200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501]);

/** Upper bound on a heuristic freshness lifetime: one day, as Apache's CacheMaxExpire. */
export const heuristicCapSec = 86_400;

export interface StorabilityInput {
  readonly status: number;
  readonly responseHeaders: HeaderMap;
  readonly directives: ResponseDirectives;
  readonly requestHeaders: HeaderMap;
  /** When the response arrived: the library's fallback for a missing Date. */
  readonly responseTimeMs: number;
  /** The matching cache rule's lifetime for responses that state none. */
  readonly ruleTtlMs: number | null;
}

export type Storability =
  | { readonly storable: false; readonly reason: string }
  | {
      readonly storable: true;
      readonly lifetimeSec: number;
      readonly lifetimeFrom: 'explicit' | 'rule' | 'heuristic' | 'none';
      /** §3.5: may be reused for requests that carry Authorization. */
      readonly allowsAuthorized: boolean;
    };

export function assessStorability(i: StorabilityInput): Storability {
  const d = i.directives;
  if (fieldValue(i.responseHeaders, 'vary')?.split(',').some((s) => s.trim() === '*')) return { storable: false, reason: 'Vary: * never matches (RFC 9111 §4.1)' };
  if (i.responseHeaders['set-cookie'] !== undefined && !d.public) return { storable: false, reason: 'Set-Cookie without Cache-Control: public' };

  // Most unstorable responses are settled by what is already parsed: the library is built
  // only for the rest (it costs more than everything else here together).
  if (plainlyUnstorable(i)) return { storable: false, reason: 'not storable (RFC 9111 §3)' };
  const policy = libraryPolicy(i);
  if (!policy.storable()) return { storable: false, reason: 'not storable (RFC 9111 §3)' };

  const explicit = d.sMaxAgeSec !== null || d.maxAgeSec !== null || i.responseHeaders.expires !== undefined;
  let lifetimeSec: number;
  let lifetimeFrom: 'explicit' | 'rule' | 'heuristic' | 'none';
  if (explicit || d.noCache) {
    lifetimeSec = policy.maxAge();
    lifetimeFrom = 'explicit';
  } else if (i.ruleTtlMs !== null) {
    // The operator's rule is our heuristic for that path (§4.2.2 leaves the algorithm to
    // the cache); it applies where any heuristic may: the storable() gate above admits
    // only heuristically cacheable statuses or `public` responses without explicit freshness.
    lifetimeSec = i.ruleTtlMs / 1000;
    lifetimeFrom = 'rule';
  } else {
    lifetimeSec = Math.min(policy.maxAge(), heuristicCapSec);
    lifetimeFrom = lifetimeSec > 0 ? 'heuristic' : 'none';
  }

  const hasValidator = firstValue(i.responseHeaders, 'etag') !== undefined || firstValue(i.responseHeaders, 'last-modified') !== undefined;
  if (lifetimeSec <= 0 && !hasValidator && d.staleIfErrorSec === 0 && d.staleWhileRevalidateSec === 0) {
    return { storable: false, reason: 'never reusable: no freshness, no validator, no stale-if-error' };
  }
  return { storable: true, lifetimeSec, lifetimeFrom, allowsAuthorized: d.public || d.sMaxAgeSec !== null || d.mustRevalidate };
}

/**
 * False only when assessStorability() would surely say no, from the response alone and
 * without the library: what the cache asks of a response it did not take part in (a key in
 * its hit-for-miss list) to decide whether the next one should take the full path again.
 * `headers` have lower-case names (as undici and node:http give them).
 */
export function mayBeStorable(status: number, headers: HeaderMap, d: ResponseDirectives, ruleTtl: number | null, requestAuthorized: boolean): boolean {
  if (!understood.has(status) || d.private || (d.noStore && !d.mustUnderstand)) return false;
  if (requestAuthorized && !(d.public || d.sMaxAgeSec !== null || d.mustRevalidate)) return false;
  if (headers['set-cookie'] !== undefined && !d.public) return false;
  // Reusable at all: some freshness, a validator, or a stale-serving window.
  return d.maxAgeSec !== null || d.sMaxAgeSec !== null || headers.expires !== undefined || ruleTtl !== null
    || headers['last-modified'] !== undefined || headers.etag !== undefined || d.staleIfErrorSec > 0 || d.staleWhileRevalidateSec > 0;
}

const requestNoStore = /(^|,)\s*no-store\s*(,|$)/i;

/**
 * The cases where the library's storable() is false, decided from the parsed directives
 * exactly as the library would decide them (§3): no-store in the request or (unless
 * must-understand with an understood status) the response, private, a status the cache does
 * not understand, Authorization without public / s-maxage / must-revalidate (§3.5).
 */
function plainlyUnstorable(i: StorabilityInput): boolean {
  const d = i.directives;
  const statusUnderstood = understood.has(i.status);
  if (!statusUnderstood || d.private) return true;
  if (d.noStore && !d.mustUnderstand) return true;
  if (i.requestHeaders.authorization !== undefined && !(d.public || d.sMaxAgeSec !== null || d.mustRevalidate)) return true;
  const cc = i.requestHeaders['cache-control'];
  return cc !== undefined && requestNoStore.test(Array.isArray(cc) ? cc.join(', ') : cc);
}

/**
 * The library reads its clock once, in its constructor, before it keeps any argument (the
 * response time it falls back to when Date is missing). This subclass answers with the time
 * set just before construction. Declared once: a class declared per call gives every
 * response new hidden classes and inline caches that never settle (13 µs against 0.4 µs a
 * call, bench/gateway).
 */
let pinnedNowMs = 0;
class Clocked extends CachePolicy {
  now(): number {
    return pinnedNowMs;
  }
}

function libraryPolicy(i: StorabilityInput): CachePolicy {
  const res: CachePolicy.Headers = {};
  for (const name of ['date', 'expires', 'last-modified', 'etag', 'vary']) {
    // A field sent twice with different values is invalid; for Expires that means stale (§4.2.1).
    const v = i.responseHeaders[name];
    if (v === undefined) continue;
    res[name] = Array.isArray(v) ? (new Set(v).size === 1 ? v[0] : name === 'expires' ? '0' : v[0]) : v;
  }
  const cc = libraryCacheControl(i.directives, understood.has(i.status));
  if (cc !== undefined) res['cache-control'] = cc;
  const req: CachePolicy.Headers = {};
  if (i.requestHeaders.authorization !== undefined) req.authorization = 'present';
  if (requestNoStore.test(fieldValue(i.requestHeaders, 'cache-control') ?? '')) req['cache-control'] = 'no-store';
  // Synchronous: nothing else runs between setting the clock and the constructor reading it.
  pinnedNowMs = i.responseTimeMs;
  return new Clocked({ method: 'GET', headers: req }, { status: i.status, headers: res }, { shared: true, cacheHeuristic: 0.1, immutableMinTimeToLive: 0 });
}
