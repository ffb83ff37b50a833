// The DNS room's door: the authoritative server, and its pure core for the pieces that
// build on it (benchmarks, the fuzzer): respond(), and the fast path in front of it.
export type {
  DnsClient,
  DnsFastPathStats,
  DnsPolicyAnswer,
  DnsRateLimit,
  DnsRateLimitStats,
  DnsRcodeName,
  DnsResponse,
  DnsServerOptions,
  DnsServerStats,
  DnsStaticRecord,
  DnsStaticRecordType,
  DnsTransport,
  DnsZone,
  RespondContext,
  RRset,
  ZoneNode,
} from './types.js';
export { DnsServer } from './server.js';
export { respond } from './respond.js';
export { FastPath, serveQuery } from './fast-path.js';
export { compileZone } from './zone.js';
export { ResponseRateLimiter, prefixKey, defaultMaxPrefixes, type RateVerdict } from './rrl.js';
export { amplificationLimitBytes, defaultAmplificationFactor } from './amplification.js';
export { ipv4SubnetNumber } from './ecs.js';
