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

  async request(to: RegionId, req: MeshRequest): Promise<Dispatcher.ResponseData> {
    const auth = sign(this.secret, this.self, req.method, req.path, this.clock());
    return this.pool(to).request({
      method: req.method,
      path: req.path,
      headers: { ...req.headers, ...auth },
      body: req.body ?? null,
      headersTimeout: req.timeoutMs,
      bodyTimeout: req.timeoutMs,
      signal: AbortSignal.timeout(req.timeoutMs),
    });
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.destroy()));
    this.pools.clear();
  }
}
