// One region node: the roles wired together (DNS, gateway, mesh/admin, health), and its
// lifecycle. Everything a region does is one process; roles can be switched off.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DnsServer, type DnsClient, type DnsPolicyAnswer } from '../dns/index.js';
import { Gateway } from '../gateway/index.js';
import { clientSubnet, continentOf, GeoLocator } from '../geo/index.js';
import { HealthProber } from '../health/index.js';
import { version, type Logger, type RegionId } from '../lib/index.js';
import { MeshClient, verify, type MeshAddress } from '../mesh/index.js';
import { createNodeMetrics, type NodeMetrics } from '../observe/index.js';
import { route, type RoutingTable } from '../routing/index.js';
import { latencyModel, regionById, routingTable, type NodeRole, type Region, type Topology } from '../topology/index.js';
import { zoneConfig } from './dns-zone.js';
import { failoverCandidates } from './failover.js';

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
  private readonly prober: HealthProber;
  private readonly metrics: NodeMetrics;
  private readonly geo: GeoLocator;
  private gateway: Gateway | undefined;
  private httpServer: Server | undefined;
  private meshServer: Server | undefined;
  private dns: DnsServer | undefined;
  private readonly startedMs = Date.now();
  private stopping: Promise<void> | undefined;

  constructor(private readonly o: RegionNodeOptions) {
    const self = regionById(o.topology, o.region);
    if (self === undefined) throw new Error(`region ${o.region} is not in the topology`);
    this.self = self;
    const t = o.topology;
    this.table = routingTable(t, latencyModel(t));
    this.geo = o.geo ?? new GeoLocator();
    const dial = new Map<RegionId, MeshAddress>(t.regions.map((r) => [r.id, r.mesh]));
    for (const [id, a] of o.meshDial ?? []) dial.set(id, a);
    this.mesh = new MeshClient(o.region, o.meshSecret, dial);
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
      mesh: this.mesh,
      onChange: (target, health) => {
        this.metrics.healthChanges.inc({ target, state: health.up ? 'up' : 'down' });
        o.logger.warn({ target, up: health.up, last: health.lastResult }, `health: ${target} is ${health.up ? 'up' : 'down'}`);
      },
    });
    this.metrics = createNodeMetrics(o.region, {
      regionUp: () => Object.fromEntries([...this.prober.routingHealth()].map(([id, x]) => [id, x.up])),
      dnsQueries: () => this.dns?.stats().responses ?? {},
      dnsRateLimit: () => this.dns?.stats().rateLimit ?? null,
    });
  }

  async start(): Promise<NodeAddresses> {
    const { o, self } = this;
    this.prober.start();
    if (o.roles.includes('dns')) this.geo.preload(4);

    this.meshServer = createServer({ requestTimeout: 30_000, headersTimeout: 10_000 }, (req, res) => void this.onMesh(req, res));
    const meshAddr = await listen(this.meshServer, self.mesh.host, self.mesh.port);

    let http: string | undefined;
    if (o.roles.includes('gateway')) {
      this.gateway = new Gateway({
        region: o.region,
        appUrl: self.app,
        appUp: () => this.prober.appUp(),
        failoverCandidates: () => failoverCandidates(this.table, o.region, this.selfLocation(), this.prober.routingHealth()),
        mesh: this.mesh,
        maxBodyBytes: 1024 * 1024,
        upstreamTimeoutMs: 30_000,
        maxForwardAttempts: 2,
        onRequest: (r) => {
          this.metrics.gatewayRequests.inc({ route: r.route, code: String(r.status), served_by: r.servedBy });
          this.metrics.gatewayDuration.observe({ route: r.route }, r.ms / 1000);
        },
      });
      this.httpServer = createServer({ requestTimeout: 60_000, headersTimeout: 10_000, maxHeaderSize: 16 * 1024 }, (req, res) => {
        this.gateway?.handle(req, res).catch((e: unknown) => this.onHandlerError(res, e));
      });
      this.httpServer.keepAliveTimeout = 5000;
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

  private selfLocation(): { lat: number; lon: number; country: string; continent: ReturnType<typeof continentOf> & string } {
    const c = this.o.topology.catalog.regions.find((r) => r.id === this.o.region);
    const country = c?.country ?? '';
    return { ...this.self.location, country, continent: continentOf(country) ?? 'NA' };
  }

  /** The DNS policy answer: locate the client (ECS or resolver), rank, map to addresses. */
  private dnsAnswer(family: 4 | 6, client: DnsClient): DnsPolicyAnswer {
    const loc = this.geo.lookup(client.ip);
    const subnet = clientSubnet(client.ip, Math.min(client.prefixLength, 24), Math.min(client.prefixLength, 56)) ?? client.ip;
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

  private async onMesh(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = req.url ?? '/';
    const auth = verify(this.o.meshSecret, req.headers, req.method ?? 'GET', path, Date.now());
    if (!auth.ok) {
      this.metrics.meshAuthFailures.inc({ reason: auth.reason });
      this.o.logger.warn({ remote: req.socket.remoteAddress, path, reason: auth.reason }, 'mesh: unauthenticated request refused');
      return json(res, 401, { error: 'unauthenticated', reason: `mesh requests need the shared secret: ${auth.reason}` });
    }
    const forwardedFrom = req.headers['x-meridian-forwarded-from'];
    if (typeof forwardedFrom === 'string') {
      if (this.gateway === undefined) return json(res, 503, { error: 'no_gateway', reason: `region ${this.o.region} runs no gateway role` });
      return this.gateway.handle(req, res, forwardedFrom).catch((e: unknown) => this.onHandlerError(res, e));
    }
    const url = path.split('?')[0];
    if (req.method === 'GET' && url === '/healthz') {
      const up = this.prober.appUp();
      return json(res, up ? 200 : 503, { region: this.o.region, app: up ? 'up' : 'down' });
    }
    if (req.method === 'GET' && url === '/status') return json(res, 200, this.status());
    if (req.method === 'GET' && url === '/metrics') {
      const text = await this.metrics.registry.metrics();
      res.writeHead(200, { 'content-type': this.metrics.registry.contentType });
      return void res.end(text);
    }
    return json(res, 404, { error: 'not_found', reason: `no mesh endpoint ${req.method} ${url}` });
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
      const timer = setTimeout(() => servers.forEach((s) => s.closeAllConnections()), this.o.drainTimeoutMs);
      await closed;
      clearTimeout(timer);
      await Promise.all([this.gateway?.close(), this.mesh.close()]);
      this.o.logger.info(`region ${this.o.region} stopped`);
    })();
    return this.stopping;
  }
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
