// The DNS room's contract: what a region node hands the server (the zone, the policy
// callback, the limits) and what the pure core hands back. No I/O here.

import type { Answer } from 'dns-packet';

/** What the routing policy answers for one host and one address family. */
export interface DnsPolicyAnswer {
  addresses: string[];
  ttlSec: number;
}

/** Who is asking, as far as the server can tell: the EDNS Client Subnet when the query
 *  carries one (RFC 7871), else the resolver that sent the query. */
export interface DnsClient {
  /** The address, masked to `prefixLength` when it came from ECS. */
  ip: string;
  prefixLength: number;
  source: 'ecs' | 'resolver';
}

export interface DnsServerOptions {
  /** Bind address, e.g. 127.0.1.1 (IPv4 or IPv6). */
  host: string;
  /** e.g. 5353; 0 = ephemeral (tests). UDP and TCP share the port. */
  port: number;
  /** e.g. 'shop.example.test': case-insensitive, no trailing dot needed. */
  zone: string;
  /** Labels answered by policy, relative to the zone, e.g. ['www', 'api']; '@' means the apex. */
  hosts: readonly string[];
  /** NS names (e.g. ns1.shop.example.test) with their addresses: glue for names in the zone.
   *  A name with both an IPv4 and an IPv6 address is listed twice. */
  nameservers: readonly { name: string; address: string }[];
  soa: { mname: string; rname: string; serial: number; refreshSec: number; retrySec: number; expireSec: number; minimumSec: number };
  /** Called for A/AAAA queries of a service host; family 4 => A, 6 => AAAA. PURE from the
   *  server's view. `name` is the host as listed in `hosts`, lower-cased ('www', or '@' for
   *  the apex). A throw or an invalid answer becomes SERVFAIL, reported to `onError`. */
  answer(name: string, family: 4 | 6, client: DnsClient): DnsPolicyAnswer;
  /** Default 10_000. */
  tcpIdleTimeoutMs?: number;
  /** Our advertised EDNS UDP payload size; default 1232 (the DNS Flag Day 2020 value). */
  maxUdpPayload?: number;
  /** Static records served beside the policy's answers; compiled once (zone.ts). Default none. */
  records?: readonly DnsStaticRecord[];
  /** Response-rate limiting of UDP replies per client prefix; absent: off. The node always
   *  passes the topology's `dns.rate_limit`, which is on by default. */
  rateLimit?: DnsRateLimit;
  /** Over UDP a reply is at most max(512, factor x query bytes), else TC; default 10,
   *  0 = no bound beyond the EDNS size. */
  amplificationFactor?: number;
  /** Milliseconds on a monotonic clock, for the rate limiter; default performance.now.
   *  Tests freeze it to make the limiter deterministic. */
  clockMs?: () => number;
  /** Never throws out of a socket handler: every error it could not answer ends here. */
  onError?: (err: Error) => void;
}

export type DnsStaticRecordType = 'A' | 'AAAA' | 'CNAME' | 'TXT' | 'MX' | 'SRV' | 'CAA';

/** A record from `service.records`, its TTL already resolved (the record's, else routing.ttl). */
export interface DnsStaticRecord {
  /** Relative to the zone ('mail', '_sip._tcp'); '@' is the apex; a trailing dot makes it absolute. */
  name: string;
  type: DnsStaticRecordType;
  /** Presentation form; names inside are absolute, the trailing dot optional:
   *  '192.0.2.1', 'mail.shop.example.test.', '10 mail.shop.example.test.', '"v=spf1" "-all"',
   *  '10 5 5060 sip.shop.example.test.', '0 issue "letsencrypt.org"'. */
  value: string;
  ttlSec: number;
}

export interface DnsRateLimit {
  /** Tokens added per second to each prefix's bucket; 0 turns the limiter off. */
  responsesPerSecond: number;
  /** The bucket's size: responses a quiet prefix may get at once. */
  burst: number;
  /** Every Nth limited response goes out as an empty TC=1 reply (0: drop all, 1: TC every time). */
  slip: number;
  ipv4PrefixLength: number;
  ipv6PrefixLength: number;
  /** The table's bound; default 100,000 prefixes (about 14 MB). */
  maxPrefixes?: number;
}

/** Response codes the server sends; BADVERS (16) is an extended rcode, carried in the OPT. */
export type DnsRcodeName = 'NOERROR' | 'FORMERR' | 'SERVFAIL' | 'NXDOMAIN' | 'NOTIMP' | 'REFUSED' | 'BADVERS';

export interface DnsServerStats {
  /** Messages received (datagrams and TCP frames), answered or dropped. */
  queries: number;
  /** Replies sent, by rcode name. */
  responses: Record<string, number>;
  /** Replies sent with TC=1 (too big for the limit, or a rate-limit slip). */
  truncated: number;
  rateLimit: DnsRateLimitStats;
  /** The fast path (fast-path.ts): its share of the replies, and how often it read a
   *  query and still left the reply to respond(). */
  fastPath: DnsFastPathStats;
}

export interface DnsFastPathStats {
  /** Replies assembled by the fast path; the rest of `responses` came from respond(). */
  replies: number;
  /** Common queries handed to respond() after the policy answered: SERVFAIL, or a reply
   *  over its size limit (respond() truncates it). */
  fallbacks: number;
}

export interface DnsRateLimitStats {
  /** UDP queries over their prefix's rate: dropped + slipped. */
  limited: number;
  dropped: number;
  slipped: number;
  /** Prefixes in the table now (at most maxPrefixes). */
  prefixes: number;
}

export type DnsTransport = 'udp' | 'tcp';

/** Everything respond() needs besides the query bytes. */
export interface RespondContext {
  readonly zone: DnsZone;
  readonly answer: DnsServerOptions['answer'];
  readonly transport: DnsTransport;
  /** The resolver's address as the socket saw it (IPv4-mapped IPv6 is accepted). */
  readonly remoteAddress: string;
  /** Our advertised EDNS size (bytes), the ceiling for any UDP reply. */
  readonly maxUdpPayloadBytes: number;
  /** UDP replies at most max(512, factor x query bytes); absent or 0: no such bound. */
  readonly amplificationFactor?: number;
  /** A rate-limit slip: answer with TC=1 and empty sections, looking nothing up. */
  readonly truncate?: boolean;
}

/** What respond() decided: bytes to send back, or silence. `error` is a problem worth
 *  reporting (a policy that threw, a bug caught at the boundary) even though a reply went out. */
export type DnsResponse =
  | { readonly kind: 'reply'; readonly bytes: Buffer; readonly rcode: DnsRcodeName; readonly truncated: boolean; readonly error?: Error }
  | { readonly kind: 'drop'; readonly reason: string };

/** The zone compiled from the options: names lower-cased and split, every lookup a map hit. */
export interface DnsZone {
  /** The apex as configured, lower-cased, without a trailing dot. */
  readonly apex: string;
  readonly apexLabels: readonly string[];
  /** Owner name (lower-cased FQDN) -> what lives there. */
  readonly nodes: ReadonlyMap<string, ZoneNode>;
  /** Names that exist only because something lives below them (RFC 8020: NODATA, not NXDOMAIN). */
  readonly emptyNonTerminals: ReadonlySet<string>;
  readonly nameservers: readonly string[];
  readonly soa: {
    readonly mname: string;
    readonly rname: string;
    readonly serial: number;
    readonly refreshSec: number;
    readonly retrySec: number;
    readonly expireSec: number;
    readonly minimumSec: number;
  };
  /** TTL of the zone's own records: SOA, NS, glue, the RFC 8482 HINFO. */
  readonly recordTtlSec: number;
}

export interface ZoneNode {
  /** Set when the routing policy answers A/AAAA here: the host as listed in `hosts`. */
  readonly policyHost?: string;
  /** Fixed data by qtype number: static records and nameserver glue. */
  readonly rrsets: ReadonlyMap<number, RRset>;
  /** The CNAME's target (lower-cased, no trailing dot) when the name is an alias. */
  readonly cnameTarget?: string;
  readonly isApex: boolean;
}

/** One name's records of one type, owner = the name lower-cased (respond re-owns them to
 *  the name as asked). */
export interface RRset {
  readonly answers: readonly Answer[];
  /** Names the records point at (MX exchange, SRV target): where additional data comes from. */
  readonly targets: readonly string[];
}
