// Group commit: writes that arrive while the event loop is busy are committed together in
// one transaction (one fsync) at the next turn, then every one of them is answered. With
// fsync durability this is the difference between ~5,000 and ~40,000 writes/s here
// (bench/data). A write is acknowledged only after its transaction committed.

import type { Idempotency, LocalWrite, Store, WriteOutcome } from '../store/index.js';

interface Pending {
  readonly write: LocalWrite;
  readonly idempotency?: Idempotency;
  readonly resolve: (o: WriteOutcome) => void;
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
  committedTotal = 0;
  batchesTotal = 0;

  constructor(
    private readonly store: Store,
    private readonly o: { readonly maxQueued: number; readonly maxBatch: number; readonly now: () => number; readonly onCommitted: (outcomes: readonly WriteOutcome[]) => void },
  ) {}

  write(write: LocalWrite, idempotency?: Idempotency): Promise<WriteOutcome> {
    if (this.queue.length >= this.o.maxQueued) return Promise.reject(new QueueFullError(this.o.maxQueued));
    return new Promise((resolve, reject) => {
      this.queue.push({ write, ...(idempotency !== undefined && { idempotency }), resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits what is queued, up to maxBatch per transaction. */
  flush(): void {
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
    this.o.onCommitted(outcomes);
    batch.forEach((p, i) => p.resolve(outcomes[i] as WriteOutcome));
  }

  get queued(): number {
    return this.queue.length;
  }
}
