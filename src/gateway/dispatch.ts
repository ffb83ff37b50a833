// The two ways a request leaves the gateway: to the local application over a keep-alive
// pool, or to another region over the authenticated mesh. Both give a Reply or throw a
// DispatchError that says whether the request may have reached an application.

import { Pool, type Dispatcher } from 'undici';
import type { RegionId } from '../lib/index.js';
import type { MeshClient } from '../mesh/index.js';
import { BodyTooLarge } from './body.js';
import { bodyForUndici, DispatchError, type Exchange, type Reply } from './exchange.js';
import { endToEnd } from './headers.js';
import { durMs } from './timing.js';

export const forwardedFromHeader = 'x-meridian-forwarded-from';
export const replayedFromHeader = 'x-meridian-replayed-from';

/** Errors that prove the request never reached the upstream: safe to send elsewhere. */
const notReached = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ENOTFOUND']);

export function errorCode(e: unknown): string {
  const err = e as { code?: string; cause?: { code?: string }; name?: string };
  return err.cause?.code ?? err.code ?? err.name ?? 'error';
}

function toDispatchError(e: unknown, target: RegionId | 'local'): DispatchError {
  if (e instanceof DispatchError) return e;
  // The client's body outgrew the limit while streaming: that is the client's error (413).
  if (e instanceof BodyTooLarge) throw e;
  if ((e as { cause?: unknown }).cause instanceof BodyTooLarge) throw (e as { cause: BodyTooLarge }).cause;
  const code = errorCode(e);
  return new DispatchError(code, !notReached.has(code), target);
}

export interface LocalAppOptions {
  readonly url: string;
  readonly connectTimeoutMs: number;
  readonly responseTimeoutMs: number;
}

export class LocalApp {
  private readonly pool: Pool;

  constructor(private readonly o: LocalAppOptions) {
    // Bounded keep-alive pool to the application.
    this.pool = new Pool(o.url, { connections: 128, keepAliveTimeout: 30_000, connectTimeout: o.connectTimeoutMs });
  }

  /** Not async, and one then(): this is the path of nearly every proxied request. */
  dispatch(x: Exchange, self: RegionId, route: string): Promise<Reply> {
    const t0 = performance.now();
    return this.pool.request({
      method: x.method,
      path: x.path,
      headers: x.headers,
      body: bodyForUndici(x.body),
      headersTimeout: this.o.responseTimeoutMs,
      bodyTimeout: this.o.responseTimeoutMs,
    }).then(
      (res) => {
        x.timing.push('upstream;dur=' + durMs(performance.now() - t0));
        // undici's own object (lower-case names, no undefined values), not a copy: hop-by-hop
        // fields are dropped once, where the reply is written (gateway.ts) or stored (the cache).
        return { status: res.statusCode, headers: res.headers as Record<string, string | string[]>, body: res.body, servedBy: self, route };
      },
      (e: unknown) => {
        throw toDispatchError(e, 'local');
      },
    );
  }

  close(): Promise<void> {
    return this.pool.close().catch(() => undefined);
  }
}

/** Sends the exchange to another region's mesh, marked as forwarded (or replayed). */
export async function dispatchToRegion(mesh: MeshClient, self: RegionId, to: RegionId, x: Exchange, route: string, timeoutMs: number, kind: 'forward' | 'replay'): Promise<Reply> {
  const t0 = performance.now();
  let res: Dispatcher.ResponseData;
  try {
    res = await mesh.request(to, {
      method: x.method,
      path: x.path,
      headers: { ...x.headers, [kind === 'replay' ? replayedFromHeader : forwardedFromHeader]: self },
      body: bodyForUndici(x.body) ?? undefined,
      timeoutMs,
    });
  } catch (e) {
    throw toDispatchError(e, to);
  }
  x.timing.push(`${kind};dur=${durMs(performance.now() - t0)};desc="${to}"`);
  const headers = endToEnd(res.headers);
  const served = headers['x-meridian-region'];
  const remoteRoute = headers['x-meridian-route'];
  // What the other region did is part of the story: keep its route after ours.
  const fullRoute = remoteRoute === undefined ? route : `${route}; there: ${String(remoteRoute)}`;
  return { status: res.statusCode, headers, body: res.body, servedBy: (Array.isArray(served) ? served[0] : served) ?? to, route: fullRoute };
}
