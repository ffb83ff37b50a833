// What regions say to each other about replication, as it travels (JSON over the mesh).
//
// A batch names the range of the source's log it covers (firstSeq..lastSeq). It carries
// only the changes the destination may store; the others are skipped but still covered,
// so sequence numbers advance through them. An empty range (firstSeq = lastSeq + 1) is a
// heartbeat: nothing new, and the source's clock.

import type { Change, DigestEntry, LoggedChange } from '../store/index.js';

export interface BatchMessage {
  readonly source: string;
  /** Per (source, destination) stream, increasing; replies name it. */
  readonly id: number;
  readonly firstSeq: number;
  readonly lastSeq: number;
  /** The source's clock (ms) up to which, once this batch is applied, the destination
   *  holds everything the source committed: the freshness a max_staleness read checks. */
  readonly sourceMs: number;
  readonly changes: readonly LoggedChange[];
}

/** applied: the destination now holds everything up to `applied`. duplicate: it already
 *  did. gap: it holds everything before `expected` and nothing of this batch. */
export type BatchReply =
  | { readonly result: 'applied'; readonly applied: number }
  | { readonly result: 'duplicate'; readonly applied: number }
  | { readonly result: 'gap'; readonly expected: number };

/** One anti-entropy class as exchanged: its 64 bucket digests in hex. */
export interface ClassDigest {
  readonly table: string;
  readonly home: string | null;
  readonly counter: boolean;
  readonly digest: readonly string[];
}

export interface BucketRef {
  readonly table: string;
  readonly home: string | null;
  readonly counter: boolean;
  readonly bucket: number;
}

export interface BucketEntries extends BucketRef {
  readonly entries: readonly DigestEntry[];
}

/** A row (slot null) or counter slot named for repair. */
export interface EntryRef {
  readonly table: string;
  readonly key: string;
  readonly slot: string | null;
}

export interface SnapshotDone {
  /** The source's last sequence when the snapshot began: the destination's watermark. */
  readonly seq: number;
  readonly sourceMs: number;
}

export type { Change };
