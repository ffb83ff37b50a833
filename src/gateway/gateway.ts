// The region's HTTP edge. Per request, as the design reads:
//   cache  ->  home-region forwarding  ->  application replay  ->  local app or failover
// Each stage is its own file with one signature (stages/*.ts); this file reads the
// request under the limits, runs the stages, and writes the reply with the headers that
// say where and why.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { HttpCache } from '../cache/index.js';
import type { RegionId } from '../lib/index.js';
import { meshHeaders, type MeshClient } from '../mesh/index.js';
import { BodyTooLarge, readRequestBody } from './body.js';
import { forwardedFromHeader, LocalApp, replayedFromHeader } from './dispatch.js';
import { sendError } from './errors.js';
import type { Exchange, Next, Reply, Stage } from './exchange.js';
import { endToEnd, withForwarding } from './headers.js';
import { compileHomeRules, type HomeRules } from './home.js';
import { cacheStage } from './stages/cache.js';
import { homeStage } from './stages/home.js';
import { origin, type FailoverCandidate } from './stages/origin.js';
import { replayStage } from './stages/replay.js';

export type { FailoverCandidate };

export interface GatewayLimits {
  readonly maxBodyBytes: number;
  readonly replayMaxBodyBytes: number;
  readonly upstreamConnectTimeoutMs: number;
  readonly upstreamTimeoutMs: number;
}

export interface GatewayOptions {
  readonly region: RegionId;
  readonly regions: readonly RegionId[];
  readonly appUrl: string;
  /** The failure detector's verdict on the local application. */
  readonly appUp: () => boolean;
  /** The failure detector's verdict on any region. */
  readonly regionUp: (id: RegionId) => boolean;
  /** Healthy regions other than this one, best first, as the routing function ranks them. */
  readonly failoverCandidates: () => readonly FailoverCandidate[];
  readonly mesh: MeshClient;
  readonly limits: GatewayLimits;
  readonly home: HomeRules;
  readonly cache?: {
    readonly cache: HttpCache;
    readonly maxObjectBytes: number;
    /** Regions whose responses may not be stored here: their data stays in their jurisdiction (residency.ts). */
    readonly noStoreFrom?: readonly string[];
  };
  /** How many other regions one request may be offered to before giving up. */
  readonly maxForwardAttempts: number;
  readonly onRequest?: (r: { route: 'local' | 'forward' | 'error'; status: number; servedBy: string; cache: string; ms: number }) => void;
}

export class Gateway {
  readonly app: LocalApp;
  private readonly run: Next;

  constructor(private readonly o: GatewayOptions) {
    this.app = new LocalApp({ url: o.appUrl, connectTimeoutMs: o.limits.upstreamConnectTimeoutMs, responseTimeoutMs: o.limits.upstreamTimeoutMs });
    const regions = new Set<string>(o.regions);
    const t = o.limits.upstreamTimeoutMs;
    const stages: Stage[] = [
      ...(o.cache === undefined ? [] : [cacheStage({ cache: o.cache.cache, maxObjectBytes: o.cache.maxObjectBytes, self: o.region, noStoreFrom: new Set(o.cache.noStoreFrom ?? []) })]),
      homeStage({ self: o.region, rules: compileHomeRules(o.home), regions, isUp: o.regionUp, mesh: o.mesh, timeoutMs: t }),
      replayStage({ self: o.region, regions, mesh: o.mesh, timeoutMs: t }),
    ];
    const end = origin({ self: o.region, app: this.app, appUp: o.appUp, failoverCandidates: o.failoverCandidates, mesh: o.mesh, timeoutMs: t, maxForwardAttempts: o.maxForwardAttempts });
    this.run = stages.reduceRight<Next>((next, stage) => (x) => stage(x, next), end);
  }

  async close(): Promise<void> {
    await this.app.close();
  }

  /**
   * Handles one request. `from` is set when another region sent it over the mesh
   * (forwarded or replayed): such a request is served here or fails, never sent on.
   */
  async handle(req: IncomingMessage, res: ServerResponse, from?: { forwardedFrom?: string; replayedFrom?: string }): Promise<void> {
    const t0 = performance.now();
    const region = this.o.region;
    let body: Exchange['body'];
    try {
      body = await readRequestBody(req, this.o.limits.maxBodyBytes, this.o.limits.replayMaxBodyBytes);
    } catch (e) {
      if (e instanceof BodyTooLarge) {
        sendError(res, 413, 'body_too_large', `request body over ${this.o.limits.maxBodyBytes} bytes (gateway.max_body_size)`, region, { connection: 'close' });
        this.o.onRequest?.({ route: 'error', status: 413, servedBy: region, cache: 'miss', ms: performance.now() - t0 });
        return;
      }
      res.destroy(); // the client went away mid-body
      return;
    }
    const headers = withForwarding(endToEnd(req.headers), req.socket.remoteAddress ?? 'unknown', req.headers.host);
    // The mesh's markers and credentials stop here: the application never sees them.
    for (const h of [forwardedFromHeader, replayedFromHeader, ...meshHeaders]) delete headers[h];
    const x: Exchange = {
      req,
      method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
      path: req.url ?? '/',
      host: req.headers.host ?? region,
      headers,
      body,
      ...(from?.forwardedFrom !== undefined && { forwardedFrom: from.forwardedFrom }),
      ...(from?.replayedFrom !== undefined && { replayedFrom: from.replayedFrom }),
      timing: [],
      notes: [],
    };
    let reply: Reply;
    try {
      reply = await this.run(x);
    } catch (e) {
      const tooLarge = e instanceof BodyTooLarge;
      sendError(res, tooLarge ? 413 : 502, tooLarge ? 'body_too_large' : 'bad_gateway', tooLarge ? 'request body over gateway.max_body_size' : `gateway: ${(e as Error).message}`, region);
      this.o.onRequest?.({ route: 'error', status: res.statusCode, servedBy: region, cache: 'miss', ms: performance.now() - t0 });
      return;
    }
    await this.write(res, x, reply, t0);
    const kind = reply.route.startsWith('error') ? 'error' : reply.servedBy === region ? 'local' : 'forward';
    this.o.onRequest?.({ route: kind, status: reply.status, servedBy: reply.servedBy, cache: reply.cache ?? 'miss', ms: performance.now() - t0 });
  }

  private async write(res: ServerResponse, x: Exchange, r: Reply, t0: number): Promise<void> {
    const headers: Record<string, string | string[]> = { ...r.headers };
    const upstreamTiming = headers['server-timing'];
    headers['x-meridian-region'] = r.servedBy;
    headers['x-meridian-route'] = r.route;
    headers['x-meridian-cache'] = r.cache ?? 'miss';
    headers['server-timing'] = [
      `gateway;dur=${(performance.now() - t0).toFixed(1)};desc="${this.o.region}"`,
      ...x.timing,
      ...(upstreamTiming === undefined ? [] : [String(upstreamTiming)]),
    ].join(', ');
    try {
      res.writeHead(r.status, headers);
    } catch {
      // A header value the upstream sent that Node will not write: answer, don't crash.
      res.destroy();
      return;
    }
    if (x.method === 'HEAD' || r.body === null) {
      await drainQuietly(r.body);
      res.end();
      return;
    }
    if (Buffer.isBuffer(r.body)) {
      res.end(r.body);
      return;
    }
    try {
      for await (const chunk of r.body) {
        if (!res.write(chunk as Buffer)) await drained(res);
        if (res.destroyed) break;
      }
      res.end();
    } catch {
      // The upstream broke mid-body: the client must see a broken response, not a short one.
      res.destroy();
    }
  }
}

/** Waits for the client to take more, or to go away; leaves no listener behind. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

async function drainQuietly(body: Reply['body']): Promise<void> {
  if (body === null || Buffer.isBuffer(body)) return;
  try {
    for await (const _ of body) {
      // discard
    }
  } catch {
    // nothing to keep
  }
}
