// A latency histogram with bounded memory: log-spaced buckets, 2% wide, from 0.1 ms to
// about 10 minutes. Percentiles are read to within one bucket (±1%), which is what a
// live view and a report need; millions of samples cost the same 900 counters.

const minMs = 0.1;
const growth = 1.02;
const bucketCount = 900;
const logGrowth = Math.log(growth);

export class LatencyHistogram {
  private readonly counts = new Uint32Array(bucketCount);
  private n = 0;
  private maxMs = 0;

  record(ms: number): void {
    const i = ms <= minMs ? 0 : Math.min(bucketCount - 1, Math.floor(Math.log(ms / minMs) / logGrowth) + 1);
    this.counts[i] = (this.counts[i] as number) + 1;
    this.n++;
    if (ms > this.maxMs) this.maxMs = ms;
  }

  get count(): number {
    return this.n;
  }

  /** The q-quantile (0..1) in ms: the upper edge of the bucket holding it; null if empty. */
  quantile(q: number): number | null {
    if (this.n === 0) return null;
    const rank = Math.max(1, Math.ceil(q * this.n));
    let seen = 0;
    for (let i = 0; i < bucketCount; i++) {
      seen += this.counts[i] as number;
      if (seen >= rank) return Math.min(this.maxMs, i === 0 ? minMs : minMs * growth ** i);
    }
    return this.maxMs;
  }

  merge(other: LatencyHistogram): void {
    for (let i = 0; i < bucketCount; i++) this.counts[i] = (this.counts[i] as number) + (other.counts[i] as number);
    this.n += other.n;
    this.maxMs = Math.max(this.maxMs, other.maxMs);
  }

  reset(): void {
    this.counts.fill(0);
    this.n = 0;
    this.maxMs = 0;
  }
}
