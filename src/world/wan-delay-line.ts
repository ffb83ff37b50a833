// One direction of one relayed connection: holds each chunk until its release time and
// hands chunks to the sink strictly in arrival order, so the TCP byte stream stays intact
// even when jitter would have a later chunk overtake an earlier one.
//
// Release time = max(previous release, arrival + delay), kept exact. Node's timers take
// whole milliseconds and fire about 0.1-0.2 ms late; rounding the release time up and the
// wait up again (as this line once did) made every one-way trip about 1.25 ms longer than
// asked, so a 14.7 ms link measured 17.9 ms. Now the wait is rounded to the nearest
// millisecond and an entry goes out when it is due within `earlyToleranceMs`: a chunk may
// leave up to that much early and is otherwise late by the timer's own lateness, so the
// delay is right on average. Chunks falling due within `batchGrainMs` of the tail entry
// share it (one entry, one timer, one writev), instead of a timer per chunk. Only the
// head entry ever has a timer armed.
//
// Under load the timers fire later still: in bench/data's survive world (three nodes, the
// writer and the relays on 2 CPUs) an entry left 0.41 ms after its due time at p50, per
// direction — 0.8 ms added to every round trip. So each line aims its timer earlier by how
// late this process's timers have been firing (`TimerLateness`, learnt from the timers the
// lines arm, capped at `maxTimerLeadMs`), and an entry may leave that much earlier too: the
// release then lands on the due time at the median instead of after it. An entry never
// leaves more than earlyToleranceMs + the learnt lateness early (0.25 ms with timers that
// fire on time, as before).

import { assert } from '../lib/index.js';

export interface DelayLineSink {
  /** Chunks whose release time has come, oldest first; called once per batch. */
  deliver(chunks: Buffer[]): void;
  /** The source half-closed, and every byte before it has been delivered. */
  end(): void;
}

/** How early an entry may be released: less than half of Node's timer resolution. */
export const earlyToleranceMs = 0.25;
/** Chunks due this close after the tail entry join it (and leave up to this much early). */
const batchGrainMs = 0.1;
/** The most a timer is aimed early: a loop stalled for longer is not a timer's lateness. */
export const maxTimerLeadMs = 1;

/** How late this process's timers fire after the time they were set for: a moving average
 *  (gain 1/8) of what the delay lines observe. One event loop, one estimate. */
export class TimerLateness {
  private avgMs = 0;

  get ms(): number {
    return this.avgMs;
  }

  observe(lateMs: number): void {
    this.avgMs += (Math.min(Math.max(lateMs, 0), maxTimerLeadMs) - this.avgMs) / 8;
  }
}

export const processTimerLateness = new TimerLateness();

type Entry = { kind: 'data'; releaseAtMs: number; chunks: Buffer[] } | { kind: 'end'; releaseAtMs: number };

export class DelayLine {
  private entries: Entry[] = [];
  private headIndex = 0;
  private timer:
    | { kind: 'timeout'; handle: ReturnType<typeof setTimeout>; firesAtMs: number }
    | { kind: 'immediate'; handle: ReturnType<typeof setImmediate> }
    | null = null;
  private lastReleaseAtMs = 0;
  private ended = false;
  private heldBytesNow = 0;
  // Bumped by clear(), so a release that the sink cleared mid-batch stops there.
  private generation = 0;

  constructor(
    private readonly sink: DelayLineSink,
    // Monotonic, so a wall-clock step cannot reorder or stall releases.
    private readonly clockMs: () => number = () => performance.now(),
    private readonly lateness: TimerLateness = processTimerLateness,
  ) {}

  /** Bytes accepted but not yet delivered. */
  get heldBytes(): number {
    return this.heldBytesNow;
  }

  /** Entries waiting (a batch of chunks or the end marker each); for tests. */
  get entriesHeld(): number {
    return this.entries.length - this.headIndex;
  }

  push(chunk: Buffer, delayMs: number): void {
    assert(!this.ended, 'no data after end in a delay line');
    assert(delayMs >= 0 && Number.isFinite(delayMs), `delay must be a finite non-negative number, got ${delayMs}`);
    if (chunk.length === 0) return;
    const releaseAtMs = this.releaseAtMs(delayMs);
    const tail = this.entries[this.entries.length - 1];
    const joinsTail = tail !== undefined && tail.kind === 'data' && releaseAtMs - tail.releaseAtMs < batchGrainMs;
    if (this.entriesHeld > 0 && joinsTail) {
      tail.chunks.push(chunk);
    } else {
      this.entries.push({ kind: 'data', releaseAtMs, chunks: [chunk] });
    }
    this.heldBytesNow += chunk.length;
    this.arm();
  }

  /** Queues the half-close behind every chunk already held. */
  pushEnd(delayMs: number): void {
    if (this.ended) return;
    this.ended = true;
    this.entries.push({ kind: 'end', releaseAtMs: this.releaseAtMs(Math.max(0, delayMs)) });
    this.arm();
  }

  /** Drops everything held (a partition, or the connection is gone) and stops the timer. */
  clear(): void {
    this.disarm();
    this.entries = [];
    this.headIndex = 0;
    this.heldBytesNow = 0;
    this.generation++;
  }

  private releaseAtMs(delayMs: number): number {
    const releaseAtMs = Math.max(this.lastReleaseAtMs, this.clockMs() + delayMs);
    this.lastReleaseAtMs = releaseAtMs;
    return releaseAtMs;
  }

  private arm(): void {
    if (this.timer !== null) return;
    const head = this.entries[this.headIndex];
    if (head === undefined) return;
    const nowMs = this.clockMs();
    // Aimed earlier by the timers' usual lateness, so that they fire about on time.
    const aimMs = head.releaseAtMs - nowMs - this.lateness.ms;
    // Due already (or within the tolerance): the next turn of the loop, not a 1 ms timer;
    // release() takes it then (its bound includes the same lead). A timer that fires too
    // early finds the head not yet due, and release() re-arms.
    if (aimMs <= earlyToleranceMs) {
      this.timer = { kind: 'immediate', handle: setImmediate(() => this.release()) };
    } else {
      const ms = Math.max(1, Math.round(aimMs));
      this.timer = { kind: 'timeout', handle: setTimeout(() => this.release(), ms), firesAtMs: nowMs + ms };
    }
  }

  private disarm(): void {
    if (this.timer === null) return;
    // clearTimeout does not clear an Immediate (nor the reverse).
    if (this.timer.kind === 'timeout') clearTimeout(this.timer.handle);
    else clearImmediate(this.timer.handle);
    this.timer = null;
  }

  private release(): void {
    const nowMs = this.clockMs();
    if (this.timer?.kind === 'timeout') this.lateness.observe(nowMs - this.timer.firesAtMs);
    this.timer = null;
    const dueByMs = nowMs + earlyToleranceMs + this.lateness.ms;
    const batch: Buffer[] = [];
    let sawEnd = false;
    while (this.headIndex < this.entries.length) {
      const head = this.entries[this.headIndex] as Entry;
      if (head.releaseAtMs > dueByMs) break;
      this.headIndex++;
      if (head.kind === 'end') {
        sawEnd = true;
        break;
      }
      for (const chunk of head.chunks) {
        batch.push(chunk);
        this.heldBytesNow -= chunk.length;
      }
    }
    this.compact();
    // The sink may clear this line while delivering (its destination died): then the
    // end is not passed on and arm() finds the line empty.
    const generation = this.generation;
    if (batch.length > 0) this.sink.deliver(batch);
    if (sawEnd && generation === this.generation) this.sink.end();
    this.arm();
  }

  private compact(): void {
    if (this.headIndex === this.entries.length) {
      this.entries = [];
      this.headIndex = 0;
    } else if (this.headIndex > 1024 && this.headIndex * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.headIndex);
      this.headIndex = 0;
    }
  }
}
