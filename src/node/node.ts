// One region node: the roles wired together (DNS, gateway, mesh/admin, health), and its
// lifecycle. Everything a region does is one process; roles can be switched off.

import { join } from 'node:path';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { DnsServer, ipv4SubnetNumber, type DnsClient, type DnsPolicyAnswer } from '../dns/index.js';
import { HttpCache } from '../cache/index.js';
import { DataService, dataFromHeader, dataPrefix, reconcileEpochHeader, type PlacementView } from '../data/index.js';
import { forwardedFromHeader, Gateway, noStoreFrom, proxyUpgrade, rejectUpgrade, replayedFromHeader, withForwarding } from '../gateway/index.js';
import { clientSubnet, continentOf, GeoLocator } from '../geo/index.js';
import { HealthProber } from '../health/index.js';
import { keepTickObjectShape, parseHlc, regionId, version, type Logger, type RegionId } from '../lib/index.js';
import { meshHeaders, MeshClient, verify, type MeshAddress } from '../mesh/index.js';
import { createDataMetrics, createNodeMetrics, type DataMetrics, type NodeMetrics } from '../observe/index.js';
import { route, routingTable, type RoutingTable } from '../routing/index.js';
import { acceptSync, Replicator, syncPath } from '../replication/index.js';
import type { Coordinator } from '../coord/index.js';
import { clockVerdict } from '../health/index.js';
import { PartitionLeaders, primaryPartition } from './leaders.js';
import { Store, type StoredRow } from '../store/index.js';
import { allowedRegionsForHome, failoverOrder, isStrict, latencyModel, regionById, type NodeRole, type Region, type Topology } from '../topology/index.js';
import { zoneConfig } from './dns-zone.js';
import { createEdgeServer } from './edge-server.js';
import { failoverCandidates } from './failover.js';
import { parsePurge, purgeEverywhere, purgeFanoutHeader, purgeLocal } from './purge.js';

/** About 100 bytes each: a bound of a few MB. */
const maxCachedDnsAnswers = 50_000;

export interface RegionNodeOptions {
  readonly topology: Topology;
  readonly region: RegionId;
  readonly meshSecret: string;
  /** Where to dial each peer's mesh (the world's WAN relays); default: their mesh addresses. */
  readonly meshDial?: ReadonlyMap<RegionId, MeshAddress>;
  readonly httpPort: number;
  readonly dnsPort: number;
  readonly roles: readonly NodeRole[];
  readonly drainTimeoutMs: number;
  readonly logger: Logger;
  readonly geo?: GeoLocator;
  /** The cache's clock (tests drive a fake one); default Date.now. */
  readonly now?: () => number;
  /** Where the region's store lives (a directory); undefined: in memory, gone at exit. */
  readonly dataDir?: string;
  /** The applications' data API token; undefined: only the mesh may use the data API. */
  readonly appToken?: string;
  /** Added to this node's clock for the data path, health probes and its /healthz answer:
   *  a clock-skew drill (`--clock-skew`). 0 in production. */
  readonly clockSkewMs?: number;
  /** Leases and epochs for home partitions (`coord`); absent: no leadership — each home
   *  region writes its own rows, nothing fails over, survive: region is not enforced. */
  readonly coord?: Coordinator;
}

export interface NodeAddresses {
  readonly http?: string;
  readonly dns?: string;
  readonly mesh: string;
}

export class RegionNode {
  private readonly self: Region;
  private readonly table: RoutingTable;
  private readonly mesh: MeshClient;
  private readonly probeMesh: MeshClient;
  private readonly prober: HealthProber;
  private readonly metrics: NodeMetrics;
  private readonly geo: GeoLocator;
  private gateway: Gateway | undefined;
  private cache: HttpCache | undefined;
  /** Upgraded connections: no longer HTTP, so the servers' close() does not end them. */
  private readonly upgraded = new Set<Duplex>();
  private httpServer: Server | undefined;
  private meshServer: Server | undefined;
  private dns: DnsServer | undefined;
  private readonly startedMs = Date.now();
  /** Bumped on every health change: cached DNS answers of older generations are dead. */
  private healthGeneration = 0;
  private readonly dnsAnswers = new Map<number | string, DnsPolicyAnswer>();
  private stopping: Promise<void> | undefined;
  readonly store: Store;
  readonly data: DataService;
  readonly replicator: Replicator;
  /** This node's clock for the data path (skewed in clock drills). */
  readonly now: () => number;
  private readonly dataMetrics: DataMetrics;
  readonly leaders: PartitionLeaders | undefined;

  constructor(private readonly o: RegionNodeOptions) {
    const skew = o.clockSkewMs ?? 0;
    this.now = skew === 0 ? Date.now : () => Date.now() + skew;
    const self = regionById(o.topology, o.region);
    if (self === undefined) throw new Error(`region ${o.region} is not in the topology`);
    this.self = self;
    const t = o.topology;
    this.table = routingTable(t, latencyModel(t));
    this.geo = o.geo ?? new GeoLocator();
    const dial = new Map<RegionId, MeshAddress>(t.regions.map((r) => [r.id, r.mesh]));
    for (const [id, a] of o.meshDial ?? []) dial.set(id, a);
    this.mesh = new MeshClient(o.region, o.meshSecret, dial);
    // Health probes have their own connections: queued data traffic must not delay them
    // until a healthy peer looks down (bench/data, after a takeover).
    this.probeMesh = new MeshClient(o.region, o.meshSecret, dial, Date.now, 2);
    const h = t.file.health;
    this.prober = new HealthProber({
      self: o.region,
      peers: t.regions.map((r) => r.id).filter((id) => id !== o.region),
      appUrl: self.app,
      appPath: h.app_path,
      intervalMs: h.interval,
      timeoutMs: h.timeout,
      downAfter: h.down_after,
      upAfter: h.up_after,
      mesh: this.probeMesh,
      clock: this.now,
      onChange: (target, health) => {
        this.healthGeneration++;
        this.dnsAnswers.clear();
        this.metrics.healthChanges.inc({ target, state: health.up ? 'up' : 'down' });
        o.logger.warn({ target, up: health.up, last: health.lastResult }, `health: ${target} is ${health.up ? 'up' : 'down'}`);
      },
    });
    const f = t.file;
    this.store = new Store({
      path: o.dataDir === undefined ? ':memory:' : join(o.dataDir, `${o.region}.db`),
      region: o.region,
      mayStore: (_table, home) => home === null || allowedRegionsForHome(t, regionId(home)).includes(o.region),
      synchronous: f.data.durability === 'fsync' ? 'full' : 'normal',
      maxClockOffsetMs: f.data.max_clock_offset,
      // (dataMetrics exists before the first write can ask for an fsync.)
      onFsync: (ms) => this.dataMetrics.fsync(ms),
    });
    this.data = new DataService({
      region: o.region,
      tables: t.tables,
      view: this.placementView(),
      store: this.store,
      mesh: this.mesh,
      appToken: o.appToken,
      meshSecret: o.meshSecret,
      maxValueBytes: f.data.max_value_size,
      forwardTimeoutMs: Math.min(f.gateway.upstream_timeout, 10_000),
      // Freshness is provable only up to the clocks' offset: a source's clock reading is
      // trusted as if it were max_clock_offset older.
      replication: { notifyCommitted: () => this.replicator.notifyCommitted(), freshness: (source) => (this.replicator.freshness(source) > 0 ? this.replicator.freshness(source) - f.data.max_clock_offset : undefined) },
      ...(o.coord !== undefined && {
        leadership: {
          serving: (p) => this.leaders?.serving(p) ?? { ok: false as const, reason: 'leadership is not running' },
          // The next candidate after this region, in the partition's order (wrapping),
          // that is up; recorded in the coordinator before it is relied on.
          syncFollower: (p) => {
            const c = this.partitionCandidates(p);
            const i = c.indexOf(o.region);
            return [...c.slice(i + 1), ...c.slice(0, Math.max(0, i))].find((r) => this.prober.nodeUp(regionId(r)));
          },
          recordSyncFollower: async (p, region) => {
            if (this.leaders === undefined) throw new Error('leadership is not running');
            await this.leaders.recordSyncFollower(p, region);
          },
          clock: () => this.clockVerdict(),
          caughtUpFor: (p) => this.leaders?.caughtUpFor(p) ?? 0,
        },
      }),
      onSyncReplicated: (follower, ms) => this.dataMetrics.syncReplicated(follower, ms),
      logger: o.logger,
      now: this.now,
    });
    this.metrics = createNodeMetrics(o.region, {
      regionUp: () => Object.fromEntries([...this.prober.routingHealth()].map(([id, x]) => [id, x.up])),
      dnsQueries: () => this.dns?.stats().responses ?? {},
      dnsRateLimit: () => this.dns?.stats().rateLimit ?? null,
    });
    const r = f.data.replication;
    this.replicator = new Replicator({
      region: o.region,
      peers: t.regions.map((x) => x.id).filter((id) => id !== o.region),
      store: this.store,
      mesh: this.mesh,
      mayStoreAt: (region, _table, home) => home === null || allowedRegionsForHome(t, regionId(home)).includes(regionId(region)),
      tables: { counters: [...t.tables].filter(([, c]) => c.locality === 'global' && c.type === 'counter').map(([name]) => name) },
      config: {
        flushMs: Math.max(1, r.flush_interval),
        maxBatch: Math.min(r.batch_max, 4096),
        maxInflight: r.inflight_max,
        retryMs: Math.max(1, r.retry),
        heartbeatMs: Math.max(1, r.heartbeat),
        logKeep: r.log_keep,
        // 0 turns anti-entropy off (the replicator starts no timer at 2^31 ms or more).
        antiEntropyMs: r.anti_entropy === 0 ? 2 ** 31 : r.anti_entropy,
        snapshotPageSize: 1000,
      },
      logger: o.logger,
      now: this.now,
      onApplied: (source, lagMs, count) => this.dataMetrics.applied(source, lagMs, count),
      onConflict: (c) => this.dataMetrics.conflict(c.table),
    });
    this.dataMetrics = createDataMetrics(this.metrics.registry, o.region, () => {
      const st = this.replicator.status();
      return {
        writesCommitted: this.data.writer.committedTotal,
        writesForwarded: this.data.counts.writesForwarded,
        readsForwarded: this.data.counts.readsForwarded,
        refused: this.data.counts.refused,
        logEntries: st.log.entries,
        pending: Object.fromEntries(Object.entries(st.outbound).map(([d, x]) => [d, x.pending])),
      };
    });
    // Partitions: every region's home rows (when there are home tables), and the
    // deployment's primary (writes: primary tables, active-passive), so that a standby is
    // promoted the same way a home's follower is.
    const partitions = new Map<string, string[]>();
    if ([...t.tables.values()].some((c) => c.locality === 'home')) for (const x of t.regions) partitions.set(x.id, this.partitionCandidates(x.id));
    if (t.file.deployment.model === 'active-passive' || [...t.tables.values()].some((c) => c.locality === 'global' && c.writes === 'primary' && c.type === 'row')) {
      const primary = regionId(t.file.deployment.primary ?? (t.regions[0] as Region).id);
      partitions.set(primaryPartition, [primary, ...failoverOrder(t, primary)]);
    }
    this.leaders =
      o.coord === undefined || partitions.size === 0
        ? undefined
        : new PartitionLeaders({
            region: o.region,
            partitions,
            coord: o.coord,
            store: this.store,
            replicator: this.replicator,
            config: {
              leaseTtlMs: t.file.coord.lease_ttl,
              safetyMarginMs: Math.max(100, Math.round(t.file.coord.lease_ttl / 10)),
              renewEveryMs: Math.round(t.file.coord.lease_ttl / 4),
              rankDelayMs: Math.round(t.file.coord.lease_ttl / 4),
              failback: t.file.deployment.failback,
            },
            isUp: (r) => this.prober.nodeUp(regionId(r)),
            leaderRow: (leader, partition, table, key) => this.leaderRow(leader, partition, table, key),
            acknowledgedAtCommit: (table) => {
              const c = t.tables.get(table as never);
              return c?.locality !== 'home' || c.survive === 'zone';
            },
            logger: o.logger,
            now: this.now,
          });
  }

  async start(): Promise<NodeAddresses> {
    const { o, self } = this;
    keepTickObjectShape(); // every response's nextTicks stay fast after idle: src/lib/tick-shape.ts
    this.prober.start();
    this.replicator.start();
    await this.leaders?.start();
    if (o.roles.includes('dns')) this.geo.preload(4);

    this.meshServer = createServer({ requestTimeout: 30_000, headersTimeout: 10_000 }, (req, res) => void this.onMesh(req, res));
    this.meshServer.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const auth = verify(o.meshSecret, req.headers, req.method ?? 'GET', req.url ?? '/', Date.now());
      const from = req.headers[forwardedFromHeader];
      if (!auth.ok || typeof from !== 'string' || this.gateway === undefined) {
        this.metrics.meshAuthFailures.inc({ reason: auth.ok ? 'upgrade without forwarding' : auth.reason });
        return rejectUpgrade(socket, 401, 'unauthenticated', 'mesh upgrades need the shared secret and a forwarding region', o.region);
      }
      this.onUpgrade(req, socket, head, from);
    });
    const meshAddr = await listen(this.meshServer, self.mesh.host, self.mesh.port);

    let http: string | undefined;
    if (o.roles.includes('gateway')) {
      const g = o.topology.file.gateway;
      const maxObjectBytes = Math.min(o.topology.file.cache.max_size / 8, 8 * 1024 * 1024);
      this.cache = new HttpCache({
        maxBytes: o.topology.file.cache.max_size,
        maxObjectBytes,
        rules: o.topology.file.cache.rules.map((r) => ({ match: r.match, defaultTtlMs: r.default_ttl })),
        now: o.now ?? Date.now,
      });
      this.gateway = new Gateway({
        region: o.region,
        regions: o.topology.regions.map((r) => r.id),
        appUrl: self.app,
        appUp: () => this.prober.appUp(),
        regionUp: (id) => this.prober.routingHealth().get(id)?.up ?? false,
        failoverCandidates: () => failoverCandidates(this.table, o.region, this.selfLocation(), this.prober.routingHealth()),
        mesh: this.mesh,
        limits: {
          maxBodyBytes: g.max_body_size,
          replayMaxBodyBytes: g.replay_max_body,
          upstreamConnectTimeoutMs: g.upstream_connect_timeout,
          upstreamTimeoutMs: g.upstream_timeout,
        },
        home: { header: g.home.header, cookie: g.home.cookie, paths: g.home.paths.map((p) => ({ match: p.match, region: regionId(p.region) })) },
        cache: { cache: this.cache, maxObjectBytes, noStoreFrom: noStoreFrom(o.region, o.topology.regions, o.topology.file.data.residency) },
        maxForwardAttempts: 2,
        onRequest: (route, status, servedBy, _cache, ms) => this.metrics.gatewayRequest(route, status, servedBy, ms / 1000),
      });
      const gateway = this.gateway;
      this.httpServer = createEdgeServer(g, {
        region: o.region,
        onRequest: (req, res) => void gateway.handle(req, res).catch((e: unknown) => this.onHandlerError(res, e)),
        onUpgrade: (req, socket, head) => this.onUpgrade(req, socket, head),
        onRefused: (code) => this.metrics.gatewayRefused.inc({ code }),
      });
      http = await listen(this.httpServer, self.public, o.httpPort);
    }

    let dns: string | undefined;
    if (o.roles.includes('dns')) {
      const f = o.topology.file;
      const limit = f.dns.rate_limit;
      this.dns = new DnsServer({
        ...zoneConfig(o.topology, Math.floor(this.startedMs / 1000)),
        host: self.public,
        port: o.dnsPort,
        // Explicit, so a change of the server's defaults cannot loosen a node's limits.
        maxUdpPayload: f.dns.max_udp_payload,
        amplificationFactor: f.dns.amplification_factor,
        rateLimit: { responsesPerSecond: limit.responses_per_second, burst: limit.burst, slip: limit.slip, ipv4PrefixLength: limit.ipv4_prefix, ipv6PrefixLength: limit.ipv6_prefix },
        answer: (name, family, client) => this.dnsAnswer(family, client),
        onError: (e) => o.logger.debug({ err: e.message }, 'dns error'),
      });
      const ports = await this.dns.start();
      dns = `${self.public}:${ports.udpPort}`;
    }
    o.logger.info({ http, dns, mesh: meshAddr, roles: o.roles }, `region ${o.region} up`);
    return { ...(http !== undefined && { http }), ...(dns !== undefined && { dns }), mesh: meshAddr };
  }

  /** Is this node's clock close enough to its peers' for strong operations? Offsets
   *  older than ten probe intervals (plus 5 s) no longer count. */
  private clockVerdict(): ReturnType<typeof clockVerdict> {
    const f = this.o.topology.file;
    return clockVerdict(this.prober.offsets, f.data.max_clock_offset, this.now(), 10 * f.health.interval + 5000);
  }

  /** A home partition's candidate leaders: the home, then the allowed regions in its
   *  failover order (the first of them is its synchronous follower). */
  private partitionCandidates(home: string): string[] {
    const t = this.o.topology;
    const allowed = new Set<string>(allowedRegionsForHome(t, regionId(home)));
    return [home, ...failoverOrder(t, regionId(home)).filter((r) => allowed.has(r))];
  }

  /** The leader's copy of a row (a deposed leader reconciling), over the mesh; answered
   *  only once it caught up under `leader.epoch` (or a later one): its rows before that may
   *  lack acknowledged writes, and a deposed leader reconciling against them would set
   *  those aside (test/sim, seed 15863). */
  private async leaderRow(leader: { region: string; epoch: number }, partition: string, table: string, key: string): Promise<StoredRow | null> {
    const res = await this.mesh.request(regionId(leader.region), { method: 'GET', path: `/data/v1/tables/${table}/rows/${encodeURIComponent(key)}?consistency=local&home=${encodeURIComponent(partition)}`, headers: { [dataFromHeader]: this.o.region, [reconcileEpochHeader]: String(leader.epoch) }, timeoutMs: 2000 });
    const text = await res.body.text();
    if (res.statusCode === 404) return null;
    if (res.statusCode !== 200) throw new Error(`${leader.region} answered ${res.statusCode} for ${table}/${key}`);
    const b = JSON.parse(text) as { value: unknown; version: string; home: string | null };
    const version = parseHlc(b.version);
    if (version === null) throw new Error(`${leader.region} sent a bad version for ${table}/${key}`);
    return { table, key, value: JSON.stringify(b.value), version, home: b.home };
  }

  /** The data path's view of the world: topology facts, and health from the prober. */
  private placementView(): PlacementView {
    const t = this.o.topology;
    const self = this.o.region;
    const latency = latencyModel(t);
    const others = t.regions.map((r) => r.id).filter((id) => id !== self).sort((a, b) => latency.regionRtt(self, a).ms - latency.regionRtt(self, b).ms);
    const jurisdictions = [...new Set(t.regions.map((r) => r.jurisdiction))].filter((j) => j !== this.self.jurisdiction && isStrict(t, j));
    const foreignStrict = jurisdictions.map((j) => others.filter((id) => regionById(t, id)?.jurisdiction === j));
    const leaders = (): PartitionLeaders | undefined => this.leaders;
    return {
      self,
      // The primary as leadership has it (a standby promoted), else the configured one.
      get primary() {
        return regionId(leaders()?.leaderOf(primaryPartition)?.region ?? t.file.deployment.primary ?? (t.regions[0] as Region).id);
      },
      allowedFor: (home) => allowedRegionsForHome(t, home),
      isKnown: (r) => regionById(t, r) !== undefined,
      leaderOf: (home) => regionId(leaders()?.leaderOf(home)?.region ?? home),
      isUp: (r) => this.prober.nodeUp(r),
      byDistance: () => others,
      foreignStrict: () => foreignStrict,
    };
  }

  private selfLocation(): { lat: number; lon: number; country: string; continent: ReturnType<typeof continentOf> & string } {
    const c = this.o.topology.catalog.regions.find((r) => r.id === this.o.region);
    const country = c?.country ?? '';
    return { ...this.self.location, country, continent: continentOf(country) ?? 'NA' };
  }

  /** The DNS policy answer: locate the client (ECS or resolver), rank, map to addresses.
   *  Answers are cached per (family, client subnet, health generation): the answer for a
   *  /24 only changes when some region's health does, and recomputing the ranking per
   *  query was most of the server's cost (bench/dns). Bounded: oldest entries go first.
   *  The same object is returned for every hit, which the DNS fast path relies on to reuse
   *  the answer's encoded records. An IPv4 client (the common case) is keyed by a number,
   *  its /24 computed without ipaddr.js, which cost about as much as the rest of a hit. */
  private dnsAnswer(family: 4 | 6, client: DnsClient): DnsPolicyAnswer {
    const prefixV4 = Math.min(client.prefixLength, 24);
    const subnetOf = () => clientSubnet(client.ip, prefixV4, Math.min(client.prefixLength, 56)) ?? client.ip;
    const v4 = ipv4SubnetNumber(client.ip, prefixV4);
    // Two key spaces that cannot meet: numbers for IPv4 (subnet, prefix, family and the
    // generation mod 4096: under 2^51, so exact), strings for the rest. The map is emptied
    // on every health change too (onChange).
    const key = v4 !== null ? ((v4 * 64 + prefixV4) * 2 + (family === 4 ? 0 : 1)) * 4096 + (this.healthGeneration % 4096) : `${family}|${subnetOf()}|${this.healthGeneration}`;
    const hit = this.dnsAnswers.get(key);
    if (hit !== undefined) return hit;
    const answer = this.computeDnsAnswer(family, client, subnetOf());
    if (this.dnsAnswers.size >= maxCachedDnsAnswers) this.dnsAnswers.delete(this.dnsAnswers.keys().next().value!);
    this.dnsAnswers.set(key, answer);
    return answer;
  }

  private computeDnsAnswer(family: 4 | 6, client: DnsClient, subnet: string): DnsPolicyAnswer {
    const loc = this.geo.lookup(client.ip);
    const health = this.prober.routingHealth();
    const decision = route(this.table, {
      client: { location: loc.known ? { lat: loc.lat, lon: loc.lon, country: loc.country, continent: loc.continent } : null, source: loc.known ? client.source === 'ecs' ? 'ecs' : 'resolver' : 'none', subnet },
      health,
    });
    const addresses = decision.answer
      .map((id) => regionById(this.o.topology, id)?.public)
      .filter((a): a is string => a !== undefined && (family === 4 ? !a.includes(':') : a.includes(':')));
    // While any region is down, answers live shorter, so clients come back soon after a
    // region recovers (or moves again): at most the time the detector needs to call a
    // region up again.
    const ttlMs = this.o.topology.file.routing.ttl;
    const h = this.o.topology.file.health;
    const anyDown = [...health.values()].some((x) => !x.up);
    const ttlSec = Math.max(1, Math.round((anyDown ? Math.min(ttlMs, h.interval * h.up_after) : ttlMs) / 1000));
    return { addresses, ttlSec };
  }

  /** Upgrades go to the local app while it is up, else to the next healthy region. */
  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, forwardedFrom?: string): void {
    this.upgraded.add(socket);
    socket.once('close', () => this.upgraded.delete(socket));
    const g = this.o.topology.file.gateway;
    const app = new URL(this.self.app);
    const fwd = withForwarding({}, req.socket.remoteAddress ?? 'unknown', req.headers.host) as Record<string, string>;
    const toRegion = (): void => {
      if (forwardedFrom !== undefined) return rejectUpgrade(socket, 503, 'app_down', `app in ${this.o.region} is down`, this.o.region);
      const next = failoverCandidates(this.table, this.o.region, this.selfLocation(), this.prober.routingHealth())[0];
      const dial = next === undefined ? undefined : this.mesh.dialFor(next.region, req.method ?? 'GET', req.url ?? '/');
      if (next === undefined || dial === undefined) return rejectUpgrade(socket, 503, 'no_healthy_region', 'local app down, and no other region is healthy', this.o.region);
      proxyUpgrade(req, socket, head, { host: dial.address.host, port: dial.address.port, headers: { ...fwd, ...dial.headers, [forwardedFromHeader]: this.o.region } }, g.upstream_connect_timeout,
        () => rejectUpgrade(socket, 502, 'bad_gateway', `upgrade: ${next.region} refused`, this.o.region));
    };
    if (!this.prober.appUp()) return toRegion();
    const drop = [forwardedFromHeader, replayedFromHeader, ...meshHeaders];
    proxyUpgrade(req, socket, head, { host: app.hostname, port: Number(app.port || 80), headers: fwd, drop }, g.upstream_connect_timeout, () =>
      forwardedFrom === undefined ? toRegion() : rejectUpgrade(socket, 502, 'bad_gateway', 'local app refused the upgrade', this.o.region));
  }

  private async onMesh(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = req.url ?? '/';
    // The data API authenticates its callers itself: applications with their token,
    // regions with the mesh signature.
    if (path.startsWith(dataPrefix)) return this.data.handle(req, res);
    if (path.startsWith('/replication/')) {
      const auth = verify(this.o.meshSecret, req.headers, req.method ?? 'GET', path, Date.now());
      if (!auth.ok || auth.from === 'operator') {
        this.metrics.meshAuthFailures.inc({ reason: auth.ok ? 'replication needs a region signature' : auth.reason });
        return json(res, 401, { error: 'unauthenticated', reason: 'replication is between regions: it needs a mesh signature' });
      }
      if (req.method === 'POST' && path === syncPath) {
        let body: unknown;
        try {
          body = JSON.parse((await readLimited(req, 8 * 1024 * 1024)).toString('utf8'));
        } catch {
          return json(res, 400, { error: 'bad_request', reason: 'body must be JSON under 8 MiB' });
        }
        let a;
        try {
          a = await acceptSync(this.store, body, this.now());
        } catch (e) {
          return json(res, 500, { error: 'not_durable', reason: (e as Error).message });
        }
        return json(res, a.status, a);
      }
      if (await this.replicator.handle(req, res, path, auth.from)) return;
    }
    const auth = verify(this.o.meshSecret, req.headers, req.method ?? 'GET', path, Date.now());
    if (!auth.ok) {
      this.metrics.meshAuthFailures.inc({ reason: auth.reason });
      this.o.logger.warn({ remote: req.socket.remoteAddress, path, reason: auth.reason }, 'mesh: unauthenticated request refused');
      return json(res, 401, { error: 'unauthenticated', reason: `mesh requests need the shared secret: ${auth.reason}` });
    }
    const forwardedFrom = req.headers[forwardedFromHeader];
    const replayedFrom = req.headers[replayedFromHeader];
    if (typeof forwardedFrom === 'string' || typeof replayedFrom === 'string') {
      if (this.gateway === undefined) return json(res, 503, { error: 'no_gateway', reason: `region ${this.o.region} runs no gateway role` });
      const from = { ...(typeof forwardedFrom === 'string' && { forwardedFrom }), ...(typeof replayedFrom === 'string' && { replayedFrom }) };
      return this.gateway.handle(req, res, from).catch((e: unknown) => this.onHandlerError(res, e));
    }
    const url = path.split('?')[0];
    if (req.method === 'POST' && url === '/cache/purge') return this.onPurge(req, res);
    if (req.method === 'GET' && url === '/healthz') {
      const up = this.prober.appUp();
      // nowMs: peers estimate their clock offset to this node from it (clock safety).
      return json(res, up ? 200 : 503, { region: this.o.region, app: up ? 'up' : 'down', nowMs: this.now() });
    }
    if (req.method === 'GET' && url === '/status') return json(res, 200, this.status());
    if (req.method === 'GET' && url === '/lost-writes') return json(res, 200, { region: this.o.region, ...this.store.lostWrites(10_000) });
    if (req.method === 'GET' && url === '/metrics') {
      const text = await this.metrics.registry.metrics();
      res.writeHead(200, { 'content-type': this.metrics.registry.contentType });
      return void res.end(text);
    }
    return json(res, 404, { error: 'not_found', reason: `no mesh endpoint ${req.method} ${url}` });
  }

  private async onPurge(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.cache === undefined) return json(res, 404, { error: 'no_cache', reason: `region ${this.o.region} runs no gateway, so no cache` });
    let body: unknown;
    try {
      body = JSON.parse((await readLimited(req, 64 * 1024)).toString('utf8'));
    } catch {
      return json(res, 400, { error: 'bad_request', reason: 'body must be JSON under 64 KiB' });
    }
    const p = parsePurge(body);
    if (typeof p === 'string') return json(res, 400, { error: 'bad_request', reason: p });
    if (typeof req.headers[purgeFanoutHeader] === 'string') return json(res, 200, { region: this.o.region, removed: purgeLocal(this.cache, p) });
    const peers = this.o.topology.regions.map((r) => r.id).filter((id) => id !== this.o.region);
    return json(res, 200, await purgeEverywhere(this.o.region, peers, this.mesh, this.cache, p));
  }

  status(): Record<string, unknown> {
    const mem = process.memoryUsage();
    return {
      region: this.o.region,
      version,
      roles: ['mesh', ...this.o.roles],
      uptimeSec: Math.round((Date.now() - this.startedMs) / 1000),
      pid: process.pid,
      rssBytes: mem.rss,
      health: this.prober.view().regions,
      dns: this.dns?.stats() ?? null,
      cache: this.cache?.stats() ?? null,
      data: { ...this.data.stats(), replication: this.replicator.status(), leadership: this.leaders?.status() ?? null, lostWrites: this.store.lostWrites(20) },
      clock: { skewMs: this.o.clockSkewMs ?? 0, offsets: Object.fromEntries(this.prober.offsets), verdict: this.clockVerdict() },
      config: { model: this.o.topology.file.deployment.model, policy: this.o.topology.file.routing.policy, regions: this.o.topology.regions.map((r) => r.id) },
    };
  }

  private onHandlerError(res: ServerResponse, e: unknown): void {
    this.o.logger.error({ err: (e as Error).message }, 'request handler failed');
    if (!res.headersSent) json(res, 500, { error: 'internal', reason: 'the gateway failed to handle the request' });
    else res.destroy();
  }

  /** Stops accepting, lets requests in flight finish within the drain timeout, closes. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.prober.stop();
      const servers = [this.httpServer, this.meshServer].filter((s): s is Server => s !== undefined);
      const closed = Promise.all([...servers.map((s) => new Promise<void>((r) => s.close(() => r()))), this.dns?.stop()]);
      for (const s of servers) s.closeIdleConnections();
      const timer = setTimeout(() => {
        servers.forEach((s) => s.closeAllConnections());
        for (const u of this.upgraded) u.destroy();
      }, this.o.drainTimeoutMs);
      await closed;
      clearTimeout(timer);
      this.data.writer.flush();
      await this.leaders?.stop();
      await this.replicator.stop();
      await Promise.all([this.gateway?.close(), this.mesh.close(), this.probeMesh.close()]);
      this.store.close();
      this.o.logger.info(`region ${this.o.region} stopped`);
    })();
    return this.stopping;
  }
}

async function readLimited(req: IncomingMessage, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > max) throw new Error('too large');
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

function listen(server: Server, host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const a = server.address() as AddressInfo;
      resolve(`${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}`);
    });
  });
}
