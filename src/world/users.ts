// The simulated users: each resolves the service through the GeoDNS (with its own
// address as EDNS Client Subnet, to the resolver nearest it), caches the answer for its
// TTL, and sends requests to the region it was given through a user-side link that adds
// the round trip from the user's city to that region (fibre estimate, as the routing
// model computes it). Requests are spread by think time, not fired in lockstep. What
// each request asks of the application (reads, writes, counter increments over the data
// API) comes from user-requests.ts.

import { Pool } from 'undici';
import type { LatencyModel } from '../geo/index.js';
import { mulberry32, type RegionId } from '../lib/index.js';
import type { StubResolver } from './dns-client.js';
import type { SimUser } from './population.js';
import type { WorldStats } from './stats.js';
import { nextUserRequest, type UserRequest } from './user-requests.js';

export interface UserTarget {
  readonly id: RegionId;
  readonly public: string;
}

export interface UserDriverOptions {
  readonly users: readonly SimUser[];
  readonly regions: readonly UserTarget[];
  readonly latency: LatencyModel;
  readonly resolver: StubResolver;
  readonly stats: WorldStats;
  readonly hostname: string;
  readonly httpPort: number;
  readonly dnsPort: number;
  /** Mean pause between one user's requests. */
  readonly thinkMs: number;
  readonly requestTimeoutMs: number;
  readonly seed: number;
  /** Every request a GET of this path instead of the request mix (the world before data). */
  readonly path?: string;
}

import { setMaxListeners } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';

interface UserState {
  readonly user: SimUser;
  /** Regions by estimated RTT from the user: DNS goes to the nearest that answers. */
  readonly byRtt: readonly { id: RegionId; rttMs: number }[];
  answer: { region: UserTarget; expiresMs: number } | null;
}

export class UserDriver {
  private running = false;
  /** Stopping aborts requests in flight and pauses in progress: a hung region cannot hold the world up. */
  private readonly abort = new AbortController();
  private readonly pools = new Map<string, Pool>();
  private readonly loops: Promise<void>[] = [];
  private readonly byAddress: Map<string, UserTarget>;

  constructor(private readonly o: UserDriverOptions) {
    this.byAddress = new Map(o.regions.map((r) => [r.public, r]));
    // Every user's pause or request in flight listens on this one signal (and stops
    // listening when it ends): hundreds at once is the design, not a leak.
    setMaxListeners(0, this.abort.signal);
  }

  start(): void {
    this.running = true;
    const rand = mulberry32(this.o.seed);
    for (const user of this.o.users) {
      const byRtt = this.o.regions
        .map((r) => ({ id: r.id, rttMs: this.o.latency.clientRtt(user, r.id).ms }))
        .sort((a, b) => a.rttMs - b.rttMs);
      const state: UserState = { user, byRtt, answer: null };
      // Stagger the first requests over one think time.
      this.loops.push(this.loop(state, rand() * this.o.thinkMs, mulberry32(this.o.seed + user.id + 1)));
    }
  }

  private sleep(ms: number): Promise<void> {
    return delay(ms, undefined, { signal: this.abort.signal }).catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    await Promise.all(this.loops);
    await Promise.all([...this.pools.values()].map((p) => p.destroy()));
  }

  private pool(address: string): Pool {
    let p = this.pools.get(address);
    if (p === undefined) {
      p = new Pool(`http://${address}:${this.o.httpPort}`, { connections: 64, keepAliveTimeout: 10_000 });
      this.pools.set(address, p);
    }
    return p;
  }

  private async loop(s: UserState, firstDelayMs: number, rand: () => number): Promise<void> {
    await this.sleep(firstDelayMs);
    while (this.running) {
      await this.once(s, rand);
      if (!this.running) break;
      // Exponential think time: requests arrive as a Poisson process per user.
      await this.sleep(Math.min(this.o.thinkMs * 5, -Math.log(1 - rand()) * this.o.thinkMs));
    }
  }

  private async resolve(s: UserState): Promise<UserTarget | null> {
    const now = Date.now();
    if (s.answer !== null && s.answer.expiresMs > now) return s.answer.region;
    // Ask the nearest resolver that answers, as anycast DNS would deliver the query.
    for (const candidate of s.byRtt.slice(0, 3)) {
      if (!this.running) return null;
      const target = this.o.regions.find((r) => r.id === candidate.id);
      if (target === undefined) continue;
      this.o.stats.dnsQueries++;
      try {
        await this.sleep(candidate.rttMs / 2);
        const r = await this.o.resolver.query({ host: target.public, port: this.o.dnsPort }, this.o.hostname, { ip: s.user.ip, prefix: 24 }, 1000);
        await this.sleep(candidate.rttMs / 2);
        const region = r.addresses.map((a) => this.byAddress.get(a)).find((x) => x !== undefined);
        if (region === undefined) throw new Error(`DNS answered ${r.rcode} with ${r.addresses.join(', ') || 'no address'}`);
        s.answer = { region, expiresMs: Date.now() + r.ttlSec * 1000 };
        return region;
      } catch {
        if (this.running) this.o.stats.dnsErrors++;
      }
    }
    return null;
  }

  private async once(s: UserState, rand: () => number): Promise<void> {
    const target = await this.resolve(s);
    const nearest = s.byRtt[0]?.id as RegionId;
    // The user's home is the region nearest it: its account and cart live there.
    const ask: UserRequest = this.o.path === undefined ? nextUserRequest(s.user, nearest, rand) : { op: 'page', method: 'GET', path: this.o.path };
    const base = { user: s.user.id, continent: s.user.continent, nearest, op: ask.op };
    if (target === null) {
      if (!this.running) return; // the resolver was closed by the stop, not by a failure
      this.o.stats.record({ ...base, atMs: Date.now(), resolvedTo: null, servedBy: null, status: 0, ok: false, latencyMs: 0, error: 'dns' });
      return;
    }
    const rttMs = s.byRtt.find((x) => x.id === target.id)?.rttMs ?? 0;
    const t0 = performance.now();
    const atMs = Date.now();
    let status = 0;
    let servedBy: string | null = null;
    let error: string | undefined;
    try {
      await this.sleep(rttMs / 2); // the user's link, on the way there
      const res = await this.pool(target.public).request({
        method: ask.method,
        path: ask.path,
        headers: { 'user-agent': `meridian-world-user/${s.user.id}`, ...(ask.body !== undefined && { 'content-type': 'application/json' }) },
        ...(ask.body !== undefined && { body: ask.body }),
        headersTimeout: this.o.requestTimeoutMs,
        bodyTimeout: this.o.requestTimeoutMs,
        signal: this.abort.signal,
      });
      await res.body.dump();
      status = res.statusCode;
      const h = res.headers['x-meridian-region'];
      servedBy = (Array.isArray(h) ? h[0] : h) ?? null;
      await this.sleep(rttMs / 2); // and on the way back
    } catch (e) {
      if (!this.running) return; // stopped mid-request: not an outcome the user saw
      error = (e as { code?: string }).code ?? (e as Error).message;
      // A failed request drops the cached answer: the next one asks DNS again.
      s.answer = null;
    }
    if (!this.running) return; // the run ended during this request's link delay
    const ok = status >= 200 && status < 500 && error === undefined;
    this.o.stats.record({ ...base, atMs, resolvedTo: target.id, servedBy, status, ok, latencyMs: performance.now() - t0, ...(error !== undefined && { error }) });
  }
}
