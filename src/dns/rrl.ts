// Response-rate limiting (RRL) of UDP replies, per client prefix: a spoofed-source flood
// cannot turn us into a reflector, and one busy prefix cannot starve the rest. A token
// bucket per prefix (the UDP source address cut to /24 or /56, never the ECS, which the
// sender writes itself); over the rate, every `slip`-th reply goes out as an empty TC=1
// reply, so a real client behind a spoofed flood still gets an answer over TCP, and the
// others are dropped. TCP is exempt: its handshake proves the address.
//
// Pure: time comes in as an argument, so tests and simulations drive it.

import ipaddr from 'ipaddr.js';
import type { DnsRateLimit, DnsRateLimitStats } from './types.js';

/** About 140 bytes a prefix (key, bucket, map slot; measured with string keys, IPv4's are
 *  numbers now), so at most ~14 MB; a flood spread
 *  over more prefixes evicts the least recently seen, whose buckets have refilled anyway. */
export const defaultMaxPrefixes = 100_000;

export type RateVerdict = 'answer' | 'slip' | 'drop';

interface Bucket {
  tokens: number;
  lastMs: number;
  /** Limited replies so far: every slip-th of them is slipped. */
  limited: number;
}

export class ResponseRateLimiter {
  private readonly buckets = new Map<number | string, Bucket>();
  private readonly maxPrefixes: number;
  private readonly counts = { limited: 0, dropped: 0, slipped: 0 };

  constructor(private readonly o: DnsRateLimit) {
    this.maxPrefixes = o.maxPrefixes ?? defaultMaxPrefixes;
  }

  /** One reply to `remoteAddress` at `nowMs` (any monotonic clock, in ms): send it, slip it, or drop it. */
  take(remoteAddress: string, nowMs: number): RateVerdict {
    const key = prefixKey(remoteAddress, this.o.ipv4PrefixLength, this.o.ipv6PrefixLength);
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      // A new prefix starts with a full bucket: exactly what an evicted one would have by now.
      if (this.buckets.size >= this.maxPrefixes) this.buckets.delete(this.buckets.keys().next().value!);
      bucket = { tokens: this.o.burst, lastMs: nowMs, limited: 0 };
    } else {
      this.buckets.delete(key); // re-inserted below: a Map iterates in insertion order, so this keeps it LRU
    }
    this.buckets.set(key, bucket);

    // A clock that steps back must not mint tokens.
    const elapsedMs = Math.max(0, nowMs - bucket.lastMs);
    bucket.tokens = Math.min(this.o.burst, bucket.tokens + (elapsedMs * this.o.responsesPerSecond) / 1000);
    bucket.lastMs = Math.max(bucket.lastMs, nowMs);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 'answer';
    }
    bucket.limited += 1;
    this.counts.limited += 1;
    if (this.o.slip > 0 && bucket.limited % this.o.slip === 0) {
      this.counts.slipped += 1;
      return 'slip';
    }
    this.counts.dropped += 1;
    return 'drop';
  }

  stats(): DnsRateLimitStats {
    return { ...this.counts, prefixes: this.buckets.size };
  }
}

/** The client's network: the address cut to the prefix, as a map key. IPv4-mapped IPv6
 *  (a dual-stack socket's view of an IPv4 client) counts as IPv4. An IPv4 network is a
 *  number (no string to build and hash per query: this runs for every UDP query), the
 *  others strings, so the two never collide. */
export function prefixKey(address: string, ipv4PrefixLength: number, ipv6PrefixLength: number): number | string {
  const v4 = ipv4Number(address);
  if (v4 !== null) return (ipv4PrefixLength === 0 ? 0 : (v4 >>> (32 - ipv4PrefixLength)) << (32 - ipv4PrefixLength)) >>> 0;
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.process(address);
  } catch {
    return `?/${address}`; // a socket never gives one; still limited, on its own
  }
  if (parsed.kind() === 'ipv4') return prefixKey(parsed.toString(), ipv4PrefixLength, ipv6PrefixLength);
  const bytes = parsed.toByteArray();
  const out: string[] = [];
  for (let i = 0; i * 8 < ipv6PrefixLength; i++) {
    const keep = Math.min(8, ipv6PrefixLength - i * 8);
    out.push(((bytes[i]! & (0xff << (8 - keep))) & 0xff).toString(16));
  }
  return `6/${out.join(':')}`;
}

/** Dotted-quad IPv4 as an unsigned number, without allocating (the common case); else null. */
function ipv4Number(address: string): number | null {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < address.length; i++) {
    const c = address.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || ++dots > 3) return null;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57 && digits < 3) {
      octet = octet * 10 + (c - 48);
      digits += 1;
      if (octet > 255) return null;
    } else {
      return null;
    }
  }
  if (dots !== 3 || digits === 0) return null;
  return value * 256 + octet;
}
