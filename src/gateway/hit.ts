// The cache-hit fast path. Most requests an edge cache answers are plain GETs for fresh
// objects; for those the general path (copying and extending the request's fields for an
// upstream that is never called, the Exchange, a promise per stage, the header object for
// writeHead) cost several times what node itself spends on the response (bench/gateway).
// Here a plain request is looked up by Host and target before anything is copied, and a
// fresh hit is written from a response head prepared once per stored entry: only Age, the
// route's age and server-timing change between two hits on one entry.

import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { StoredResponse } from '../cache/index.js';
import { durMs } from './timing.js';

/**
 * Fields that ask the cache for more than "the fresh stored response" (request directives,
 * conditionals, Range, §3.5's Authorization) or bring a body: such requests take the general
 * path, which evaluates them.
 */
const notPlain = ['cache-control', 'pragma', 'authorization', 'if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'if-range', 'range', 'content-length', 'transfer-encoding'] as const;

export function isPlainRequest(method: string | undefined, h: IncomingHttpHeaders): boolean {
  if (method !== 'GET' && method !== 'HEAD') return false;
  for (const name of notPlain) if (h[name] !== undefined) return false;
  return true;
}

/** A stored entry's response head as writeHead takes it: [name, value, name, value, ...]. */
interface Prepared {
  readonly fields: string[];
  readonly ageAt: number;
  readonly routeAt: number;
  readonly timingAt: number;
  /** `;desc="<region>"`, then the stored response's own server-timing, if any. */
  readonly timingTail: string;
  ageSec: number;
}

const ours = new Set(['age', 'x-meridian-region', 'x-meridian-route', 'x-meridian-cache']);

export class HitWriter {
  /** Weak: an entry the cache evicts takes its prepared head with it. */
  private readonly prepared = new WeakMap<StoredResponse, Prepared>();

  constructor(private readonly region: string) {}

  /** Writes a fresh hit (no body for HEAD). `startMs` is when the request was taken up. */
  write(res: ServerResponse, head: boolean, e: StoredResponse, ageSec: number, startMs: number): void {
    let p = this.prepared.get(e);
    if (p === undefined) this.prepared.set(e, (p = this.prepare(e)));
    const f = p.fields;
    if (p.ageSec !== ageSec) {
      p.ageSec = ageSec;
      f[p.ageAt] = String(ageSec);
      f[p.routeAt] = `cache hit (age ${ageSec}s)`;
    }
    f[p.timingAt] = 'gateway;dur=' + durMs(performance.now() - startMs) + p.timingTail;
    try {
      // writeHead reads the array before it returns: sharing it between hits is safe.
      res.writeHead(e.status, f);
    } catch {
      // A stored field Node will not write: answer, don't crash (as the general path does).
      res.destroy();
      return;
    }
    if (head) res.end();
    else res.end(e.body);
  }

  private prepare(e: StoredResponse): Prepared {
    const fields: string[] = [];
    let upstreamTiming: string | undefined;
    for (const [name, v] of Object.entries(e.headers)) {
      // A response another region's gateway served carries its x-meridian-* fields: ours replace them.
      if (ours.has(name)) continue;
      if (name === 'server-timing') {
        upstreamTiming = String(v);
        continue;
      }
      if (Array.isArray(v)) for (const line of v) fields.push(name, line);
      else fields.push(name, v);
    }
    const ageAt = fields.push('age', '') - 1;
    fields.push('x-meridian-region', this.region);
    const routeAt = fields.push('x-meridian-route', '') - 1;
    fields.push('x-meridian-cache', 'hit');
    const timingAt = fields.push('server-timing', '') - 1;
    const timingTail = `;desc="${this.region}"${upstreamTiming === undefined ? '' : `, ${upstreamTiming}`}`;
    return { fields, ageAt, routeAt, timingAt, timingTail, ageSec: -1 };
  }
}
