// Replication lag samples for one source: the last `capacity` of them in a ring, so the
// percentiles in status() describe recent behaviour in bounded memory.

export class LagWindow {
  private readonly samples: number[] = [];
  private next = 0;
  last = 0;

  constructor(private readonly capacity = 1024) {}

  add(lagMs: number): void {
    this.last = lagMs;
    if (this.samples.length < this.capacity) this.samples.push(lagMs);
    else this.samples[this.next] = lagMs;
    this.next = (this.next + 1) % this.capacity;
  }

  /** The q-quantile (0..1) of the window, nearest rank; 0 when empty. */
  quantile(q: number): number {
    if (this.samples.length === 0) return 0;
    const sorted = [...this.samples].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
  }
}
