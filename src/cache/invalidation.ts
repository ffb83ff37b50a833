// Invalidation after unsafe methods (RFC 9111 §4.4). PURE.

import { firstValue, lowerCaseHeaders } from './header-fields.js';
import { sameOriginKey, type CacheKeyParts } from './key.js';
import type { UpstreamResponse } from './types.js';

/** Safe methods (RFC 9110 §9.2.1). Every other method — unknown ones included — is unsafe. */
export const safeMethods: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/**
 * The keys an unsafe request's response invalidates: none for an error (only 2xx and 3xx
 * count as non-error); else the target URI and the Location and Content-Location URIs on
 * the same origin (§4.4 forbids invalidating another origin's).
 */
export function invalidatedKeys(target: CacheKeyParts, response: UpstreamResponse): string[] {
  if (response.status < 200 || response.status >= 400) return [];
  const headers = lowerCaseHeaders(response.headers);
  const keys = new Set([target.key]);
  for (const field of ['location', 'content-location']) {
    const ref = firstValue(headers, field);
    const other = ref === undefined ? null : sameOriginKey(target.host, target.target, ref);
    if (other !== null) keys.add(other.key);
  }
  return [...keys];
}
