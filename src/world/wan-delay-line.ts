// One direction of one relayed connection: holds each chunk until its release time and
// hands chunks to the sink strictly in arrival order, so the TCP byte stream stays intact
// even when jitter would have a later chunk overtake an earlier one.
//
// Release time = max(previous release, arrival + delay), rounded up to a whole
// millisecond: Node timers have millisecond resolution anyway, and rounding lets chunks
// that fall due in the same millisecond share one entry and one timer (a batch), instead
// of a timer per chunk. Only the head entry ever has a timer armed.

import { assert } from '../lib/index.js';

export interface DelayLineSink {
  /** Chunks whose release time has come, oldest first; called once per batch. */
  deliver(chunks: Buffer[]): void;
  /** The source half-closed, and every byte before it has been delivered. */
  end(): void;
}

type Entry = { kind: 'data'; releaseAtMs: number; chunks: Buffer[] } | { kind: 'end'; releaseAtMs: number };

export class DelayLine {
  private entries: Entry[] = [];
  private headIndex = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private lastReleaseAtMs = 0;
  private ended = false;
  private heldBytesNow = 0;
  // Bumped by clear(), so a release that the sink cleared mid-batch stops there.
  private generation = 0;

  constructor(
    private readonly sink: DelayLineSink,
    // Monotonic, so a wall-clock step cannot reorder or stall releases.
    private readonly clockMs: () => number = () => performance.now(),
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
    if (this.entriesHeld > 0 && tail !== undefined && tail.kind === 'data' && tail.releaseAtMs === releaseAtMs) {
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
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.entries = [];
    this.headIndex = 0;
    this.heldBytesNow = 0;
    this.generation++;
  }

  private releaseAtMs(delayMs: number): number {
    const releaseAtMs = Math.max(this.lastReleaseAtMs, Math.ceil(this.clockMs() + delayMs));
    this.lastReleaseAtMs = releaseAtMs;
    return releaseAtMs;
  }

  private arm(): void {
    if (this.timer !== null) return;
    const head = this.entries[this.headIndex];
    if (head === undefined) return;
    // Node timers can fire a fraction of a millisecond early by the monotonic clock;
    // release() re-arms in that case, so nothing is ever released before its time.
    const waitMs = Math.max(0, Math.ceil(head.releaseAtMs - this.clockMs()));
    this.timer = setTimeout(() => this.release(), waitMs);
  }

  private release(): void {
    this.timer = null;
    const nowMs = this.clockMs();
    const batch: Buffer[] = [];
    let sawEnd = false;
    while (this.headIndex < this.entries.length) {
      const head = this.entries[this.headIndex] as Entry;
      if (head.releaseAtMs > nowMs) break;
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
