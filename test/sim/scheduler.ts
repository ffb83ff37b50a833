// The simulator's one clock and event queue. Events run in (time, insertion) order, so a
// run is a pure function of its seed: two events at the same instant run in the order
// they were scheduled, never in an order a hash map or the host's timers chose.

export interface Scheduled<E> {
  readonly atMs: number;
  readonly seq: number;
  readonly event: E;
}

/** A binary min-heap on (atMs, seq). */
export class Scheduler<E> {
  private readonly heap: Scheduled<E>[] = [];
  private seq = 0;
  nowMs = 0;

  get size(): number {
    return this.heap.length;
  }

  at(atMs: number, event: E): void {
    // Never into the past: an event scheduled "now or earlier" runs next, at now.
    this.heap.push({ atMs: Math.max(atMs, this.nowMs), seq: this.seq++, event });
    this.up(this.heap.length - 1);
  }

  after(delayMs: number, event: E): void {
    this.at(this.nowMs + delayMs, event);
  }

  /** The next event, with the clock moved to its time; undefined when none is left. */
  next(): Scheduled<E> | undefined {
    const top = this.heap[0];
    if (top === undefined) return undefined;
    const last = this.heap.pop() as Scheduled<E>;
    if (this.heap.length > 0) {
      this.heap[0] = last;
      this.down(0);
    }
    this.nowMs = top.atMs;
    return top;
  }

  private less(a: number, b: number): boolean {
    const x = this.heap[a] as Scheduled<E>;
    const y = this.heap[b] as Scheduled<E>;
    return x.atMs < y.atMs || (x.atMs === y.atMs && x.seq < y.seq);
  }

  private swap(a: number, b: number): void {
    const t = this.heap[a] as Scheduled<E>;
    this.heap[a] = this.heap[b] as Scheduled<E>;
    this.heap[b] = t;
  }

  private up(i0: number): void {
    for (let i = i0; i > 0; ) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) return;
      this.swap(i, p);
      i = p;
    }
  }

  private down(i0: number): void {
    const n = this.heap.length;
    for (let i = i0; ; ) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.less(l, m)) m = l;
      if (r < n && this.less(r, m)) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }
}
