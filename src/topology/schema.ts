// The topology file's schema: the authority on what a key may hold. Every object is
// strict (an unknown key is a typo until proven otherwise), every default is stated
// here, and the README's configuration reference mirrors this file.

import { z } from 'zod';
import { dnsName, durationMs, hostPort, httpUrl, ipAddress, regionIdField, sizeBytes } from './fields.js';

const recordTypes = ['A', 'AAAA', 'CNAME', 'TXT', 'MX', 'SRV', 'CAA'] as const;

const staticRecord = z.strictObject({
  /** A name relative to the zone (`@` for the apex, `mail`, `_sip._tcp`). */
  name: z.string().min(1),
  type: z.enum(recordTypes),
  /** The record's data in zone-file presentation form (`10 mail.shop.example.test.` for MX). */
  value: z.string().min(1),
  ttl: durationMs.optional(),
});

const service = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9-]*$/, 'expected lower-case letters, digits and dashes'),
  zone: dnsName,
  hosts: z.array(z.string().regex(/^(@|[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)$/i, 'expected a label like www, or @ for the apex')).min(1).default(['www']),
  records: z.array(staticRecord).default([]),
});

const region = z.strictObject({
  id: regionIdField,
  /** Optional when the id is in data/cloud-regions.json: its coordinates are used. */
  location: z.strictObject({ lat: z.number().min(-90).max(90), lon: z.number().min(-180).max(180) }).optional(),
  jurisdiction: z.string().regex(/^[a-z][a-z0-9-]*$/, 'expected a lower-case name like eu or us').default('none'),
  public: ipAddress,
  mesh: hostPort,
  app: httpUrl,
});

const deployment = z.strictObject({
  model: z.enum(['active-active', 'active-passive', 'geo-partitioned']).default('active-active'),
  primary: regionIdField.optional(),
  failover: z.array(regionIdField).optional(),
  failback: z.enum(['auto', 'manual']).default('manual'),
});

const routing = z.strictObject({
  policy: z.enum(['latency', 'proximity', 'geolocation', 'weighted', 'failover', 'multivalue']).default('latency'),
  ttl: durationMs.default(30_000),
  bias: z.record(z.string(), z.number().int().min(-99).max(99)).default({}),
  geolocation: z.record(z.string(), regionIdField).default({}),
  weights: z.record(z.string(), z.number().int().min(0).max(255)).default({}),
});

const health = z.strictObject({
  interval: durationMs.default(1000),
  timeout: durationMs.default(500),
  down_after: z.number().int().min(1).max(100).default(3),
  up_after: z.number().int().min(1).max(100).default(3),
  app_path: z.string().startsWith('/', 'expected a path starting with /').default('/healthz'),
});

const coord = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('embedded'),
    lease_ttl: durationMs.default(2000),
  }),
  z.strictObject({
    kind: z.literal('etcd'),
    endpoints: z.array(httpUrl).min(1, 'expected at least one endpoint; three or more, spread over regions, in production'),
    prefix: z.string().default('/meridian/'),
    lease_ttl: durationMs.default(2000),
  }),
]);

const homeFrom = z.string().regex(/^(client|field:[A-Za-z_][A-Za-z0-9_]*)$/, 'expected client or field:<name>');

const homeTable = z.strictObject({
  locality: z.literal('home'),
  home_from: homeFrom.default('client'),
  consistency: z.enum(['strong', 'eventual']).default('strong'),
  survive: z.enum(['region', 'zone']).default('zone'),
});

const globalTable = z.strictObject({
  locality: z.literal('global'),
  writes: z.enum(['primary', 'anywhere']).default('anywhere'),
  type: z.enum(['row', 'counter']).default('row'),
});

const table = z.discriminatedUnion('locality', [homeTable, globalTable]);

/** How changes travel between regions (README: Data, replication). */
const replication = z.strictObject({
  /** Changes are shipped in batches on this cadence, not one message per write. */
  flush_interval: durationMs.default(5),
  /** Changes per batch. */
  batch_max: z.number().int().min(1).max(10_000).default(512),
  /** Batches in flight to one destination. */
  inflight_max: z.number().int().min(1).max(64).default(8),
  /** A batch not acknowledged within this is sent again (from the first unacknowledged). */
  retry: durationMs.default(1000),
  /** An empty batch is sent after this long without changes, so destinations know how
   *  fresh they are (max_staleness reads). */
  heartbeat: durationMs.default(250),
  /** Log entries kept for destinations that are behind; one that falls further behind
   *  catches up from a snapshot. */
  log_keep: z.number().int().min(10).max(100_000_000).default(1_000_000),
  /** How often anti-entropy compares digests with one peer (round-robin); 0 turns it off. */
  anti_entropy: durationMs.default(10_000),
});

const data = z.strictObject({
  /** fsync: every acknowledged write is on disk (survives power loss); process: it
   *  survives a crash of the node's process (SIGKILL), not of the machine. */
  durability: z.enum(['fsync', 'process']).default('fsync'),
  /** Largest JSON value of one row. */
  max_value_size: sizeBytes.default(1024 * 1024),
  /** A peer's clock further ahead than this is refused (hybrid logical clocks). */
  max_clock_offset: durationMs.default(500),
  replication: replication.prefault({}),
  residency: z.record(z.string(), z.enum(['strict', 'none'])).default({}),
  tables: z.record(z.string().regex(/^[a-z_][a-z0-9_]*$/, 'expected a table name of lower-case letters, digits and _'), table).default({}),
});

const cacheRule = z.strictObject({
  /** A path pattern: `*` matches within a segment, `**` across segments, `/static/*` a prefix. */
  match: z.string().startsWith('/', 'expected a path pattern starting with /'),
  default_ttl: durationMs,
});

const cache = z.strictObject({
  max_size: sizeBytes.default(256e6),
  rules: z.array(cacheRule).default([]),
});

const cost = z.strictObject({
  prices_per_gb: z
    .strictObject({
      inter_region: z.number().nonnegative().default(0.02),
      internet_egress: z.number().nonnegative().default(0.09),
      /** Per ordered pair `from->to`, overriding inter_region. */
      pairs: z.record(z.string(), z.number().nonnegative()).default({}),
    })
    .prefault({}),
});

const security = z.strictObject({
  mesh_secret_env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'expected an environment variable name').default('MERIDIAN_MESH_SECRET'),
  app_token_env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'expected an environment variable name').default('MERIDIAN_APP_TOKEN'),
});

const port = z.number().int().min(1).max(65535);

const homePathRule = z.strictObject({
  /** A path pattern: `*` within a segment, `**` across segments. */
  match: z.string().startsWith('/', 'expected a path pattern starting with /'),
  region: regionIdField,
});

const gateway = z.strictObject({
  /** Request line and headers together (431 beyond). */
  max_header_size: sizeBytes.default(16 * 1024),
  /** Request bodies beyond this are refused with 413. */
  max_body_size: sizeBytes.default(10e6),
  /** Bodies up to this are buffered, so the request can be replayed or retried elsewhere;
   *  larger ones stream to the upstream and are never sent twice. */
  replay_max_body: sizeBytes.default(1024 * 1024),
  /** Time to receive the request's headers (slowloris); 408 beyond. */
  header_timeout: durationMs.default(10_000),
  /** Time to receive the whole request. */
  request_timeout: durationMs.default(60_000),
  upstream_connect_timeout: durationMs.default(2000),
  /** Time for the upstream to send its response headers; 504 beyond. */
  upstream_timeout: durationMs.default(30_000),
  /** Where a request names its data's home region. */
  home: z
    .strictObject({
      header: z.string().regex(/^[a-z0-9-]+$/, 'expected a lower-case header name').default('x-meridian-home'),
      cookie: z.string().regex(/^[A-Za-z0-9_-]+$/, 'expected a cookie name').default('meridian-home'),
      paths: z.array(homePathRule).default([]),
    })
    .prefault({}),
});

/** The authoritative DNS server's abuse limits (see the README's DNS section). */
const dns = z.strictObject({
  /** Response-rate limiting of UDP replies, per client prefix (the UDP source, never ECS). */
  rate_limit: z
    .strictObject({
      /** Tokens per second in each prefix's bucket; 0 turns rate limiting off. */
      responses_per_second: z.number().int().min(0).max(1_000_000).default(100),
      /** The bucket's size: replies a quiet prefix may get at once. */
      burst: z.number().int().min(1).max(1_000_000).default(200),
      /** Every Nth limited reply is sent empty with TC=1 (the client retries over TCP), the
       *  others dropped; 0 drops them all, 1 truncates every one. */
      slip: z.number().int().min(0).max(10).default(2),
      ipv4_prefix: z.number().int().min(8).max(32).default(24),
      ipv6_prefix: z.number().int().min(16).max(128).default(56),
    })
    .prefault({}),
  /** The EDNS UDP payload size we advertise and the ceiling of any UDP reply, in bytes. */
  max_udp_payload: z.number().int().min(512).max(4096).default(1232),
  /** A UDP reply is at most max(512, factor x the query's size), else truncated (TC);
   *  0 turns the bound off. */
  amplification_factor: z.number().int().min(0).max(100).default(10),
});

const node = z.strictObject({
  /** The gateway's port on each region's public address. */
  http_port: port.default(8080),
  /** The DNS server's port (UDP and TCP) on each region's public address. */
  dns_port: port.default(5353),
  /** Roles a node runs besides the mesh/admin server, which always runs. */
  roles: z.array(z.enum(['dns', 'gateway'])).default(['dns', 'gateway']),
  /** How long a stopping node lets requests in flight finish. */
  drain_timeout: durationMs.default(4000),
});

export const topologySchema = z.strictObject({
  service,
  regions: z.array(region).min(1, 'expected at least one region'),
  deployment: deployment.prefault({}),
  routing: routing.prefault({}),
  health: health.prefault({}),
  coord: coord.default({ kind: 'embedded', lease_ttl: 2000 }),
  data: data.prefault({}),
  cache: cache.prefault({}),
  cost: cost.prefault({}),
  security: security.prefault({}),
  node: node.prefault({}),
  dns: dns.prefault({}),
  gateway: gateway.prefault({}),
});

/** The file as parsed: defaults applied, durations in ms, sizes in bytes. */
export type TopologyFile = z.output<typeof topologySchema>;
export type TableConfig = z.output<typeof table>;
export type HomeTableConfig = z.output<typeof homeTable>;
export type GlobalTableConfig = z.output<typeof globalTable>;
export type RegionConfig = z.output<typeof region>;
export type StaticRecord = z.output<typeof staticRecord>;
export type NodeConfig = z.output<typeof node>;
export type GatewayConfig = z.output<typeof gateway>;
export type DnsConfig = z.output<typeof dns>;
export type NodeRole = NodeConfig['roles'][number];
