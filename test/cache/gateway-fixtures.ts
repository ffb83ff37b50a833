// The cache through the real gateway: one RegionNode (roles ['gateway'], one region) on
// 127.37.1.1:8080 whose application is a scriptable origin on 127.37.1.1:9000, and whose
// cache runs on a fake clock the origin also dates its responses with — so freshness
// cases never sleep. Each test scripts what the origin answers for its own paths, then
// talks to the gateway over real sockets (undici, or raw bytes) and reads back status,
// body, x-meridian-cache, Age, and how often the origin was asked.

import type { IncomingHttpHeaders, Server } from 'node:http';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { pino } from 'pino';
import { Agent, request } from 'undici';
import { stringify } from 'yaml';
import type { HttpCacheStats } from '../../src/cache/index.js';
import { GeoLocator } from '../../src/geo/index.js';
import { regionId } from '../../src/lib/index.js';
import { RegionNode } from '../../src/node/index.js';
import { parseTopology, type Topology } from '../../src/topology/index.js';
import { Clock } from './fixtures.js';

export const host = '127.37.1.1';
export const gatewayPort = 8080;
export const meshPort = 7070;
export const originPort = 9000;
export const secret = 'cache-gateway-test-secret-0123456789';
/** gateway.upstream_timeout for a hung origin (undici's coarse timers make it about 1 s in practice). */
export const upstreamTimeoutMs = 300;

export function topology(): Topology {
  const r = parseTopology(stringify({
    service: { name: 'shop', zone: 'shop.example.test', hosts: ['www'] },
    regions: [{ id: 'us-east-1', jurisdiction: 'us', public: host, mesh: `${host}:${meshPort}`, app: `http://${host}:${originPort}` }],
    health: { interval: '500ms', timeout: '200ms', down_after: 3, up_after: 1 },
    cache: { max_size: '4MB', rules: [{ match: '/static/**', default_ttl: '1h' }] },
    gateway: { upstream_timeout: `${upstreamTimeoutMs}ms` },
  }));
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.topology;
}

// --- the scriptable origin --------------------------------------------------------------

export interface OriginRequest {
  readonly method: string;
  /** The request target as received. */
  readonly url: string;
  /** The target without its query: what scripts and hit counts go by. */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** 1 for the first request to this path, 2 for the second, ... */
  readonly n: number;
}

/**
 * What the origin answers. Fields left out: 200, a Date from the fake clock, a
 * Content-Length, and the body "body N" (N counts requests for the path). A `date` of
 * undefined sends no Date at all. 'reset' destroys the connection (the app failed);
 * 'hang' never answers (the gateway times out).
 */
export type OriginAnswer =
  | { status?: number; headers?: Record<string, string | string[] | undefined>; body?: string | Buffer }
  | 'reset'
  | 'hang';

export type Script = (req: OriginRequest) => OriginAnswer | Promise<OriginAnswer>;

export class ScriptedOrigin {
  readonly seen: OriginRequest[] = [];
  private readonly scripts = new Map<string, Script>();
  private readonly finished = new Map<string, number>();
  private server: Server | undefined;

  constructor(private readonly clock: Clock) {}

  /** Scripts `path` (without query); a path ending in `*` matches as a prefix. */
  on(path: string, script: Script): void {
    this.scripts.set(path, script);
  }

  /** Requests the origin got for `path` (without query), health probes excluded. */
  requests(path: string): OriginRequest[] {
    return this.seen.filter((r) => r.path === path);
  }

  hits(path: string): number {
    return this.requests(path).length;
  }

  /** Responses for `path` the origin has finished writing. */
  answered(path: string): number {
    return this.finished.get(path) ?? 0;
  }

  reset(): void {
    this.seen.length = 0;
    this.scripts.clear();
    this.finished.clear();
  }

  private scriptFor(path: string): Script | undefined {
    const exact = this.scripts.get(path);
    if (exact !== undefined) return exact;
    let best: [string, Script] | undefined;
    for (const [k, s] of this.scripts) {
      if (k.endsWith('*') && path.startsWith(k.slice(0, -1)) && (best === undefined || k.length > best[0].length)) best = [k, s];
    }
    return best?.[1];
  }

  async start(): Promise<void> {
    const s = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const url = req.url ?? '/';
        const path = url.split('?')[0] ?? url;
        if (path === '/healthz') return void res.end('ok');
        const n = this.hits(path) + 1;
        const seen: OriginRequest = { method: req.method ?? '', url, path, headers: req.headers, body: Buffer.concat(chunks).toString(), n };
        this.seen.push(seen);
        res.sendDate = false; // the Date comes from the fake clock
        res.on('finish', () => this.finished.set(path, this.answered(path) + 1));
        const script: Script = this.scriptFor(path) ?? (() => ({ status: 404, body: `no script for ${path}` }));
        void Promise.resolve(script(seen)).then((a) => {
          if (a === 'hang') return;
          if (a === 'reset') return void req.socket.destroy();
          const status = a.status ?? 200;
          const body = typeof a.body === 'string' ? Buffer.from(a.body) : a.body ?? Buffer.from(`body ${n}`);
          const headers: Record<string, string | string[]> = {};
          const given = a.headers ?? {};
          if (!('date' in given)) headers.date = this.clock.date();
          for (const [k, v] of Object.entries(given)) if (v !== undefined) headers[k] = v;
          const bodiless = status === 204 || status === 304 || (status >= 100 && status < 200);
          if (!bodiless && !Object.keys(headers).some((k) => k.toLowerCase() === 'content-length')) headers['content-length'] = String(body.length);
          res.writeHead(status, headers);
          res.end(bodiless ? undefined : body);
        }, () => req.socket.destroy());
      });
    });
    await new Promise<void>((r) => s.listen(originPort, host, r));
    this.server = s;
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (s === undefined) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
}

// --- the gateway and the client ----------------------------------------------------------

export interface GatewayResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  /** A field's value, several lines joined with ", ". */
  h(name: string): string | undefined;
  readonly text: string;
  readonly bytes: number;
  /** x-meridian-cache */
  readonly cache: string | undefined;
  readonly age: string | undefined;
}

export interface SendInit {
  method?: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
}

export class CacheGateway {
  readonly clock = new Clock();
  readonly origin = new ScriptedOrigin(this.clock);
  // A body that never comes (a Content-Length the gateway does not honour) fails fast.
  private readonly agent = new Agent({ connections: 64, keepAliveTimeout: 2000, headersTimeout: 5000, bodyTimeout: 1500 });
  private node: RegionNode | undefined;

  async start(): Promise<void> {
    await this.origin.start();
    this.node = new RegionNode({
      topology: topology(),
      region: regionId('us-east-1'),
      meshSecret: secret,
      httpPort: gatewayPort,
      dnsPort: 5353,
      roles: ['gateway'],
      drainTimeoutMs: 500,
      logger: pino({ level: 'silent' }),
      geo: new GeoLocator(),
      now: this.clock.now,
    });
    await this.node.start();
  }

  async stop(): Promise<void> {
    await this.node?.stop();
    await this.agent.close();
    await this.origin.stop();
  }

  /** A request to the gateway over a real socket. */
  async send(path: string, init: SendInit = {}): Promise<GatewayResponse> {
    const res = await request(`http://${host}:${gatewayPort}${path}`, {
      method: (init.method ?? 'GET') as 'GET',
      headers: init.headers ?? {},
      body: init.body ?? null,
      dispatcher: this.agent,
    });
    const body = Buffer.from(await res.body.arrayBuffer());
    const h = (k: string): string | undefined => {
      const v = res.headers[k.toLowerCase()];
      return Array.isArray(v) ? v.join(', ') : v;
    };
    return { status: res.statusCode, headers: res.headers, h, text: body.toString(), bytes: body.length, cache: h('x-meridian-cache'), age: h('age') };
  }

  /** Raw bytes to the gateway (what undici will not send); resolves with the reply once the server closes or `waitMs` passes. */
  raw(bytes: string, waitMs = 1000): Promise<string> {
    return new Promise((resolve) => {
      const c = connect(gatewayPort, host, () => c.write(bytes));
      let data = '';
      const timer = setTimeout(() => c.destroy(), waitMs);
      c.on('data', (d: Buffer) => (data += d.toString('latin1')));
      c.on('error', () => undefined);
      c.on('close', () => {
        clearTimeout(timer);
        resolve(data);
      });
    });
  }

  /** POST /cache/purge on the node's mesh/admin server. */
  async purge(body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
    const res = await request(`http://${host}:${meshPort}/cache/purge`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      dispatcher: this.agent,
    });
    return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
  }

  /** The node's cache counters (RegionNode.status()). */
  stats(): HttpCacheStats {
    const s = this.node?.status().cache as HttpCacheStats | null | undefined;
    if (s === null || s === undefined) throw new Error('the node has no cache');
    return s;
  }

  /** Waits until the origin has finished `n` responses for `path`, then lets the gateway store the last. */
  async answered(path: string, n: number): Promise<void> {
    await until(() => this.origin.answered(path) >= n, `${n} answers for ${path}`);
    await sleep(25);
  }
}

/** Polls `cond` until it holds; throws after `timeoutMs`. */
export async function until(cond: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A promise with its resolve function, for holding an origin answer back. */
export function held<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
