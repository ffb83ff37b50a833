// The cache stage: every request goes through the HTTP cache (RFC 9111), which serves
// GET and HEAD when it may and lets unsafe methods invalidate what they change (§4.4).
// Responses too large to store stream through untouched: the upstream call ends in a
// PassThrough signal carrying the stream, and the cache never holds their bytes.
// What the cache can neither serve nor store (unsafe methods, Range and preconditions, keys
// in its hit-for-miss list) skips it: sent on and streamed back, the cache told afterwards.
// A response from another region whose jurisdiction keeps its data at home (residency
// `strict`) is served here but never stored here.

import { PassThroughSignal, type HttpCache, type UpstreamResponse } from '../../cache/index.js';
import type { Exchange, Next, Reply, Stage } from '../exchange.js';

/** A response the cache will not hold: handed back to the stage that asked, once. */
class PassThrough extends PassThroughSignal {
  claimed = false;
  constructor(readonly reply: Reply, readonly head: Buffer[]) {
    super(() => {
      const body = reply.body;
      if (body !== null && !Buffer.isBuffer(body)) void drainAway(body);
    });
  }
}

/** No upstream answered (the gateway made a 502/503/504): to the cache, an upstream
 *  failure — so it may serve stale-if-error, answer 504 per §5.2.2.2, and share one failure
 *  among collapsed requests — not a response to store or hand to waiters. */
class UpstreamUnavailable extends Error {
  constructor(readonly reply: Reply) {
    super(`upstream unavailable: ${reply.route}`);
  }
}

async function drainAway(body: AsyncIterable<Buffer>): Promise<void> {
  try {
    for await (const _ of body) {
      // released: nobody will read it
    }
  } catch {
    // the upstream went away: nothing to release
  }
}

async function* replay(head: Buffer[], rest: AsyncIterable<Buffer> | null): AsyncIterable<Buffer> {
  yield* head;
  if (rest !== null) yield* rest;
}

/** Reads a reply's body into memory up to `max` bytes, or throws PassThrough. */
async function buffered(r: Reply, max: number): Promise<UpstreamResponse & { reply: Reply }> {
  if (r.body === null || Buffer.isBuffer(r.body)) return { status: r.status, headers: r.headers, body: r.body ?? Buffer.alloc(0), reply: r };
  const declared = Number(r.headers['content-length'] ?? NaN);
  if (declared > max) throw new PassThrough(r, []);
  const chunks: Buffer[] = [];
  let size = 0;
  const it = r.body[Symbol.asyncIterator]();
  for (;;) {
    const n = await it.next();
    if (n.done === true) break;
    const chunk = n.value as Buffer;
    chunks.push(chunk);
    size += chunk.length;
    if (size > max) throw new PassThrough({ ...r, body: { [Symbol.asyncIterator]: () => it } }, chunks);
  }
  return { status: r.status, headers: r.headers, body: Buffer.concat(chunks, size), reply: r };
}

export interface CacheStageOptions {
  readonly cache: HttpCache;
  readonly maxObjectBytes: number;
  readonly self: string;
  /** Regions whose responses this region may not store (data residency). */
  readonly noStoreFrom: ReadonlySet<string>;
}

export function cacheStage(o: CacheStageOptions): Stage {
  const { cache, maxObjectBytes, self, noStoreFrom } = o;
  const mayStore = (r: Reply): boolean => r.servedBy === self || !noStoreFrom.has(r.servedBy);
  // Not async: what the cache steps aside for goes on without a promise of this stage's own.
  return (x: Exchange, next: Next): Promise<Reply> => {
    // A request another region forwarded was already looked up in that region's cache.
    if (x.forwardedFrom !== undefined || x.replayedFrom !== undefined) return next(x);
    const aside = cache.stepAside(x);
    if (aside === null) return throughCache(x, next, undefined);
    return next(x).then((reply) => {
      const wanted = reply.generated !== true && cache.afterStepAside(aside, reply.status, reply.headers, mayStore(reply));
      if (!wanted || aside.kind !== 'hit-for-miss') return reply;
      // A hit-for-miss key answered with what may be stored now: the cache takes it as fetched.
      return throughCache(x, next, { reply, sentMs: aside.sentMs });
    });
  };

  async function throughCache(x: Exchange, next: Next, prefetched: { reply: Reply; sentMs: number } | undefined): Promise<Reply> {
    let last: Reply | undefined;
    let first = prefetched;
    try {
      const result = await cache.handle({ method: x.method, path: x.path, host: x.host, headers: x.headers }, async (r) => {
        // The request the cache asks for, not the client's: GET for a HEAD miss, its own
        // validators for a revalidation, without the client's validators or directives.
        let reply: Reply;
        if (first === undefined) {
          const headers: Record<string, string | string[]> = {};
          for (const [k, v] of Object.entries(r.headers)) if (v !== undefined) headers[k] = v;
          reply = await next({ ...x, method: r.method as Exchange['method'], headers });
        } else {
          reply = first.reply;
        }
        const sentMs = first?.sentMs;
        first = undefined;
        if (reply.generated === true && reply.status >= 502 && reply.status <= 504) throw new UpstreamUnavailable(reply);
        const b = await buffered(reply, maxObjectBytes);
        last = b.reply;
        return { status: b.status, headers: b.headers, body: b.body, mayStore: mayStore(reply), ...(sentMs !== undefined && { requestTimeMs: sentMs }) };
      });
      const status = result.status === 'bypass' ? 'miss' : result.status;
      // A miss answers with what the upstream said and where; anything from the store was
      // served by this region's cache.
      const origin = status === 'miss' ? last : undefined;
      return {
        status: result.response.status,
        headers: result.response.headers,
        body: result.response.body,
        servedBy: origin?.servedBy ?? self,
        route: origin?.route ?? `cache ${status}${result.ageSec === null ? '' : ` (age ${result.ageSec}s)`}`,
        cache: status,
      };
    } catch (e) {
      if (e instanceof UpstreamUnavailable) return { ...e.reply, cache: 'miss' };
      if (!(e instanceof PassThrough)) throw e;
      if (e.claimed) return next(x); // a collapsed waiter: the stream went to another request
      e.claimed = true;
      // The cache saw no response, so an unsafe request's invalidation (§4.4) is done here.
      if (x.method !== 'GET' && x.method !== 'HEAD' && e.reply.status < 400) cache.purgeUrl(x.host, x.path);
      return { ...e.reply, body: replay(e.head, e.reply.body as AsyncIterable<Buffer> | null), cache: 'miss' };
    }
  }
}
