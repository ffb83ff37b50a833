// The client side of the mesh: one keep-alive pool per peer, every request signed.
// Uses undici directly (not fetch) on this path for its pooling and lower overhead.

import type { Readable } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import type { RegionId } from '../lib/index.js';
import { sign } from './auth.js';

export interface MeshAddress {
  readonly host: string;
  readonly port: number;
}

export interface MeshRequest {
  readonly method: Dispatcher.HttpMethod;
  readonly path: string;
  readonly headers?: Record<string, string | string[]>;
  readonly body?: Buffer | string | Readable;
  readonly timeoutMs: number;
}

export class MeshClient {
  private readonly pools = new Map<RegionId, Pool>();

  /**
   * @param self this region, named in every signature
   * @param dial where to reach each peer: its mesh address, or in the local world the WAN
   *   emulator's relay for the link from this region to it
   */
  constructor(
    private readonly self: RegionId,
    private readonly secret: string,
    private readonly dial: ReadonlyMap<RegionId, MeshAddress>,
    private readonly clock: () => number = Date.now,
    /** Connections per peer: a bound on sockets, and on requests in flight to one peer. */
    private readonly connections = 64,
  ) {}

  private pool(to: RegionId): Pool {
    let p = this.pools.get(to);
    if (p === undefined) {
      const addr = this.dial.get(to);
      if (addr === undefined) throw new Error(`mesh: no address for region ${to}`);
      const host = addr.host.includes(':') ? `[${addr.host}]` : addr.host;
      // Bounded per peer; idle connections closed after 30 s. Forwarded writes, sync pushes
      // and replication share it, each request holding a connection for a round trip, so
      // the bound is the in-flight cap per peer (bench/data: 16 starved a takeover).
      p = new Pool(`http://${host}:${addr.port}`, { connections: this.connections, keepAliveTimeout: 30_000, pipelining: 1 });
      this.pools.set(to, p);
    }
    return p;
  }

  /** Where this region dials `to`, and the credentials for a request to `path` there
   *  (for the raw sockets of upgraded connections). */
  dialFor(to: RegionId, method: string, path: string): { address: MeshAddress; headers: Record<string, string> } | undefined {
    const address = this.dial.get(to);
    return address === undefined ? undefined : { address, headers: sign(this.secret, this.self, method, path, this.clock()) };
  }

  /** The request with a bound on its whole time, the answer's body included: past
   *  `timeoutMs` it is aborted with a TimeoutError. */
  async request(to: RegionId, req: MeshRequest): Promise<Dispatcher.ResponseData> {
    const auth = sign(this.secret, this.self, req.method, req.path, this.clock());
    // Not AbortSignal.timeout(): its timer outlives the request (it is cleared only when the
    // signal is garbage collected), so at mesh rates thousands were pending at once, and
    // those whose signal had been promoted fired seconds later, each aborting a finished
    // request with a new DOMException (~2% of a node's CPU in bench/data part 3). This
    // timer is cleared once the answer's body is done with.
    const aborter = new AbortController();
    const timer = setTimeout(() => aborter.abort(new DOMException(`mesh request to ${to} ${req.path} took over ${req.timeoutMs} ms`, 'TimeoutError')), req.timeoutMs);
    timer.unref(); // as AbortSignal.timeout's: a pending bound does not keep the process alive
    try {
      const res = await this.pool(to).request({
        method: req.method,
        path: req.path,
        headers: { ...req.headers, ...auth },
        body: req.body ?? null,
        headersTimeout: req.timeoutMs,
        bodyTimeout: req.timeoutMs,
        signal: aborter.signal,
      });
      res.body.once('close', () => clearTimeout(timer));
      return res;
    } catch (e) {
      clearTimeout(timer);
      throw e;
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.destroy()));
    this.pools.clear();
  }
}
