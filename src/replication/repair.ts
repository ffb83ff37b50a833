// Anti-entropy over the mesh (shell around anti-entropy.ts). One round, with one peer:
// exchange digests of the classes both may store, list the buckets that differ, plan who
// sends what, and pull and push those rows and slots. The answering side's part is here
// too, so both halves of the exchange read side by side.

import { bucketCount, classKey, parseClassKey, type Change, type ResolvedConflict, type Store } from '../store/index.js';
import type { MeshClient } from '../mesh/index.js';
import { differingBuckets, digestFromWire, digestToWire, planRepair } from './anti-entropy.js';
import { homeOf, type MayStoreAt } from './batch.js';
import type { BucketEntries, BucketRef, ClassDigest, EntryRef } from './messages.js';
import { callPeer } from './peer-call.js';
import { appliedReplyBody, bucketsReplyBody, changesBody, digestReplyBody, maxBucketsPerRequest, maxRepairEntries, WireError } from './wire.js';

export interface RepairSide {
  readonly region: string;
  readonly store: Store;
  readonly mayStoreAt: MayStoreAt;
  readonly isCounter: (table: string) => boolean;
}

export interface RepairOutcome {
  /** Changes that took effect, on either side. */
  readonly repaired: number;
  readonly conflicts: readonly ResolvedConflict[];
}

const both = (side: RepairSide, peer: string, table: string, home: string | null): boolean => side.mayStoreAt(side.region, table, home) && side.mayStoreAt(peer, table, home);

// ---- the side that starts a round

export async function repairRound(side: RepairSide, mesh: MeshClient, peer: string, timeoutMs: number, nowMs: () => number): Promise<RepairOutcome> {
  const remote = await callPeer(mesh, peer, '/replication/digest', {}, digestReplyBody, timeoutMs);
  const classes = new Map<string, { table: string; home: string | null; counter: boolean }>();
  for (const k of side.store.digestClasses()) {
    const { table, home } = parseClassKey(k);
    if (both(side, peer, table, home)) classes.set(k, { table, home, counter: side.isCounter(table) });
  }
  const theirs = new Map<string, bigint[]>();
  for (const c of remote.classes) {
    if (!both(side, peer, c.table, c.home)) continue;
    const k = classKey(c.table, c.home);
    classes.set(k, { table: c.table, home: c.home, counter: side.isCounter(c.table) });
    theirs.set(k, digestFromWire(c.digest));
  }
  const zeros = new Array<bigint>(bucketCount).fill(0n);
  const differing: BucketRef[] = [];
  for (const [k, c] of classes) for (const bucket of differingBuckets(side.store.digestOf(c.table, c.home), theirs.get(k) ?? zeros)) differing.push({ ...c, bucket });
  // Bounded: one request's worth of buckets a round; the rest wait for the next round.
  const asked = differing.slice(0, maxBucketsPerRequest);
  if (asked.length === 0) return { repaired: 0, conflicts: [] };

  const listed = await callPeer(mesh, peer, '/replication/buckets', { buckets: asked }, bucketsReplyBody, timeoutMs);
  const push: EntryRef[] = [];
  const pull: EntryRef[] = [];
  for (const b of listed.buckets) {
    if (!both(side, peer, b.table, b.home)) continue;
    const plan = planRepair(side.store.bucketEntries(b.table, b.home, b.bucket, side.isCounter(b.table)), b.entries);
    for (const e of plan.push) push.push({ table: b.table, key: e.key, slot: e.slot });
    for (const e of plan.pull) pull.push({ table: b.table, key: e.key, slot: e.slot });
  }

  let repaired = 0;
  const conflicts: ResolvedConflict[] = [];
  for (let i = 0; i < pull.length; i += maxRepairEntries) {
    const got = await callPeer(mesh, peer, '/replication/changes', { entries: pull.slice(i, i + maxRepairEntries) }, changesBody, timeoutMs);
    const mine = got.changes.filter((c) => side.mayStoreAt(side.region, c.table, homeOf(c)));
    const out = side.store.apply(mine, nowMs());
    repaired += out.applied;
    conflicts.push(...out.conflicts);
  }
  // What was pulled is on disk before the round ends (a new leader serves after it).
  if (pull.length > 0) await side.store.sync();
  for (let i = 0; i < push.length; i += maxRepairEntries) {
    const changes = side.store.changesFor(push.slice(i, i + maxRepairEntries)).filter((c) => side.mayStoreAt(peer, c.table, homeOf(c)));
    if (changes.length === 0) continue;
    const out = await callPeer(mesh, peer, '/replication/repair', { changes }, appliedReplyBody, timeoutMs);
    repaired += out.applied;
  }
  return { repaired, conflicts };
}

// ---- the side that answers

export function answerDigest(side: RepairSide, from: string): { classes: ClassDigest[] } {
  const classes: ClassDigest[] = [];
  for (const k of side.store.digestClasses()) {
    const { table, home } = parseClassKey(k);
    if (both(side, from, table, home)) classes.push({ table, home, counter: side.isCounter(table), digest: digestToWire(side.store.digestOf(table, home)) });
  }
  return { classes };
}

/** Buckets are listed in an answer until it holds this many entries (at least one bucket):
 *  a round then costs either side a bounded amount of memory however large the table —
 *  listing every differing bucket of a 150,000-row table was 14.6 MB of JSON and 60–85 MB
 *  of garbage on a source that was also streaming (bench/data). The buckets left out still
 *  differ, and the next rounds take them. */
export const maxListedEntries = maxRepairEntries;

export function answerBuckets(side: RepairSide, from: string, buckets: readonly BucketRef[]): { buckets: BucketEntries[] } {
  for (const b of buckets) if (!both(side, from, b.table, b.home)) throw new WireError(403, 'residency', `${from} may not hold rows of ${b.table} homed in ${b.home ?? '(global)'}`);
  const out: BucketEntries[] = [];
  let listed = 0;
  for (const b of buckets) {
    if (out.length > 0 && listed >= maxListedEntries) break;
    const entries = side.store.bucketEntries(b.table, b.home, b.bucket, side.isCounter(b.table));
    listed += entries.length;
    out.push({ ...b, counter: side.isCounter(b.table), entries });
  }
  return { buckets: out };
}

/** The current state of the named entries, only what the asking region may store. */
export function answerChanges(side: RepairSide, from: string, entries: readonly EntryRef[]): { changes: Change[] } {
  return { changes: side.store.changesFor(entries).filter((c) => side.mayStoreAt(from, c.table, homeOf(c))) };
}
