// A Prometheus histogram kept in plain numbers, exported through prom-client's registry.
// The gateway observes one duration per request; prom-client's observe() validates the
// labels, builds and hashes a label string and looks it up on every call (~2% of a cache
// hit, bench/gateway). Here a request adds to a bucket array it already holds; the work of
// labels and cumulative counts happens once per scrape.

import type { Metric, Registry } from 'prom-client';

/** One labelled series: observe() is a bucket search and three additions. */
export class HistogramSeries {
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Array<number>(bounds.length).fill(0);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) return;
    this.sum += value;
    this.count++;
    const b = this.bounds;
    for (let i = 0; i < b.length; i++) {
      if (value <= (b[i] as number)) {
        (this.counts[i] as number)++;
        return;
      }
    }
  }
}

interface Exported {
  readonly labels: Record<string, string | number>;
  readonly sharedLabels: Record<string, string>;
  readonly value: number;
  readonly metricName: string;
}

export class PlainHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, HistogramSeries>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelName: string,
    private readonly bounds: readonly number[],
    registry: Registry,
  ) {
    // prom-client's Metric type is its own class; the registry needs only name, help and
    // get() of it (registry.js getMetricsAsString), which this has.
    registry.registerMetric(this as unknown as Metric);
  }

  /** The series for one label value, made once: callers keep it. */
  of(labelValue: string): HistogramSeries {
    let s = this.series.get(labelValue);
    if (s === undefined) this.series.set(labelValue, (s = new HistogramSeries(this.bounds)));
    return s;
  }

  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Exported[] }> {
    const values: Exported[] = [];
    for (const [lv, s] of this.series) {
      // As prom-client lays them out: `le` as the value's own label, the series' label shared.
      const sharedLabels = { [this.labelName]: lv };
      let acc = 0;
      this.bounds.forEach((le, i) => {
        acc += s.counts[i] as number;
        values.push({ labels: { le }, sharedLabels, value: acc, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { le: '+Inf' }, sharedLabels, value: s.count, metricName: `${this.name}_bucket` });
      values.push({ labels: {}, sharedLabels, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: {}, sharedLabels, value: s.count, metricName: `${this.name}_count` });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  reset(): void {
    this.series.clear();
  }
}
