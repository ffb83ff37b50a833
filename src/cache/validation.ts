// Validation (RFC 9111 §4.3): conditional requests the cache sends, how a 304 selects and
// updates the stored response, and conditional requests from clients that the cache answers
// itself. PURE.
//
// http-cache-semantics is not used here: its revalidationHeaders() adds the cache's ETag to
// the client's own If-None-Match, so a 304 may then be about the client's copy and not
// ours; its revalidatedPolicy() updates only fields the stored response already had, where
// §3.2 requires adding every field of the 304 (a new Cache-Control or Expires would be
// lost otherwise).

import { fieldValue, firstValue, httpDateMs } from './header-fields.js';
import type { HeaderMap } from './types.js';

/** Client conditionals the cache evaluates itself (§4.3.2), so they never reach upstream. */
export const clientValidators = ['if-none-match', 'if-modified-since'] as const;

/** Preconditions the cache does not evaluate: such requests pass through untouched. */
export const passThroughPreconditions = ['if-match', 'if-unmodified-since', 'if-range', 'range'] as const;

interface EntityTag {
  readonly weak: boolean;
  readonly opaque: string;
}

/** Entity tags in a field value (RFC 9110 §8.8.3); a comma inside quotes stays inside. */
export function entityTags(value: string | undefined): EntityTag[] {
  if (value === undefined) return [];
  const out: EntityTag[] = [];
  for (const m of value.matchAll(/(W\/)?"([^"]*)"/g)) out.push({ weak: m[1] !== undefined, opaque: m[2] ?? '' });
  return out;
}

function oneTag(value: string | undefined): EntityTag | undefined {
  return entityTags(value)[0];
}

/** §4.3.1: send the stored ETag (If-None-Match) and Last-Modified (If-Modified-Since). */
export function conditionalHeaders(base: HeaderMap, stored: HeaderMap): HeaderMap {
  const out: HeaderMap = { ...base };
  const etag = firstValue(stored, 'etag');
  const lastModified = firstValue(stored, 'last-modified');
  if (etag !== undefined) out['if-none-match'] = etag;
  if (lastModified !== undefined) out['if-modified-since'] = lastModified;
  return out;
}

export function hasValidator(stored: HeaderMap): boolean {
  return firstValue(stored, 'etag') !== undefined || firstValue(stored, 'last-modified') !== undefined;
}

/**
 * §4.3.4: does this 304 select the stored response? A strong ETag selects a stored response
 * with the same strong ETag; a weak one, a stored response whose ETag compares equal weakly;
 * failing an ETag, an equal Last-Modified. A 304 with no validator at all answers the
 * conditional request we sent, which named only this response's validators, so it selects
 * it (the RFC's own no-validator case assumes a client-made request).
 */
export function notModifiedSelects(stored: HeaderMap, notModified: HeaderMap): boolean {
  const fresh = oneTag(firstValue(notModified, 'etag'));
  const mine = oneTag(firstValue(stored, 'etag'));
  if (fresh !== undefined) {
    if (mine === undefined) return false;
    return fresh.weak ? mine.opaque === fresh.opaque : !mine.weak && mine.opaque === fresh.opaque;
  }
  const lm = firstValue(notModified, 'last-modified');
  if (lm !== undefined) return firstValue(stored, 'last-modified') === lm;
  return true;
}

/**
 * Fields a 304 does not update (§3.2): those about the stored content itself (its length,
 * coding and range: the body is not replaced), hop-by-hop ones, Set-Cookie (never stored,
 * see storability.ts), and Age (the 304's Age goes into the new age basis instead).
 */
const notUpdated = new Set(['content-length', 'content-encoding', 'content-range', 'transfer-encoding', 'connection', 'keep-alive', 'te', 'trailer', 'upgrade', 'proxy-authenticate', 'proxy-authorization', 'set-cookie', 'age']);

/** §3.2: every field of the 304 is added to the stored response, replacing its old value. */
export function mergeNotModified(stored: HeaderMap, notModified: HeaderMap): HeaderMap {
  const out: HeaderMap = { ...stored };
  for (const [k, v] of Object.entries(notModified)) if (!notUpdated.has(k)) out[k] = v;
  return out;
}

/**
 * §4.3.2 with RFC 9110 §13.1.2 and §13.1.3: may the cache answer the client's conditional
 * GET or HEAD with 304? If-None-Match uses weak comparison; If-Modified-Since is read only
 * without If-None-Match, against Last-Modified, else Date, else the time it was received.
 */
export function clientNotModified(requestHeaders: HeaderMap, status: number, responseHeaders: HeaderMap, receivedMs: number): boolean {
  if (status !== 200) return false;
  const inm = fieldValue(requestHeaders, 'if-none-match');
  if (inm !== undefined) {
    if (inm.trim() === '*') return true;
    const mine = oneTag(firstValue(responseHeaders, 'etag'));
    return mine !== undefined && entityTags(inm).some((t) => t.opaque === mine.opaque);
  }
  const ims = httpDateMs(firstValue(requestHeaders, 'if-modified-since'));
  if (ims === null) return false;
  const modified = httpDateMs(firstValue(responseHeaders, 'last-modified')) ?? httpDateMs(firstValue(responseHeaders, 'date')) ?? receivedMs;
  return modified <= ims;
}
