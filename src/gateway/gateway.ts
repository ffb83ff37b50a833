// The region's HTTP edge. Per request, as the design reads:
//   cache  ->  home-region forwarding  ->  application replay  ->  local app or failover
// Each stage is its own file with one signature (stages/*.ts); this file reads the
// request under the limits, runs the stages, and writes the reply with the headers that
// say where and why. A plain GET or HEAD that is a fresh cache hit is answered before
// any of that (hit.ts).

import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { HttpCache } from '../cache/index.js';
import type { RegionId } from '../lib/index.js';
import { meshHeaders, type MeshClient } from '../mesh/index.js';
import { BodyTooLarge, declaresNoBody, noBody, readRequestBody } from './body.js';
import { forwardedFromHeader, LocalApp, replayedFromHeader } from './dispatch.js';
import { sendError } from './errors.js';
import type { Exchange, Next, Reply, Stage } from './exchange.js';
import { forwardHeaders, replyFields } from './headers.js';
import { HitWriter, isPlainRequest } from './hit.js';
import { compileHomeRules, type HomeRules } from './home.js';
import { cacheStage } from './stages/cache.js';
import { homeStage } from './stages/home.js';
import { origin, type FailoverCandidate } from './stages/origin.js';
import { replayStage } from './stages/replay.js';
import { durMs } from './timing.js';

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
  /** Once per request, when it is answered; positional, so a request allocates nothing for it. */
  readonly onRequest?: (route: 'local' | 'forward' | 'error', status: number, servedBy: string, cache: string, ms: number) => void;
}

/** The mesh's markers and credentials stop at the edge: the application never sees them. */
const meshOnly: ReadonlySet<string> = new Set([forwardedFromHeader, replayedFromHeader, ...meshHeaders]);

const done = Promise.resolve();

export class Gateway {
  readonly app: LocalApp;
  private readonly run: Next;
  private readonly hits: HitWriter | undefined;

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
    this.hits = o.cache === undefined ? undefined : new HitWriter(o.region);
  }

  async close(): Promise<void> {
    await this.app.close();
  }

  /**
   * Handles one request. `from` is set when another region sent it over the mesh
   * (forwarded or replayed): such a request is served here or fails, never sent on.
   */
  handle(req: IncomingMessage, res: ServerResponse, from?: { forwardedFrom?: string; replayedFrom?: string }): Promise<void> {
    // A forwarded request was looked up in its region's cache already; it skips this one.
    if (from === undefined && this.hit(req, res)) return done;
    return this.handleFully(req, res, from);
  }

  /** The fast path: a plain GET or HEAD answered by a fresh stored response, or false. */
  private hit(req: IncomingMessage, res: ServerResponse): boolean {
    const c = this.o.cache;
    const host = req.headers.host;
    if (c === undefined || this.hits === undefined || host === undefined || !isPlainRequest(req.method, req.headers)) return false;
    const t0 = performance.now();
    const found = c.cache.freshHit(host, req.url ?? '/', req.headers);
    if (found === undefined) return false;
    this.hits.write(res, req.method === 'HEAD', found.entry, found.ageSec, t0);
    this.o.onRequest?.('local', found.entry.status, this.o.region, 'hit', performance.now() - t0);
    return true;
  }

  private async handleFully(req: IncomingMessage, res: ServerResponse, from: { forwardedFrom?: string; replayedFrom?: string } | undefined): Promise<void> {
    const t0 = performance.now();
    const region = this.o.region;
    let body: Exchange['body'] = noBody;
    if (!declaresNoBody(req)) {
      try {
        body = await readRequestBody(req, this.o.limits.maxBodyBytes, this.o.limits.replayMaxBodyBytes);
      } catch (e) {
        if (e instanceof BodyTooLarge) {
          sendError(res, 413, 'body_too_large', `request body over ${this.o.limits.maxBodyBytes} bytes (gateway.max_body_size)`, region, { connection: 'close' });
          this.o.onRequest?.('error', 413, region, 'miss', performance.now() - t0);
          return;
        }
        res.destroy(); // the client went away mid-body
        return;
      }
    }
    const x: Exchange = {
      req,
      method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
      path: req.url ?? '/',
      host: req.headers.host ?? region,
      headers: forwardHeaders(req.headers, req.socket.remoteAddress ?? 'unknown', req.headers.host, meshOnly),
      body,
      forwardedFrom: from?.forwardedFrom,
      replayedFrom: from?.replayedFrom,
      timing: [],
      notes: [],
    };
    let reply: Reply;
    try {
      reply = await this.run(x);
    } catch (e) {
      const tooLarge = e instanceof BodyTooLarge;
      sendError(res, tooLarge ? 413 : 502, tooLarge ? 'body_too_large' : 'bad_gateway', tooLarge ? 'request body over gateway.max_body_size' : `gateway: ${(e as Error).message}`, region);
      this.o.onRequest?.('error', res.statusCode, region, 'miss', performance.now() - t0);
      return;
    }
    await this.write(res, x, reply, t0);
    const kind = reply.route.startsWith('error') ? 'error' : reply.servedBy === region ? 'local' : 'forward';
    this.o.onRequest?.(kind, reply.status, reply.servedBy, reply.cache ?? 'miss', performance.now() - t0);
  }

  private write(res: ServerResponse, x: Exchange, r: Reply, t0: number): Promise<void> {
    const fields = replyFields(r.headers);
    const upstreamTiming = r.headers['server-timing'];
    let timing = `gateway;dur=${durMs(performance.now() - t0)};desc="${this.o.region}"`;
    for (const t of x.timing) timing += `, ${t}`;
    if (upstreamTiming !== undefined) timing += `, ${String(upstreamTiming)}`;
    fields.push('x-meridian-region', r.servedBy, 'x-meridian-route', r.route, 'x-meridian-cache', r.cache ?? 'miss', 'server-timing', timing);
    try {
      res.writeHead(r.status, fields);
    } catch {
      // A header value the upstream sent that Node will not write: answer, don't crash.
      res.destroy();
      return drainQuietly(r.body);
    }
    if (x.method === 'HEAD' || r.body === null) {
      res.end();
      return drainQuietly(r.body);
    }
    if (Buffer.isBuffer(r.body)) {
      res.end(r.body);
      return done;
    }
    // undici's bodies are streams: piped, without a promise per chunk.
    if (r.body instanceof Readable) return pipeBody(r.body, res);
    return writeChunks(r.body, res);
  }
}

/**
 * Streams an upstream body to the client with backpressure. An upstream that breaks
 * mid-body breaks the response (the client must see a broken response, not a short one); a
 * client that goes away ends the upstream body. Resolves when either is done.
 */
function pipeBody(body: Readable, res: ServerResponse): Promise<void> {
  return new Promise<void>((resolve) => {
    let over = false;
    const onData = (chunk: Buffer): void => {
      if (!res.write(chunk)) body.pause();
    };
    const onDrain = (): void => void body.resume();
    const finish = (how: 'end' | 'broken' | 'gone'): void => {
      if (over) return;
      over = true;
      body.off('data', onData).off('end', onEnd).off('error', onError);
      res.off('drain', onDrain).off('close', onClose);
      if (how === 'end') res.end();
      else if (how === 'broken') res.destroy();
      else body.destroy();
      resolve();
    };
    const onEnd = (): void => finish('end');
    const onError = (): void => finish('broken');
    const onClose = (): void => finish(res.writableFinished ? 'end' : 'gone');
    body.on('data', onData).on('end', onEnd).on('error', onError);
    res.on('drain', onDrain).on('close', onClose);
  });
}

/** Other bodies (a pass-through's replay of chunks already read, then the rest). */
async function writeChunks(body: AsyncIterable<Buffer>, res: ServerResponse): Promise<void> {
  try {
    for await (const chunk of body) {
      if (!res.write(chunk)) await drained(res);
      if (res.destroyed) break;
    }
    res.end();
  } catch {
    // The upstream broke mid-body: the client must see a broken response, not a short one.
    res.destroy();
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
