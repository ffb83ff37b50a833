// The amplification bound: over UDP, where the source address is unproven, a reply may be
// at most `factor` times the query that asked for it, and never less than the 512 bytes
// every DNS client accepts (RFC 1035 §4.2.1). Beyond it the reply is truncated (TC=1) and
// the client asks again over TCP, whose handshake proves its address. A DNS cookie
// (RFC 7873) would be the other proof; we do not implement cookies, so the bound applies
// to every UDP reply. With the default factor 10, a typical 40-80-byte query may get 512-800
// bytes: every answer of a few addresses, an MX or TXT set; large sets go over TCP.

import { classicUdpBytes } from './edns.js';

export const defaultAmplificationFactor = 10;

/** The largest UDP reply to a query of `queryBytes`; factor 0: unbounded here (the EDNS
 *  size still applies). */
export function amplificationLimitBytes(queryBytes: number, factor: number): number {
  if (factor <= 0) return Number.POSITIVE_INFINITY;
  return Math.max(classicUdpBytes, factor * queryBytes);
}
