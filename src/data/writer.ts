// Group commit: writes that arrive while the event loop is busy are committed together in
// one transaction at the next turn, and made durable by one fsync (Store.sync(), shared by
// every batch committed while the previous fsync ran). A write is acknowledged only after
// `durable` resolved; a survive: region write sends its synchronous copy meanwhile.
//
// An urgent write (survive: region: its answer waits for a WAN round trip that can only
// start once it is committed) does not wait for the next turn nor for the previous batch's
// fsync: it is committed at the end of the current task, with whatever else is queued.
// bench/data part 3: the wait was 0.13 ms at p50 and 0.4 ms on average, each of it added
// to the round trip; the cost is smaller transactions for those writes only.

import type { Idempotency, LocalWrite, Store, WriteOutcome } from '../store/index.js';

/** A committed write: its outcome now, and when it is on disk. */
export interface Committed {
  readonly outcome: WriteOutcome;
  /** Resolves once the write is on disk (rejects if the fsync failed). */
  readonly durable: Promise<void>;
}

interface Pending {
  readonly write: LocalWrite;
  readonly idempotency?: Idempotency;
  readonly resolve: (c: Committed) => void;
  readonly reject: (e: unknown) => void;
}

export class QueueFullError extends Error {
  constructor(readonly limit: number) {
    super(`the write queue holds ${limit} writes; try again shortly`);
    this.name = 'QueueFullError';
  }
}

export class GroupWriter {
  private queue: Pending[] = [];
  private scheduled = false;
  private urgentScheduled = false;
  /** The last batch's fsync, while it runs: the next batch waits for it (see flush). */
  private syncing: Promise<void> | null = null;
  committedTotal = 0;
  batchesTotal = 0;

  constructor(
    private readonly store: Store,
    private readonly o: { readonly maxQueued: number; readonly maxBatch: number; readonly now: () => number; readonly onCommitted: (outcomes: readonly WriteOutcome[]) => void },
  ) {}

  /** @param urgent commit at the end of the current task (see above), not at the next turn */
  write(write: LocalWrite, idempotency?: Idempotency, urgent = false): Promise<Committed> {
    if (this.queue.length >= this.o.maxQueued) return Promise.reject(new QueueFullError(this.o.maxQueued));
    return new Promise((resolve, reject) => {
      this.queue.push({ write, ...(idempotency !== undefined && { idempotency }), resolve, reject });
      if (urgent) {
        if (!this.urgentScheduled) {
          this.urgentScheduled = true;
          queueMicrotask(() => {
            this.urgentScheduled = false;
            this.flush(true);
          });
        }
      } else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits what is queued, up to maxBatch per transaction; `urgent` even while the
   *  previous batch's fsync runs. */
  flush(urgent = false): void {
    // One batch on its way to the disk at a time: what arrives meanwhile waits for that
    // fsync and goes in the next transaction together, as it did when the fsync blocked
    // the loop (bench/data: committing at once halved the writes per transaction and cost
    // ~15 µs more CPU per write). The loop stays free for everything else.
    if (this.syncing !== null && !urgent) return;
    this.scheduled = false;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.o.maxBatch);
      this.commit(batch);
    }
  }

  private commit(batch: Pending[]): void {
    let outcomes: WriteOutcome[];
    try {
      outcomes = this.store.commit(batch, this.o.now());
    } catch {
      // One bad write (a residency refusal, a clock fault) must not fail its neighbours:
      // commit them one by one, so each gets its own answer.
      if (batch.length > 1) {
        for (const p of batch) this.commit([p]);
        return;
      }
      try {
        outcomes = this.store.commit(batch, this.o.now());
      } catch (e) {
        batch[0]?.reject(e);
        return;
      }
    }
    this.batchesTotal++;
    this.committedTotal += outcomes.filter((o) => o.ok).length;
    const durable = this.store.sync();
    // Replication ships what is on disk (Store.lastSeq): tell it once it is; then the
    // writes that waited for this fsync go in the next batch.
    const syncing = durable.then(() => this.o.onCommitted(outcomes)).catch(() => undefined);
    this.syncing = syncing;
    void syncing.then(() => {
      if (this.syncing === syncing) this.syncing = null;
      if (this.queue.length > 0) this.flush();
    });
    batch.forEach((p, i) => p.resolve({ outcome: outcomes[i] as WriteOutcome, durable }));
  }

  get queued(): number {
    return this.queue.length;
  }
}
