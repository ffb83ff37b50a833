// Sending a snapshot to a destination the log can no longer catch up (shell). Every row
// and counter slot it may store goes in pages, in key order; then its watermark for this
// source moves to the sequence captured when the snapshot began. Rows that change while
// the pages go out are either in a page already (newer: harmless, merges are idempotent)
// or shipped by the log after that sequence.

import type { Change, CounterSlot, Store, StoredRow } from '../store/index.js';
import type { MeshClient } from '../mesh/index.js';
import type { MayStoreAt } from './batch.js';
import { callPeer } from './peer-call.js';
import { appliedReplyBody } from './wire.js';

export interface SnapshotJob {
  readonly store: Store;
  readonly mesh: MeshClient;
  readonly dest: string;
  readonly mayStoreAt: MayStoreAt;
  readonly pageSize: number;
  readonly timeoutMs: number;
  readonly nowMs: () => number;
  /** Checked between pages: a stopping node abandons the snapshot. */
  readonly stopped: () => boolean;
}

const rowChange = (r: StoredRow): Change => ({ kind: 'row', table: r.table, key: r.key, value: r.value, version: r.version, prev: null, home: r.home, ...(r.epoch !== undefined && r.epoch > 0 && { epoch: r.epoch }) });
const slotChange = (s: CounterSlot): Change => ({ kind: 'counter', table: s.table, key: s.key, slot: s.slot, p: s.p, n: s.n, version: s.version });

/** Runs the snapshot; returns the sequence the destination now holds up to. */
export async function sendSnapshot(job: SnapshotJob): Promise<{ seq: number; pages: number }> {
  const { store, dest } = job;
  // Captured first and synchronously: every commit up to here is in the store already.
  const seq = store.lastSeq();
  const sourceMs = job.nowMs();
  let pages = 0;
  const ship = async (changes: Change[]): Promise<void> => {
    if (job.stopped()) throw new Error('replication is stopping');
    if (changes.length === 0) return;
    await callPeer(job.mesh, dest, '/replication/snapshot/page', { changes }, appliedReplyBody, job.timeoutMs);
    pages++;
  };

  let afterRow = { table: '', key: '' };
  for (;;) {
    const rows = store.rowsPage(afterRow, job.pageSize);
    const last = rows[rows.length - 1];
    if (last === undefined) break;
    afterRow = { table: last.table, key: last.key };
    await ship(rows.filter((r) => job.mayStoreAt(dest, r.table, r.home)).map(rowChange));
  }
  let afterSlot = { table: '', key: '', slot: '' };
  for (;;) {
    const slots = store.slotsPage(afterSlot, job.pageSize);
    const last = slots[slots.length - 1];
    if (last === undefined) break;
    afterSlot = { table: last.table, key: last.key, slot: last.slot };
    await ship(slots.filter((s) => job.mayStoreAt(dest, s.table, null)).map(slotChange));
  }
  await callPeer(job.mesh, dest, '/replication/snapshot/done', { seq, sourceMs }, appliedReplyBody, job.timeoutMs);
  return { seq, pages };
}
