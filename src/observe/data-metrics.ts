// Prometheus metrics of the data path: writes, replication lag per (source, destination)
// pair, conflicts, the change log. Registered on the node's registry.

import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface DataMetricsView {
  readonly writesCommitted: number;
  readonly writesForwarded: number;
  readonly readsForwarded: number;
  readonly refused: Readonly<Record<string, number>>;
  readonly logEntries: number;
  /** Per destination: changes committed here and not yet acknowledged there. */
  readonly pending: Readonly<Record<string, number>>;
}

export interface DataMetrics {
  /** A batch from `source` applied here: its changes' lag from commit to apply. */
  applied(source: string, lagMs: number, changes: number): void;
  conflict(table: string): void;
  /** One fsync of the store's WAL took `ms`. */
  fsync(ms: number): void;
  /** A survive: region write's synchronous copy took `ms` to be persisted by `follower`. */
  syncReplicated(follower: string, ms: number): void;
}

export function createDataMetrics(registry: Registry, region: string, view: () => DataMetricsView): DataMetrics {
  const lag = new Histogram({
    name: 'meridian_replication_lag_seconds',
    help: 'Time from a change\'s commit at its source to its apply here, per source and destination',
    labelNames: ['source', 'dest'] as const,
    // Fine between 50 and 300 ms, where inter-region RTTs (and so the lag bounds, RTT + 25
    // ms) lie: a p99 read off the histogram is then good to about 10 ms.
    buckets: [0.005, 0.01, 0.025, 0.05, 0.06, 0.07, 0.08, 0.09, 0.1, 0.11, 0.125, 0.15, 0.175, 0.2, 0.225, 0.25, 0.275, 0.3, 0.4, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  // As etcd's wal_fsync_duration_seconds: a slow or shared disk shows here first, and every
  // fsync'd write (and every synchronous copy a follower persists) waits for one.
  const fsyncs = new Histogram({
    name: 'meridian_store_fsync_seconds',
    help: 'Time one fsync of the store\'s write-ahead log took (data.durability: fsync)',
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 1],
    registers: [registry],
  });
  const syncCopies = new Histogram({
    name: 'meridian_sync_replication_seconds',
    help: 'Time from sending a survive: region write\'s synchronous copy to its follower\'s answer that it is on disk, per follower',
    labelNames: ['follower'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2.5],
    registers: [registry],
  });
  const applied = new Counter({ name: 'meridian_replication_changes_applied_total', help: 'Changes from other regions applied here', labelNames: ['source'] as const, registers: [registry] });
  const conflicts = new Counter({ name: 'meridian_replication_conflicts_total', help: 'Concurrent writes resolved by last-writer-wins, by table', labelNames: ['table'] as const, registers: [registry] });
  new Counter({
    name: 'meridian_data_operations_total', help: 'Data API operations: writes committed here, writes and reads forwarded to another region', labelNames: ['kind'] as const, registers: [registry],
    collect() {
      const v = view();
      this.reset();
      this.inc({ kind: 'write_committed' }, v.writesCommitted);
      this.inc({ kind: 'write_forwarded' }, v.writesForwarded);
      this.inc({ kind: 'read_forwarded' }, v.readsForwarded);
    },
  });
  new Counter({
    name: 'meridian_data_refused_total', help: 'Data API requests answered with an error, by error code', labelNames: ['error'] as const, registers: [registry],
    collect() {
      this.reset();
      for (const [error, n] of Object.entries(view().refused)) this.inc({ error }, n);
    },
  });
  new Gauge({ name: 'meridian_replication_log_entries', help: 'Entries in this region\'s change log', registers: [registry], collect() { this.set(view().logEntries); } });
  new Gauge({
    name: 'meridian_replication_pending_changes', help: 'Changes committed here that a destination has not acknowledged', labelNames: ['dest'] as const, registers: [registry],
    collect() {
      this.reset();
      for (const [dest, n] of Object.entries(view().pending)) this.set({ dest }, n);
    },
  });
  const labelsBySource = new Map<string, { source: string; dest: string }>();
  return {
    applied(source, lagMs, changes) {
      let l = labelsBySource.get(source);
      if (l === undefined) labelsBySource.set(source, (l = { source, dest: region }));
      lag.observe(l, lagMs / 1000);
      applied.inc({ source }, changes);
    },
    conflict(table) {
      conflicts.inc({ table });
    },
    fsync(ms) {
      fsyncs.observe(ms / 1000);
    },
    syncReplicated(follower, ms) {
      syncCopies.observe({ follower }, ms / 1000);
    },
  };
}
