// Synchronous replication of `survive: region` writes: the leader sends each committed
// change to the partition's synchronous follower and acknowledges the client only after
// the follower has persisted it. The follower refuses a leader whose epoch is older than
// the newest it knows (fencing).

import { z } from 'zod';
import type { MeshClient } from '../mesh/index.js';
import type { Change, Store } from '../store/index.js';

export const syncPath = '/replication/sync';

export interface SyncMessage {
  readonly partition: string;
  readonly epoch: number;
  readonly changes: readonly Change[];
}

const hlc = z.object({ wall: z.number().int().nonnegative(), logical: z.number().int().nonnegative(), region: z.string().max(64) });
const syncBody = z.object({
  partition: z.string().max(64),
  epoch: z.number().int().positive(),
  changes: z
    .array(z.object({ kind: z.literal('row'), table: z.string().max(64), key: z.string().max(1024), value: z.string().nullable(), version: hlc, prev: hlc.nullable(), home: z.string().max(64), epoch: z.number().int().positive() }))
    .min(1)
    .max(4096),
});

export type SyncAnswer = { readonly status: 200; readonly applied: number } | { readonly status: 400 | 409 | 451; readonly error: string; readonly reason: string };

/** The follower's side: fencing, then the changes in one transaction, on disk (an fsync
 *  shared with whatever else is being made durable) before the answer. */
export async function acceptSync(store: Store, body: unknown, nowMs: number): Promise<SyncAnswer> {
  const m = syncBody.safeParse(body);
  if (!m.success) return { status: 400, error: 'bad_request', reason: m.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
  const { partition, epoch, changes } = m.data;
  if (changes.some((c) => c.home !== partition || c.epoch !== epoch)) return { status: 400, error: 'bad_request', reason: 'every change must belong to the partition and carry the message epoch' };
  const known = store.partitionEpoch(partition).epoch;
  if (epoch < known) return { status: 409, error: 'fenced', reason: `epoch ${epoch} is older than ${known}, the newest known for ${partition}` };
  // Written only when it moves: an upsert per accept was a transaction of its own.
  if (epoch > known) store.raiseEpoch(partition, epoch);
  const r = store.apply(changes, nowMs);
  if (r.refused > 0) return { status: 451, error: 'residency', reason: `${r.refused} change(s) may not be stored in ${store.region}` };
  await store.sync();
  return { status: 200, applied: r.applied };
}

/** The leader's side: resolves when the follower has persisted the changes. */
export async function pushSync(mesh: MeshClient, to: string, m: SyncMessage, timeoutMs: number): Promise<void> {
  const res = await mesh.request(to as Parameters<MeshClient['request']>[0], { method: 'POST', path: syncPath, headers: { 'content-type': 'application/json' }, body: JSON.stringify(m), timeoutMs });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`${to} refused the synchronous write (${res.statusCode}): ${text.slice(0, 200)}`);
}
