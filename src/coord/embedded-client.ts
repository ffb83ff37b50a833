// The region nodes' side of the embedded coordinator: each call one signed POST over a
// small keep-alive pool, bounded by its timeout; failures come back as the typed errors.
// Watches are long polls in a loop that resumes from the next revision after any
// transient failure, so a coordinator that blips loses a watcher nothing.

import { Pool } from 'undici';
import { sign } from '../mesh/index.js';
import { defaultCallTimeoutMs, type CallOptions, type Commit, type Coordinator, type CoordRecord, type Lease, type LeaseId, type Listing, type Revision, type Watch, type WatchEvent, type WatchOptions } from './coordinator.js';
import type { Failure, Reply } from './embedded-core.js';
import { coordPathPrefix, type Endpoint } from './embedded-wire.js';
import { Compacted, Conflict, CoordBadRequest, CoordTimeout, CoordUnavailable, LeaseExpired, type CoordError } from './errors.js';

export interface EmbeddedClientOptions {
  readonly address: { readonly host: string; readonly port: number };
  readonly secret: string;
  /** Who signs: the region id (or 'world' for the supervisor). */
  readonly from: string;
  readonly callTimeoutMs?: number;
  /** How long one watch request waits for a change before asking again. */
  readonly watchWaitMs?: number;
}

/** Backoff bounds between a watch's retries after a transient failure. */
const watchRetryMinMs = 50;
const watchRetryMaxMs = 1000;

export class EmbeddedCoordinator implements Coordinator {
  readonly kind = 'embedded';
  private readonly pool: Pool;
  private readonly timeoutMs: number;
  private readonly watches = new Set<{ cancel(): Promise<void> }>();
  private closed = false;

  constructor(private readonly o: EmbeddedClientOptions) {
    const host = o.address.host.includes(':') ? `[${o.address.host}]` : o.address.host;
    // Bounded: a few connections for calls plus one per watch held open.
    this.pool = new Pool(`http://${host}:${o.address.port}`, { connections: 32, keepAliveTimeout: 30_000, pipelining: 1 });
    this.timeoutMs = o.callTimeoutMs ?? defaultCallTimeoutMs;
  }

  async grantLease(ttlMs: number, o?: CallOptions): Promise<Lease> {
    const r = await this.call('lease/grant', { ttlMs }, o);
    if (r.kind !== 'lease') throw unexpected(r);
    return { id: r.id, ttlMs: r.ttlMs };
  }

  async keepAlive(lease: LeaseId, o?: CallOptions): Promise<number> {
    const r = await this.call('lease/keepalive', { lease }, o);
    if (r.kind !== 'ttl') throw unexpected(r);
    return r.ttlMs;
  }

  async revokeLease(lease: LeaseId, o?: CallOptions): Promise<void> {
    await this.call('lease/revoke', { lease }, o);
  }

  async get(key: string, o?: CallOptions): Promise<CoordRecord | null> {
    const r = await this.call('get', { key }, o);
    if (r.kind !== 'record') throw unexpected(r);
    return r.record;
  }

  async list(prefix: string, o?: CallOptions): Promise<Listing> {
    const r = await this.call('list', { prefix }, o);
    if (r.kind !== 'listing') throw unexpected(r);
    return r.listing;
  }

  async commit(c: Commit, o?: CallOptions): Promise<Revision> {
    const r = await this.call('commit', c, o);
    if (r.kind !== 'revision') throw unexpected(r);
    return r.revision;
  }

  async watch(prefix: string, w: WatchOptions): Promise<Watch> {
    const waitMs = this.o.watchWaitMs ?? 10_000;
    // The first request pins "from now" to a revision before watch() returns, so a change
    // made right after it is delivered.
    let next: Revision = w.fromRevision ?? (await this.nowRevision(prefix));
    let stopped = false;
    let inFlight: AbortController | undefined;
    const loop = (async () => {
      let backoffMs = watchRetryMinMs;
      while (!stopped && !this.closed) {
        inFlight = new AbortController();
        try {
          const r = await this.call('watch', { prefix, fromRevision: next, waitMs }, { timeoutMs: waitMs + this.timeoutMs }, inFlight.signal);
          if (r.kind !== 'events') throw unexpected(r);
          for (const e of r.events) if (!stopped) w.onEvent(e as WatchEvent);
          next = r.nextRevision;
          backoffMs = watchRetryMinMs;
        } catch (e) {
          if (stopped || this.closed) break;
          if (!(e instanceof CoordUnavailable)) {
            stopped = true;
            w.onEnd?.(e as Error);
            break;
          }
          await new Promise((resolve) => setTimeout(resolve, backoffMs));
          backoffMs = Math.min(watchRetryMaxMs, backoffMs * 2);
        }
      }
    })();
    const handle = {
      cancel: async (): Promise<void> => {
        stopped = true;
        inFlight?.abort();
        this.watches.delete(handle);
        await loop;
      },
    };
    this.watches.add(handle);
    return handle;
  }

  /** The revision a watch "from now" starts at: a watch request that does not wait. */
  private async nowRevision(prefix: string): Promise<Revision> {
    const r = await this.call('watch', { prefix, waitMs: 0 });
    if (r.kind !== 'events') throw unexpected(r);
    return r.nextRevision;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.watches].map((w) => w.cancel()));
    await this.pool.destroy();
  }

  private async call(name: Endpoint, body: unknown, o?: CallOptions, cancel?: AbortSignal): Promise<Reply> {
    if (this.closed) throw new CoordUnavailable('the coordinator client is closed');
    const timeoutMs = o?.timeoutMs ?? this.timeoutMs;
    const path = `${coordPathPrefix}${name}`;
    const signal = cancel === undefined ? AbortSignal.timeout(timeoutMs) : AbortSignal.any([cancel, AbortSignal.timeout(timeoutMs)]);
    let status: number;
    let payload: unknown;
    try {
      const res = await this.pool.request({
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json', ...sign(this.o.secret, this.o.from, 'POST', path, Date.now()) },
        body: JSON.stringify(body),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal,
      });
      status = res.statusCode;
      payload = await res.body.json();
    } catch (e) {
      if (signal.aborted && cancel?.aborted !== true) throw new CoordTimeout(`coord ${name}`, timeoutMs);
      throw new CoordUnavailable(`coord ${name}: ${(e as Error).message}`);
    }
    if (status === 200) return payload as Reply;
    throw fromFailure(status, (payload as { failure?: Failure | { code: string; message: string } }).failure);
  }
}

function fromFailure(status: number, f: Failure | { code: string; message: string } | undefined): CoordError {
  if (f === undefined) return new CoordUnavailable(`coordinator answered ${status}`);
  switch (f.code) {
    case 'conflict':
      return new Conflict((f as Extract<Failure, { code: 'conflict' }>).key);
    case 'lease-expired':
      return new LeaseExpired((f as Extract<Failure, { code: 'lease-expired' }>).lease);
    case 'compacted': {
      const c = f as Extract<Failure, { code: 'compacted' }>;
      return new Compacted(c.fromRevision, c.oldestRevision);
    }
    case 'bad-request':
      return new CoordBadRequest((f as { message: string }).message);
    case 'unauthenticated':
      return new CoordUnavailable(`the coordinator refused this node's signature (${(f as { message: string }).message}): is the mesh secret the world's?`);
    default:
      return new CoordUnavailable(`coordinator answered ${status}: ${'message' in f ? f.message : f.code}`);
  }
}

function unexpected(r: Reply): CoordError {
  return new CoordUnavailable(`coordinator answered an unexpected ${r.kind}`);
}

