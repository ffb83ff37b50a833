// The shell around the failure detector: probes the local application and every peer's
// /healthz over the mesh on a timer, feeds the results in, and keeps the region health
// view that DNS and the gateway read.

import { request } from 'undici';
import type { RegionId } from '../lib/index.js';
import type { MeshClient } from '../mesh/index.js';
import type { RegionHealth } from '../routing/index.js';
import { sampleOffset, type OffsetSample } from './clock-offset.js';
import { initialHealth, observe, type DetectorConfig, type TargetHealth } from './detector.js';

export interface ProberOptions extends DetectorConfig {
  readonly self: RegionId;
  readonly peers: readonly RegionId[];
  readonly appUrl: string;
  readonly appPath: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly mesh: MeshClient;
  readonly onChange?: (target: string, health: TargetHealth) => void;
  readonly clock?: () => number;
}

/** What one region's node knows of every region, as shown in /status. */
export interface HealthView {
  readonly app: TargetHealth;
  readonly regions: Readonly<Record<string, TargetHealth & { readonly role: 'self' | 'peer' }>>;
}

export class HealthProber {
  private app: TargetHealth;
  private readonly peers = new Map<RegionId, TargetHealth>();
  /** Peer nodes by whether they answer at all (their app may be down): the data path
   *  forwards to a node, not to its application. */
  private readonly nodes = new Map<RegionId, TargetHealth>();
  /** Peers' clocks against ours, from the `nowMs` their /healthz answers carry. */
  readonly offsets = new Map<RegionId, OffsetSample>();
  private timer: NodeJS.Timeout | undefined;
  private inFlight = false;
  private readonly clock: () => number;

  constructor(private readonly o: ProberOptions) {
    this.clock = o.clock ?? Date.now;
    const now = this.clock();
    this.app = initialHealth(now);
    for (const p of o.peers) {
      this.peers.set(p, initialHealth(now));
      this.nodes.set(p, initialHealth(now));
    }
  }

  start(): void {
    void this.round();
    this.timer = setInterval(() => void this.round(), this.o.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
  }

  /** Is the local application serving, as the detector sees it? */
  appUp(): boolean {
    return this.app.up;
  }

  appHealth(): TargetHealth {
    return this.app;
  }

  /** The health map the routing function takes: self by its app, peers by their /healthz. */
  routingHealth(): Map<RegionId, RegionHealth> {
    const m = new Map<RegionId, RegionHealth>([[this.o.self, { up: this.app.up, sinceMs: this.app.sinceMs }]]);
    for (const [id, h] of this.peers) m.set(id, { up: h.up, sinceMs: h.sinceMs });
    return m;
  }

  /** Does the peer's node answer (whatever its app's health)? Self: always. */
  nodeUp(region: RegionId): boolean {
    return region === this.o.self || (this.nodes.get(region)?.up ?? false);
  }

  view(): HealthView {
    const regions: Record<string, TargetHealth & { role: 'self' | 'peer' }> = { [this.o.self]: { ...this.app, role: 'self' } };
    for (const [id, h] of this.peers) regions[id] = { ...h, role: 'peer' };
    return { app: this.app, regions };
  }

  /** One probe of everything; a round still running when the next is due is skipped. */
  private async round(): Promise<void> {
    if (this.inFlight) return;
    this.inFlight = true;
    try {
      await Promise.all([this.probeApp(), ...[...this.peers.keys()].map((p) => this.probePeer(p))]);
    } finally {
      this.inFlight = false;
    }
  }

  private feed(target: string, prev: TargetHealth, ok: boolean, detail: string): TargetHealth {
    const { health, changed } = observe(prev, { ok, nowMs: this.clock(), detail }, this.o);
    if (changed) this.o.onChange?.(target, health);
    return health;
  }

  private async probeApp(): Promise<void> {
    const r = await timed(async () => {
      const res = await request(new URL(this.o.appPath, this.o.appUrl), {
        method: 'GET',
        headersTimeout: this.o.timeoutMs,
        bodyTimeout: this.o.timeoutMs,
        signal: AbortSignal.timeout(this.o.timeoutMs),
      });
      await res.body.dump();
      return res.statusCode;
    });
    this.app = this.feed('app', this.app, r.ok && r.value >= 200 && r.value < 300, describe(r));
  }

  private async probePeer(peer: RegionId): Promise<void> {
    const r = await timed(async () => {
      const sent = this.clock();
      const res = await this.o.mesh.request(peer, { method: 'GET', path: '/healthz', timeoutMs: this.o.timeoutMs });
      const text = await res.body.text();
      const received = this.clock();
      try {
        const peerNow = (JSON.parse(text) as { nowMs?: unknown }).nowMs;
        if (typeof peerNow === 'number') this.offsets.set(peer, sampleOffset(sent, received, peerNow));
      } catch {
        // not JSON: an older node, or not a node at all; no clock sample
      }
      return res.statusCode;
    });
    this.peers.set(peer, this.feed(peer, this.peers.get(peer) ?? initialHealth(this.clock()), r.ok && r.value === 200, describe(r)));
    const node = observe(this.nodes.get(peer) ?? initialHealth(this.clock()), { ok: r.ok && (r.value === 200 || r.value === 503), nowMs: this.clock(), detail: describe(r) }, this.o);
    this.nodes.set(peer, node.health);
  }
}

type Timed<T> = { ok: true; value: T; ms: number } | { ok: false; error: string; ms: number };

async function timed<T>(f: () => Promise<T>): Promise<Timed<T>> {
  const t0 = performance.now();
  try {
    const value = await f();
    return { ok: true, value, ms: performance.now() - t0 };
  } catch (e) {
    const err = e as Error & { code?: string };
    return { ok: false, error: err.name === 'TimeoutError' || err.code === 'UND_ERR_HEADERS_TIMEOUT' ? 'timeout' : (err.code ?? err.message), ms: performance.now() - t0 };
  }
}

function describe(r: Timed<number>): string {
  return r.ok ? `HTTP ${r.value} in ${r.ms.toFixed(0)} ms` : `${r.error} after ${r.ms.toFixed(0)} ms`;
}
