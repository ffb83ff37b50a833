// Application-initiated replay (like Fly.io's fly-replay): the local application answers
// `meridian-replay: region=<id>` and the gateway sends the original request there
// instead. At most one replay per request: a replayed request asking again is a loop.

import type { RegionId } from '../../lib/index.js';
import type { MeshClient } from '../../mesh/index.js';
import { dispatchToRegion } from '../dispatch.js';
import { errorReply } from '../errors.js';
import { replayable, type Exchange, type Next, type Reply, type Stage } from '../exchange.js';

export const replayHeader = 'meridian-replay';

export function parseReplay(v: string | string[] | undefined): string | null {
  const s = Array.isArray(v) ? v[0] : v;
  if (s === undefined) return null;
  const m = /(?:^|[;,\s])region=([a-z0-9-]+)/.exec(s);
  return m === null ? '' : (m[1] as string);
}

export interface ReplayStageOptions {
  readonly self: RegionId;
  readonly regions: ReadonlySet<string>;
  readonly mesh: MeshClient;
  readonly timeoutMs: number;
}

async function drain(body: Reply['body']): Promise<void> {
  if (body === null || Buffer.isBuffer(body)) return;
  for await (const _ of body) {
    // discard: the application's answer is replaced by the replayed one
  }
}

export function replayStage(o: ReplayStageOptions): Stage {
  // Not async: a reply that asks for nothing is handed on from a plain then().
  return (x: Exchange, next: Next): Promise<Reply> =>
    next(x).then((r) => {
      // Only the local application may ask; a forwarded reply was the other region's call.
      if (r.servedBy !== o.self) return r;
      const target = parseReplay(r.headers[replayHeader]);
      if (target === null) return r;
      return replayTo(o, x, r, target);
    });
}

async function replayTo(o: ReplayStageOptions, x: Exchange, r: Reply, target: string): Promise<Reply> {
  await drain(r.body);
  if (target === '' || !o.regions.has(target)) {
    return errorReply(502, 'bad_replay', `the application asked to replay to ${JSON.stringify(target)}, which is not a region of this deployment`, o.self);
  }
  if (x.replayedFrom !== undefined || target === o.self) {
    return errorReply(508, 'replay_loop', `the application in ${o.self} asked to replay a request ${x.replayedFrom !== undefined ? `already replayed from ${x.replayedFrom}` : 'to its own region'}`, o.self);
  }
  if (!replayable(x.body)) {
    return errorReply(502, 'replay_body_too_large', 'the application asked for a replay, but the request body was over gateway.replay_max_body and was streamed', o.self);
  }
  return dispatchToRegion(o.mesh, o.self, target as RegionId, x, `replay: the application in ${o.self} asked for ${target}`, o.timeoutMs, 'replay');
}
