// How replication paces and bounds itself. Every queue, batch and retry has a stated
// limit here; what happens at each limit is designed in the state machines.

import { assert } from '../lib/index.js';

export interface ReplicationConfig {
  /** The cadence a stream ships at: at most one flush per destination per flushMs, so a
   *  burst of commits travels as one batch, not one message per write. */
  readonly flushMs: number;
  /** Log entries (sequence numbers) per batch, at most. */
  readonly maxBatch: number;
  /** Batches in flight to one destination, at most (pipelining depth). */
  readonly maxInflight: number;
  /** A batch unanswered this long is sent again (go-back-N); after a transport failure
   *  the stream waits this long before it tries again, so a dead peer costs one attempt
   *  per retryMs. Also the request timeout of a batch. */
  readonly retryMs: number;
  /** An idle stream sends an empty batch this often, carrying the source's clock, so the
   *  destination knows how fresh it is without writes. */
  readonly heartbeatMs: number;
  /** Log entries kept at most, whatever the destinations have acknowledged; one that falls
   *  behind this catches up from a snapshot. */
  readonly logKeep: number;
  /** One anti-entropy round (with one peer, round-robin) this often. */
  readonly antiEntropyMs: number;
  /** Rows or counter slots per snapshot page. */
  readonly snapshotPageSize: number;
}

export const defaultReplicationConfig: ReplicationConfig = {
  flushMs: 5,
  maxBatch: 512,
  maxInflight: 8,
  retryMs: 1000,
  heartbeatMs: 250,
  logKeep: 1_000_000,
  antiEntropyMs: 30_000,
  snapshotPageSize: 1000,
};

export function checkReplicationConfig(c: ReplicationConfig): void {
  for (const [name, v] of Object.entries(c)) assert(Number.isInteger(v) && v > 0, `replication config ${name} must be a positive integer, got ${String(v)}`);
  assert(c.maxBatch <= 4096, 'maxBatch is at most 4096 (a batch must fit a bounded request body)');
  assert(c.maxInflight <= 64, 'maxInflight is at most 64');
  assert(c.snapshotPageSize <= 4096, 'snapshotPageSize is at most 4096 (one repair request)');
}
