// The local world's supervisor: starts one node and one example application per region
// as real processes on loopback addresses, the WAN relays between every ordered pair of
// regions, and the users; exposes the controls (kill, pause, restart, partition, heal,
// latency) to code and, through control.ts, over HTTP; stops everything it started.
// Every node gets the world's mesh secret, the world's application token and a data
// directory of its own under the run directory; every application gets the token and its
// own region's data API address (the node's mesh address, directly: only region-to-region
// traffic crosses the WAN relays). With coord.kind embedded the supervisor runs the
// coordinator itself, outside every region (a region's loss must not take the leases
// along), on a free port of 127.0.0.1, and passes its address to each node (--coord).

import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { loadRegionCatalog } from '../geo/index.js';
import { EmbeddedCoordServer } from '../coord/index.js';
import { connect } from '../data/client/index.js';
import { regionId, type RegionId } from '../lib/index.js';
import { sign } from '../mesh/index.js';
import { latencyModel, parseTopology, type Topology } from '../topology/index.js';
import { StubResolver } from './dns-client.js';
import { relayHost, worldProblems, worldRegions, type WorldRegion } from './layout.js';
import { DataMonitor } from './data-monitor.js';
import { drawPopulation, loadCityIps, loadWorldCities, type SimUser } from './population.js';
import { WorldChild } from './processes.js';
import { WorldStats } from './stats.js';
import { catalogItems } from './user-requests.js';
import { UserDriver } from './users.js';
import { WanEmulator, type PartitionMode } from './wan.js';

/** V8 flags a region node runs with, as bin/meridian.js's first line has them (why: there). */
export const regionNodeV8Flags: readonly string[] = ['--max-semi-space-size=4'];

export interface WorldOptions {
  /** The topology file's text (loopback addresses only). */
  readonly topologyYaml: string;
  readonly users: number;
  readonly seed: number;
  /** Where logs, the topology and world.json go. */
  readonly runDir: string;
  readonly thinkMs?: number;
  readonly jitterMs?: number;
  /** Second octet of the relay addresses (127.N.i.j); default 1. */
  readonly relayOctet?: number;
  readonly onEvent?: (e: WorldEvent) => void;
}

export interface WorldEvent {
  readonly atMs: number;
  readonly kind: string;
  readonly detail: string;
}

const packageRoot = new URL('../../', import.meta.url).pathname;
const meridianBin = join(packageRoot, 'bin', 'meridian.js');
const exampleApp = join(packageRoot, 'examples', 'app', 'server.mjs');

export interface RegionProcesses {
  readonly wr: WorldRegion;
  readonly node: WorldChild;
  readonly app: WorldChild;
}

export class World {
  readonly topology: Topology;
  readonly secret = randomBytes(24).toString('base64url');
  /** What the applications present to their node's data API; made per world, like the secret. */
  readonly appToken = randomBytes(24).toString('base64url');
  readonly stats = new WorldStats();
  readonly data: DataMonitor;
  /** Each region's health as the last sample() saw it: up, app down, no answer, or the node's process state. */
  readonly health = new Map<string, string>();
  readonly events: WorldEvent[] = [];
  readonly regions: RegionProcesses[] = [];
  readonly population: SimUser[];
  readonly wan: WanEmulator;
  private users: UserDriver | undefined;
  private resolver: StubResolver | undefined;
  private stopped: Promise<void> | undefined;
  private coord: EmbeddedCoordServer | undefined;
  /** The embedded coordinator's address, once started (coord.kind embedded). */
  coordAddress: { host: string; port: number } | undefined;
  /** When the users started (the world was up); the report's clock starts here. */
  startedMs = Date.now();

  constructor(private readonly o: WorldOptions) {
    const r = parseTopology(o.topologyYaml, loadRegionCatalog());
    if (!r.ok) throw new Error(`world topology is invalid:\n${r.problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`);
    const problems = worldProblems(r.topology.file);
    if (problems.length > 0) throw new Error(problems.join('\n'));
    this.topology = r.topology;
    this.data = new DataMonitor(r.topology.regions.map((x) => x.id));
    this.population = drawPopulation(o.users, o.seed, loadWorldCities(), loadCityIps());
    this.wan = new WanEmulator({ seed: o.seed, onEvent: (e) => this.event(e.kind, `${e.a} <-> ${e.b}: ${e.detail}`) });
    mkdirSync(join(o.runDir, 'logs'), { recursive: true });
  }

  private event(kind: string, detail: string): void {
    const e = { atMs: Date.now(), kind, detail };
    this.events.push(e);
    this.o.onEvent?.(e);
  }

  region(id: string): RegionProcesses {
    const r = this.regions.find((x) => x.wr.region.id === id);
    if (r === undefined) throw new Error(`unknown region ${id}; expected one of ${this.regions.map((x) => x.wr.region.id).join(', ')}`);
    return r;
  }

  async start(): Promise<void> {
    const t = this.topology;
    const topologyPath = join(this.o.runDir, 'topology.yaml');
    writeFileSync(topologyPath, this.o.topologyYaml);
    const wrs = worldRegions(t);
    const model = latencyModel(t);
    const secretEnv = t.file.security.mesh_secret_env;
    const nodeEnv = { ...process.env, [secretEnv]: this.secret, [t.file.security.app_token_env]: this.appToken };
    // Applications get the token, never the mesh secret: they are clients of the data API, not regions.
    const appEnv: NodeJS.ProcessEnv = { ...process.env, MERIDIAN_APP_TOKEN: this.appToken };
    delete appEnv[secretEnv];

    // WAN: a relay for every ordered pair, holding each chunk for half the measured RTT.
    for (const a of wrs) {
      for (const b of wrs) {
        if (a === b) continue;
        await this.wan.addLink({
          from: a.region.id,
          to: b.region.id,
          listen: { host: relayHost(a.index, b.index, this.o.relayOctet), port: b.region.mesh.port },
          target: b.region.mesh,
          rttMs: model.regionRtt(a.region.id, b.region.id).ms,
          jitterMs: this.o.jitterMs ?? 2,
        });
      }
    }

    if (t.file.coord.kind === 'embedded') {
      this.coord = new EmbeddedCoordServer({ host: '127.0.0.1', port: 0, secret: this.secret });
      this.coordAddress = await this.coord.start();
      this.event('coord', `embedded coordinator on ${this.coordAddress.host}:${this.coordAddress.port}`);
    }
    const coordArgs = this.coordAddress === undefined ? [] : ['--coord', `${this.coordAddress.host}:${this.coordAddress.port}`];

    for (const wr of wrs) {
      const id = wr.region.id;
      const meshVia = wrs.filter((b) => b !== wr).map((b) => `${b.region.id}=${relayHost(wr.index, b.index, this.o.relayOctet)}:${b.region.mesh.port}`).join(',');
      const onExit = (c: WorldChild, code: number | null, signal: string | null): void => {
        if (c.state === 'exited') this.event('exit', `${c.spec.name} exited unexpectedly (code ${code}, signal ${signal})`);
      };
      const app = new WorldChild({
        name: `${id}/app`,
        command: process.execPath,
        args: [exampleApp, '--listen', `${wr.appListen.host}:${wr.appListen.port}`, '--region', id, '--exit-with-parent'],
        env: { ...appEnv, MERIDIAN_DATA_URL: dataUrlOf(wr) },
        logFile: join(this.o.runDir, 'logs', `${id}.app.log`),
      }, onExit);
      const node = new WorldChild({
        name: `${id}/node`,
        command: process.execPath,
        args: [...regionNodeV8Flags, ...(process.env.MERIDIAN_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.MERIDIAN_PROF_DIR}`] : []), meridianBin, 'node', '--config', topologyPath, '--region', id, '--exit-with-parent',
          '--data-dir', join(this.o.runDir, id, 'data'), ...(meshVia === '' ? [] : ['--mesh-via', meshVia]), ...coordArgs],
        env: nodeEnv,
        logFile: join(this.o.runDir, 'logs', `${id}.node.log`),
      }, onExit);
      this.regions.push({ wr, node, app });
    }
    for (const r of this.regions) {
      r.app.start();
      r.node.start();
    }
    await this.waitHealthy(30_000);
    this.event('start', `${this.regions.length} regions up`);
    await this.seedCatalog();

    this.resolver = new StubResolver();
    this.users = new UserDriver({
      users: this.population,
      regions: t.regions.map((r) => ({ id: r.id, public: r.public })),
      latency: model,
      resolver: this.resolver,
      stats: this.stats,
      hostname: `${t.file.service.hosts[0] === '@' ? '' : `${t.file.service.hosts[0]}.`}${t.file.service.zone}`,
      httpPort: t.file.node.http_port,
      dnsPort: t.file.node.dns_port,
      thinkMs: this.o.thinkMs ?? 1000,
      requestTimeoutMs: 10_000,
      seed: this.o.seed,
    });
    this.startedMs = Date.now();
    this.users.start();
  }

  /** Asks a node for its /healthz, /status (JSON) or /metrics (text) over the mesh, directly (not through the WAN). */
  async nodeRequest(id: string, path: '/healthz' | '/status' | '/metrics', timeoutMs = 1000): Promise<{ status: number; body: unknown }> {
    const r = this.region(id).wr.region;
    const res = await request(`http://${r.mesh.host}:${r.mesh.port}${path}`, {
      headers: sign(this.secret, 'world', 'GET', path, Date.now()),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
    });
    return { status: res.statusCode, body: path === '/metrics' ? await res.body.text() : await res.body.json() };
  }

  /** The data API address of a region's node, as its application is given it. */
  dataUrl(id: string): string {
    return dataUrlOf(this.region(id).wr);
  }

  /**
   * Writes the catalog the users read, through the first region's data API as an
   * application would (catalog is written at the primary, wherever it is sent). Retried
   * for several seconds: at start the primary's lease is still being taken. A world
   * whose nodes do not serve data, or a topology without that table, runs without it.
   */
  private async seedCatalog(): Promise<void> {
    if (this.topology.file.data.tables.catalog === undefined || this.regions.length === 0) return;
    const first = this.regions[0]?.wr.region.id as string;
    const catalog = connect<{ catalog: { title: string; priceCents: number } }>({ url: this.dataUrl(first), token: this.appToken, timeoutMs: 3000, retries: 10, backoffBaseMs: 200, backoffMaxMs: 1000 }).table('catalog');
    try {
      await Promise.all(catalogItems().map((i) => catalog.put(i.sku, i.value)));
      this.event('data', `catalog: ${catalogItems().length} items written through ${first}`);
    } catch (e) {
      this.event('data', `catalog not written: ${(e as Error).message}`);
    }
  }

  /**
   * Samples every node's /status: its health for the view, its data for the monitor.
   * A node that is not running or not answering counts as such, and its data as unknown.
   */
  async sample(timeoutMs = 800): Promise<void> {
    const now = Date.now();
    await Promise.all(this.regions.map(async (r) => {
      const id = r.wr.region.id;
      if (r.node.state !== 'running') {
        this.health.set(id, r.node.state);
        return this.data.observe(id, null, now);
      }
      try {
        const s = (await this.nodeRequest(id, '/status', timeoutMs)).body as { health?: Record<string, { up: boolean }> };
        this.health.set(id, s.health?.[id]?.up === false ? 'app down' : 'up');
        this.data.observe(id, s, now);
      } catch {
        this.health.set(id, 'no answer');
        this.data.observe(id, null, now);
      }
    }));
  }

  private async waitHealthy(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const pending = new Set(this.regions.map((r) => r.wr.region.id as string));
    while (pending.size > 0) {
      for (const id of [...pending]) {
        try {
          if ((await this.nodeRequest(id, '/healthz', 500)).status === 200) pending.delete(id);
        } catch {
          // not listening yet
        }
      }
      if (pending.size === 0) break;
      const dead = this.regions.find((r) => r.node.state === 'exited' || r.app.state === 'exited');
      if (dead !== undefined) throw new Error(`${dead.wr.region.id} failed to start; see ${join(this.o.runDir, 'logs')}`);
      if (Date.now() > deadline) throw new Error(`regions not healthy after ${timeoutMs} ms: ${[...pending].join(', ')}; see ${join(this.o.runDir, 'logs')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  // ---- controls -------------------------------------------------------------------------

  async killRegion(id: string): Promise<void> {
    await this.region(id).node.kill();
    this.event('kill', `${id} node killed (SIGKILL)`);
  }
  pauseRegion(id: string): void {
    this.region(id).node.pause();
    this.event('pause', `${id} node paused (SIGSTOP)`);
  }
  resumeRegion(id: string): void {
    this.region(id).node.resume();
    this.event('resume', `${id} node resumed (SIGCONT)`);
  }
  async restartRegion(id: string): Promise<void> {
    await this.region(id).node.restart();
    this.event('restart', `${id} node restarted`);
  }
  async killApp(id: string): Promise<void> {
    await this.region(id).app.kill();
    this.event('kill', `${id} app killed (SIGKILL)`);
  }
  async restartApp(id: string): Promise<void> {
    await this.region(id).app.restart();
    this.event('restart', `${id} app restarted`);
  }
  partition(a: string, b: string, mode: PartitionMode = 'blackhole'): void {
    this.wan.partition(regionId(this.region(a).wr.region.id), regionId(this.region(b).wr.region.id), mode);
  }
  isolate(id: string, mode: PartitionMode = 'blackhole'): void {
    this.wan.isolate(regionId(this.region(id).wr.region.id), mode);
  }
  heal(a?: string, b?: string): void {
    this.wan.heal(a === undefined ? undefined : regionId(a), b === undefined ? undefined : regionId(b));
  }
  setLatency(a: string, b: string, rttMs: number, jitterMs?: number): void {
    this.wan.setLatency(regionId(this.region(a).wr.region.id), regionId(this.region(b).wr.region.id), rttMs, jitterMs);
  }

  controlStatus(): Record<string, unknown> {
    return {
      regions: this.regions.map((r) => ({ id: r.wr.region.id, node: r.node.state, nodePid: r.node.pid ?? null, app: r.app.state, appPid: r.app.pid ?? null })),
      links: this.wan.links(),
      users: this.population.length,
      coord: this.coordAddress === undefined ? null : `${this.coordAddress.host}:${this.coordAddress.port}`,
      uptimeSec: Math.round((Date.now() - this.startedMs) / 1000),
    };
  }

  /** Every process of the world, for checks that none is left behind. */
  pids(): number[] {
    return this.regions.flatMap((r) => [r.node.pid, r.app.pid]).filter((p): p is number => p !== undefined);
  }

  regionIds(): RegionId[] {
    return this.topology.regions.map((r) => r.id);
  }

  stop(): Promise<void> {
    this.stopped ??= (async () => {
      const users = this.users?.stop();
      this.resolver?.close(); // rejects queries in flight, so no user waits out a timeout
      await users;
      await Promise.all(this.regions.flatMap((r) => [r.node.stop(5000), r.app.stop(5000)]));
      await this.wan.close();
      await this.coord?.close(); // after the nodes: none of them sees its coordinator vanish first
      this.event('stop', 'world stopped');
    })();
    return this.stopped;
  }

  /** Synchronous last resort (process 'exit'): SIGKILL whatever still runs. */
  killAllNow(): void {
    for (const r of this.regions) {
      r.node.killNow();
      r.app.killNow();
    }
  }
}

function dataUrlOf(wr: WorldRegion): string {
  const m = wr.region.mesh;
  return `http://${m.host.includes(':') ? `[${m.host}]` : m.host}:${m.port}`;
}
