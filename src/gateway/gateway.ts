// The region's HTTP edge, basic form: proxy to the local application, or — when the local
// application is down or refuses the connection — forward to the next healthy region the
// routing function ranks, over the mesh. The full gateway (home-region forwarding,
// replay, cache, streaming bodies) builds on this request path.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { Pool, type Dispatcher } from 'undici';
import type { RegionId } from '../lib/index.js';
import type { MeshClient } from '../mesh/index.js';
import { sendError } from './errors.js';
import { endToEnd, withForwarding } from './headers.js';

export const forwardHeader = 'x-meridian-forwarded-from';

export interface FailoverCandidate {
  readonly region: RegionId;
  /** Why the routing function ranks it here, quoted in x-meridian-route. */
  readonly reason: string;
}

export interface GatewayOptions {
  readonly region: RegionId;
  readonly appUrl: string;
  /** The failure detector's verdict on the local application. */
  readonly appUp: () => boolean;
  /** Healthy regions other than this one, best first, as the routing function ranks them. */
  readonly failoverCandidates: () => readonly FailoverCandidate[];
  readonly mesh: MeshClient;
  readonly maxBodyBytes: number;
  readonly upstreamTimeoutMs: number;
  /** How many other regions one request may be offered to before giving up. */
  readonly maxForwardAttempts: number;
  readonly onRequest?: (r: { route: 'local' | 'forward' | 'error'; status: number; servedBy: string; ms: number }) => void;
}

/** Methods that may be sent again after reaching an upstream (RFC 9110 §9.2.2). */
const idempotent = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/** Errors that prove the request never reached the upstream: safe to send elsewhere. */
const notReached = new Set(['ECONNREFUSED', 'ECONNRESET_BEFORE_SEND', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);

export class Gateway {
  private readonly app: Pool;

  constructor(private readonly o: GatewayOptions) {
    // Keep-alive pool to the local application; bounded connections.
    this.app = new Pool(o.appUrl, { connections: 128, keepAliveTimeout: 30_000, connectTimeout: 2000 });
  }

  async close(): Promise<void> {
    await this.app.close().catch(() => undefined);
  }

  /**
   * Handles one request. `forwardedFrom` is set when another region sent it over the
   * mesh: such a request is served here or fails, never forwarded again (no loops).
   */
  async handle(req: IncomingMessage, res: ServerResponse, forwardedFrom?: string): Promise<void> {
    const t0 = performance.now();
    const timing: string[] = [];
    const done = (route: 'local' | 'forward' | 'error', servedBy: string): void =>
      this.o.onRequest?.({ route, status: res.statusCode, servedBy, ms: performance.now() - t0 });

    const body = await readBody(req, this.o.maxBodyBytes);
    if (body === 'too-large') {
      sendError(res, 'body_too_large', `request body over ${this.o.maxBodyBytes} bytes`, this.o.region, { connection: 'close' });
      return done('error', this.o.region);
    }
    const headers = withForwarding(endToEnd(req.headers), req.socket.remoteAddress ?? 'unknown', req.headers.host);
    delete headers[forwardHeader];
    const method = (req.method ?? 'GET') as Dispatcher.HttpMethod;
    const path = req.url ?? '/';

    let why: string;
    if (this.o.appUp()) {
      const t1 = performance.now();
      try {
        const up = await this.app.request({ method, path, headers, body, headersTimeout: this.o.upstreamTimeoutMs, bodyTimeout: this.o.upstreamTimeoutMs });
        timing.push(`upstream;dur=${(performance.now() - t1).toFixed(1)}`);
        const route = forwardedFrom === undefined ? 'local: app up' : `forwarded from ${forwardedFrom}: served by the local app`;
        await this.relay(res, up, this.o.region, route, timing, t0);
        return done('local', this.o.region);
      } catch (e) {
        const code = errorCode(e);
        const timeout = code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT';
        // Elsewhere only if the request never reached the app, or may be repeated safely
        // (and nothing was sent to the client yet); a timeout is not retried: the app may
        // still be working on it.
        const retryable = !res.headersSent && (notReached.has(code) || (idempotent.has(method) && !timeout));
        if (!retryable || forwardedFrom !== undefined) {
          sendError(res, timeout ? 'gateway_timeout' : 'bad_gateway', `local app: ${code}`, this.o.region, { 'server-timing': this.timingHeader(timing, t0) });
          return done('error', this.o.region);
        }
        why = notReached.has(code) ? `local app refused the connection (${code})` : `local app failed (${code})`;
      }
    } else {
      why = 'local app down';
    }
    if (forwardedFrom !== undefined) {
      sendError(res, 'app_down', `app in ${this.o.region} is down and forwarded requests are not forwarded again`, this.o.region);
      return done('error', this.o.region);
    }

    // Failover: the next healthy regions the routing function ranks.
    const candidates = this.o.failoverCandidates().slice(0, this.o.maxForwardAttempts);
    if (candidates.length === 0) {
      sendError(res, 'no_healthy_region', `${why}, and no other region is healthy`, this.o.region);
      return done('error', this.o.region);
    }
    let lastError = '';
    for (const c of candidates) {
      const t1 = performance.now();
      try {
        const up = await this.o.mesh.request(c.region, {
          method,
          path,
          headers: { ...headers, [forwardHeader]: this.o.region },
          body: body ?? undefined,
          timeoutMs: this.o.upstreamTimeoutMs,
        });
        timing.push(`forward;dur=${(performance.now() - t1).toFixed(1)};desc="${c.region}"`);
        const servedBy = headerValue(up.headers['x-meridian-region']) ?? c.region;
        await this.relay(res, up, servedBy, `failover: ${why}; forwarded to ${c.region} (${c.reason})`, timing, t0);
        return done('forward', servedBy);
      } catch (e) {
        lastError = `${c.region}: ${errorCode(e)}`;
        // Only a request that never reached the other region, or an idempotent one, may
        // be offered to the next.
        if (!notReached.has(errorCode(e)) && !idempotent.has(method)) break;
      }
    }
    sendError(res, 'bad_gateway', `${why}; forwarding failed (${lastError})`, this.o.region, { 'server-timing': this.timingHeader(timing, t0) });
    return done('error', this.o.region);
  }

  private timingHeader(timing: string[], t0: number): string {
    return [`gateway;dur=${(performance.now() - t0).toFixed(1)};desc="${this.o.region}"`, ...timing].join(', ');
  }

  private async relay(res: ServerResponse, up: Dispatcher.ResponseData, servedBy: string, route: string, timing: string[], t0: number): Promise<void> {
    const headers = endToEnd(up.headers);
    const upstreamTiming = headers['server-timing'];
    headers['x-meridian-region'] = servedBy;
    headers['x-meridian-route'] = route;
    headers['server-timing'] = [this.timingHeader(timing, t0), ...(upstreamTiming === undefined ? [] : [String(upstreamTiming)])].join(', ');
    res.writeHead(up.statusCode, headers);
    for await (const chunk of up.body) {
      if (!res.write(chunk as Buffer)) await new Promise<void>((r) => res.once('drain', r));
    }
    res.end();
  }
}

async function readBody(req: IncomingMessage, max: number): Promise<Buffer | null | 'too-large'> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > max) return 'too-large';
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > max) return 'too-large';
    chunks.push(chunk as Buffer);
  }
  return size === 0 ? null : Buffer.concat(chunks);
}

function errorCode(e: unknown): string {
  const err = e as { code?: string; cause?: { code?: string }; name?: string };
  return err.cause?.code ?? err.code ?? err.name ?? 'error';
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
