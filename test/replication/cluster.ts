// Three regions in this process, each with a real Store (SQLite in a temp dir), a real
// node:http mesh server on an ephemeral 127.0.0.1 port that verifies the mesh signature,
// and a Replicator wired to the others through MeshClient.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { regionId, type RegionId } from '../../src/lib/index.js';
import { MeshClient, verify, type MeshAddress } from '../../src/mesh/index.js';
import { defaultReplicationConfig, Replicator, type ReplicationConfig } from '../../src/replication/index.js';
import { Store, type LocalWrite } from '../../src/store/index.js';

export const secret = 'replication-test-secret-0123456789';
export const regions = ['eu-west-1', 'eu-central-1', 'us-east-1'] as const;
const jurisdictionOf: Record<string, string> = { 'eu-west-1': 'eu', 'eu-central-1': 'eu', 'us-east-1': 'us' };

/** EU residency is strict: rows homed in an EU region stay in EU regions. */
export function mayStoreAt(region: string, _table: string, home: string | null): boolean {
  return home === null || jurisdictionOf[home] !== 'eu' || jurisdictionOf[region] === 'eu';
}

export type Link = 'up' | 'drop' | 'refuse';

export interface Rig {
  readonly region: string;
  store: Store;
  replicator: Replicator;
  readonly mesh: MeshClient;
  readonly server: Server;
  readonly path: string;
  /** How this region's mesh server treats incoming requests: a partition is 'drop'. */
  link: Link;
  unauthenticated: number;
}

export interface Cluster {
  readonly rigs: Map<string, Rig>;
  readonly dir: string;
  readonly config: ReplicationConfig;
  rig(region: string): Rig;
  write(region: string, ...writes: LocalWrite[]): void;
  /** Closes a region's store and replicator, lets `surgery` edit its file, opens both again. */
  restart(region: string, surgery?: (path: string) => void): Promise<void>;
  close(): Promise<void>;
}

export const testConfig: ReplicationConfig = { ...defaultReplicationConfig, flushMs: 5, maxBatch: 64, maxInflight: 4, retryMs: 300, heartbeatMs: 100, antiEntropyMs: 60_000, snapshotPageSize: 16 };

const silent = pino({ level: 'silent' });

function openStore(path: string, region: string): Store {
  return new Store({ path, region, mayStore: (t, h) => mayStoreAt(region, t, h), synchronous: 'normal', maxClockOffsetMs: 60_000 });
}

/** Metrics callbacks a test may watch, per region. */
export interface Observers {
  onApplied?(region: string, source: string, lagMs: number, count: number): void;
  onConflict?(region: string): void;
}

export async function startCluster(config: Partial<ReplicationConfig> = {}, observers: Observers = {}): Promise<Cluster> {
  const cfg = { ...testConfig, ...config };
  const dir = mkdtempSync(join(tmpdir(), 'meridian-replication-'));
  const rigs = new Map<string, Rig>();
  const servers = new Map<string, { server: Server; port: number }>();
  for (const region of regions) {
    const server = createServer((req, res) => {
      const rig = rigs.get(region);
      if (rig === undefined) return void res.destroy();
      if (rig.link === 'drop') return void req.socket.destroy();
      if (rig.link === 'refuse') {
        res.writeHead(503, { 'content-type': 'application/json' });
        return void res.end('{"error":"partitioned"}');
      }
      const path = req.url ?? '/';
      // As the region node does: the signature is checked before replication sees the request.
      const auth = verify(secret, req.headers, req.method ?? 'GET', path, Date.now());
      if (!auth.ok) {
        rig.unauthenticated++;
        res.writeHead(401, { 'content-type': 'application/json' });
        return void res.end(JSON.stringify({ error: 'unauthenticated', reason: auth.reason }));
      }
      void rig.replicator.handle(req, res, path, auth.from).then((handled) => {
        if (!handled) {
          res.writeHead(404);
          res.end();
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    servers.set(region, { server, port: (server.address() as AddressInfo).port });
  }
  const dial = new Map<RegionId, MeshAddress>([...servers].map(([r, s]) => [regionId(r), { host: '127.0.0.1', port: s.port }]));
  const makeReplicator = (region: string, store: Store, mesh: MeshClient): Replicator =>
    new Replicator({
      region,
      peers: regions.filter((r) => r !== region),
      store,
      mesh,
      mayStoreAt,
      tables: { counters: ['hits'] },
      config: cfg,
      logger: silent,
      now: Date.now,
      onApplied: (source, lagMs, count) => observers.onApplied?.(region, source, lagMs, count),
      onConflict: () => observers.onConflict?.(region),
    });
  for (const region of regions) {
    const path = join(dir, `${region}.db`);
    const store = openStore(path, region);
    const mesh = new MeshClient(regionId(region), secret, dial);
    const s = servers.get(region) as { server: Server };
    rigs.set(region, { region, store, mesh, server: s.server, path, link: 'up', unauthenticated: 0, replicator: makeReplicator(region, store, mesh) });
  }
  for (const rig of rigs.values()) rig.replicator.start();

  const rig = (region: string): Rig => {
    const r = rigs.get(region);
    if (r === undefined) throw new Error(`no region ${region}`);
    return r;
  };
  return {
    rigs,
    dir,
    config: cfg,
    rig,
    write(region, ...writes) {
      const r = rig(region);
      const out = r.store.commit(
        writes.map((write) => ({ write })),
        Date.now(),
      );
      for (const o of out) if (!o.ok) throw new Error(`write refused: ${JSON.stringify(o)}`);
      r.replicator.notifyCommitted();
    },
    async restart(region, surgery) {
      const r = rig(region);
      await r.replicator.stop();
      r.store.close();
      surgery?.(r.path);
      r.store = openStore(r.path, region);
      r.replicator = makeReplicator(region, r.store, r.mesh);
      r.replicator.start();
    },
    async close() {
      await Promise.all([...rigs.values()].map((r) => r.replicator.stop()));
      for (const r of rigs.values()) {
        await r.mesh.close();
        r.server.closeAllConnections();
        await new Promise<void>((done) => r.server.close(() => done()));
        r.store.close();
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs `body` against a fresh cluster, and closes it (files removed) whatever happens. */
export async function withCluster(config: Partial<ReplicationConfig>, body: (c: Cluster) => Promise<void>, observers: Observers = {}): Promise<void> {
  const c = await startCluster(config, observers);
  try {
    await body(c);
  } finally {
    await c.close();
  }
}

/** Polls until `check` returns true; fails with `describe()` after the deadline. */
export async function eventually(what: string, check: () => boolean, describe: () => unknown = () => '', deadlineMs = 10_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`not converged within ${deadlineMs} ms: ${what}\n${JSON.stringify(describe(), null, 1)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
