// When may a stored response be sent without contacting upstream, and when may a stale one
// be sent at all (RFC 9111 §4.2, §4.2.4, §5.2; RFC 5861)? PURE: time is an argument.
//
// We do not use http-cache-semantics' evaluateRequest() for this, because for a shared cache
// it (1) refuses every response with must-revalidate, fresh or not, where §5.2.2.2 only
// forbids reusing it once stale; (2) reuses responses for requests with Authorization
// that §3.5 forbids reusing; (3) computes age without §4.2.3's corrections (see age.ts).

import { currentAgeSec, type AgeBasis } from './age.js';
import type { RequestDirectives, ResponseDirectives } from './directives.js';

export interface Reusable {
  readonly age: AgeBasis;
  readonly lifetimeSec: number;
  readonly directives: ResponseDirectives;
}

export type Reuse =
  /** Fresh, and within what the request asks for. */
  | { readonly kind: 'fresh' }
  /** Stale, and the client accepts it (max-stale, §5.2.1.2). */
  | { readonly kind: 'stale-allowed' }
  /** Stale within stale-while-revalidate (RFC 5861 §3): serve, and revalidate in the background. */
  | { readonly kind: 'stale-while-revalidate' }
  /** Must be validated with upstream first. */
  | { readonly kind: 'validate' };

/**
 * The origin forbids serving this response stale, whatever the client says or errors occur:
 * no-cache (§5.2.2.4), must-revalidate (§5.2.2.2), proxy-revalidate (§5.2.2.8 — same as
 * must-revalidate for a shared cache). When validation then fails, the answer is a 504.
 */
export function originForbidsStale(d: ResponseDirectives): boolean {
  return d.noCache || d.mustRevalidate || d.proxyRevalidate;
}

/**
 * s-maxage "also implies the semantics of proxy-revalidate" (§5.2.2.10): a client may not
 * loosen it with max-stale or a request stale-if-error. We read the response's own
 * stale-while-revalidate / stale-if-error as the origin's explicit, more specific
 * permission, which the ubiquitous `s-maxage=60, stale-while-revalidate=30` relies on.
 */
function clientMayAskForStale(d: ResponseDirectives): boolean {
  return !originForbidsStale(d) && d.sMaxAgeSec === null;
}

export function decideReuse(e: Reusable, req: RequestDirectives, nowMs: number): Reuse {
  const d = e.directives;
  // no-cache in the response or the request: never reused without successful validation.
  if (d.noCache || req.noCache) return { kind: 'validate' };
  const ageSec = currentAgeSec(e.age, nowMs);
  // §4.2: fresh when freshness_lifetime > current_age.
  const fresh = e.lifetimeSec > ageSec;
  const tooOld = req.maxAgeSec !== null && ageSec > req.maxAgeSec;
  const notFreshEnough = req.minFreshSec !== null && e.lifetimeSec - ageSec < req.minFreshSec;
  if (fresh && !tooOld && !notFreshEnough) return { kind: 'fresh' };
  if (fresh) return { kind: 'validate' };
  const stalenessSec = ageSec - e.lifetimeSec;
  if (clientMayAskForStale(d) && req.maxStaleSec !== null && stalenessSec <= req.maxStaleSec && !tooOld) return { kind: 'stale-allowed' };
  if (!originForbidsStale(d) && d.staleWhileRevalidateSec > 0 && stalenessSec <= d.staleWhileRevalidateSec && !tooOld && !notFreshEnough) {
    return { kind: 'stale-while-revalidate' };
  }
  return { kind: 'validate' };
}

/**
 * After validation failed — upstream threw, or answered 500, 502, 503 or 504 (RFC 5861 §4)
 * — may the stored response be sent instead? A still-fresh one always may (it was being
 * validated only because the client's max-age or min-fresh asked, and those state a
 * preference, §5.2.1.1, §5.2.1.3), unless no-cache demands validation. A stale one within
 * the response's stale-if-error window, or the request's (RFC 5861 §4 allows both), may,
 * unless the origin forbids stale responses.
 */
export function staleIfErrorAllows(e: Reusable, req: RequestDirectives, nowMs: number): boolean {
  const d = e.directives;
  if (d.noCache || req.noCache) return false;
  const ageSec = currentAgeSec(e.age, nowMs);
  if (e.lifetimeSec > ageSec) return true;
  if (originForbidsStale(d)) return false;
  const windowSec = Math.max(d.staleIfErrorSec, clientMayAskForStale(d) ? req.staleIfErrorSec : 0);
  return windowSec > 0 && ageSec - e.lifetimeSec <= windowSec;
}

export function isFresh(e: Reusable, nowMs: number): boolean {
  return e.lifetimeSec > currentAgeSec(e.age, nowMs);
}
