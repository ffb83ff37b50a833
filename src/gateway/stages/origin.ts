// The end of the request path: the local application while it is healthy, else — or
// when it refuses the connection, or fails a request that may be sent again — the next
// healthy regions the routing function ranks, over the mesh.

import type { RegionId } from '../../lib/index.js';
import type { MeshClient } from '../../mesh/index.js';
import { dispatchToRegion, type LocalApp } from '../dispatch.js';
import { errorReply } from '../errors.js';
import { DispatchError, idempotentMethods, replayable, type Exchange, type Next, type Reply } from '../exchange.js';

export interface FailoverCandidate {
  readonly region: RegionId;
  /** Why the routing function ranks it here, quoted in x-meridian-route. */
  readonly reason: string;
}

export interface OriginOptions {
  readonly self: RegionId;
  readonly app: LocalApp;
  readonly appUp: () => boolean;
  readonly failoverCandidates: () => readonly FailoverCandidate[];
  readonly mesh: MeshClient;
  readonly timeoutMs: number;
  readonly maxForwardAttempts: number;
}

/** The route of nearly every request: one string, not one per request. */
const localRoute = 'local: app up';

const timeouts = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** May this request go to another upstream after this error? */
function mayRetry(x: Exchange, e: DispatchError): boolean {
  if (!replayable(x.body)) return false; // a streamed body was consumed
  if (!e.reached) return true;
  // A timeout is not retried even for idempotent methods: the first may still be running.
  return idempotentMethods.has(x.method) && !timeouts.has(e.code);
}

function failed(e: DispatchError, self: RegionId, why: string): Reply {
  const timeout = timeouts.has(e.code);
  return errorReply(timeout ? 504 : 502, timeout ? 'gateway_timeout' : 'bad_gateway', `${why}: ${e.message}`, self);
}

export function origin(o: OriginOptions): Next {
  // Not async: the common case hands back the dispatch's own promise, without wrapping it.
  return (x: Exchange): Promise<Reply> => {
    if (!o.appUp()) return elsewhere(o, x, 'local app down');
    const prefix = notesPrefix(x);
    const route = x.forwardedFrom !== undefined
      ? `forwarded from ${x.forwardedFrom}: local app`
      : x.replayedFrom !== undefined ? `replayed from ${x.replayedFrom}: local app` : prefix === '' ? localRoute : `${prefix}${localRoute}`;
    return o.app.dispatch(x, o.self, route).catch((e: unknown) => {
      if (!(e instanceof DispatchError)) throw e;
      if (x.forwardedFrom !== undefined || x.replayedFrom !== undefined || !mayRetry(x, e)) return failed(e, o.self, 'local app');
      return elsewhere(o, x, e.reached ? `local app failed (${e.code})` : `local app refused the connection (${e.code})`);
    });
  };
}

function notesPrefix(x: Exchange): string {
  return x.notes.length > 0 ? `${x.notes.join('; ')}; ` : '';
}

/** The local app is down or failed: the next healthy regions, unless the request came from one. */
async function elsewhere(o: OriginOptions, x: Exchange, why: string): Promise<Reply> {
  // A request another region sent here is served here or fails: never forwarded again.
  if (x.forwardedFrom !== undefined || x.replayedFrom !== undefined) {
    return errorReply(503, 'app_down', `app in ${o.self} is down, and requests sent here by another region are not sent on`, o.self);
  }
  const candidates = o.failoverCandidates().slice(0, o.maxForwardAttempts);
  if (candidates.length === 0) return errorReply(503, 'no_healthy_region', `${why}, and no other region is healthy`, o.self);
  const prefix = notesPrefix(x);
  let last: DispatchError | undefined;
  for (const c of candidates) {
    try {
      return await dispatchToRegion(o.mesh, o.self, c.region, x, `${prefix}failover: ${why}; forwarded to ${c.region} (${c.reason})`, o.timeoutMs, 'forward');
    } catch (e) {
      if (!(e instanceof DispatchError)) throw e;
      last = e;
      if (!mayRetry(x, e)) break;
    }
  }
  return failed(last as DispatchError, o.self, `${why}; forwarding failed`);
}
