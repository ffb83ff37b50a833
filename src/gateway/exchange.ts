// One request's passage through the gateway, and the reply each stage hands back. The
// stages (cache, home, replay, failover) share one signature and compose in gateway.ts.

import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { RegionId } from '../lib/index.js';

export interface Exchange {
  readonly req: IncomingMessage;
  readonly method: Dispatcher.HttpMethod;
  readonly path: string;
  readonly host: string;
  /** End-to-end request headers with the forwarding headers added. */
  readonly headers: Record<string, string | string[]>;
  /** Buffered (replayable, retryable) or streamed (sent once). */
  readonly body: RequestBody;
  /** Set when another region's gateway forwarded this request over the mesh. */
  readonly forwardedFrom?: string;
  /** Set when another region replayed it here at its application's request. */
  readonly replayedFrom?: string;
  /** server-timing entries, in order. */
  readonly timing: string[];
  /** What earlier stages decided not to do, and why: prefixed to x-meridian-route. */
  readonly notes: string[];
}

export type RequestBody =
  | { readonly kind: 'none' }
  | { readonly kind: 'buffered'; readonly bytes: Buffer }
  | { readonly kind: 'stream'; readonly chunks: AsyncIterable<Buffer> };

export interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[]>;
  readonly body: Buffer | AsyncIterable<Buffer> | null;
  /** The region whose application produced the response. */
  readonly servedBy: string;
  /** Why this region, for x-meridian-route. */
  readonly route: string;
  readonly cache?: 'hit' | 'miss' | 'stale' | 'revalidated';
  /** Made by the gateway itself (no upstream answered): never a response to store. */
  readonly generated?: boolean;
}

export type Next = (x: Exchange) => Promise<Reply>;
export type Stage = (x: Exchange, next: Next) => Promise<Reply>;

/** Thrown by a dispatch that never got a response; `reached` says whether the request may
 *  have reached an application (then only an idempotent one may be sent again). */
export class DispatchError extends Error {
  constructor(
    readonly code: string,
    readonly reached: boolean,
    readonly target: RegionId | 'local',
  ) {
    super(`${target}: ${code}`);
  }
}

export function bodyForUndici(b: RequestBody): Buffer | Readable | null {
  return b.kind === 'none' ? null : b.kind === 'buffered' ? b.bytes : Readable.from(b.chunks, { objectMode: false });
}

export function replayable(b: RequestBody): boolean {
  return b.kind !== 'stream';
}

/** Methods that may be sent again after reaching an upstream (RFC 9110 §9.2.2). */
export const idempotentMethods = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
