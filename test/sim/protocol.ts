// What a simulated region takes in and gives out. The world (world.ts) is the only caller:
// it delivers inputs in seeded order and carries out effects (messages through the
// simulated network, timers through the scheduler, answers to clients).
//
// A leadership or failover core plugs in by adding its messages to `WireMessage`, its
// client operations to `ClientRequest` and its inputs (lease grants, expiries) to
// `RegionInput`; see README.md.

import type { BatchMessage, BatchReply } from '../../src/replication/messages.js';
import type { Change } from '../../src/store/index.js';
import type { Hlc } from '../../src/lib/index.js';
import type { RegisterValue } from '../../src/world/index.js';

export type WireMessage =
  | { readonly kind: 'batch'; readonly batch: BatchMessage }
  | { readonly kind: 'batch_reply'; readonly id: number; readonly reply: BatchReply | 'refused' }
  /** A whole snapshot in one message (the shell sends pages, then "done"). */
  | { readonly kind: 'snapshot'; readonly id: number; readonly changes: readonly Change[]; readonly seq: number; readonly sourceMs: number }
  | { readonly kind: 'snapshot_reply'; readonly id: number; readonly ok: boolean };

export type ClientRequest =
  | { readonly kind: 'put'; readonly table: string; readonly key: string; readonly value: string }
  | { readonly kind: 'increment'; readonly table: string; readonly key: string; readonly by: number }
  /** A strong operation on a home row, run where the partition's writer is. */
  | { readonly kind: 'strong'; readonly table: string; readonly home: string; readonly op: StrongOp };

export type StrongOp =
  | { readonly kind: 'read'; readonly key: string }
  | { readonly kind: 'write'; readonly key: string; readonly value: string }
  | { readonly kind: 'cas'; readonly key: string; readonly expected: RegisterValue; readonly value: string };

export type ClientReply =
  | { readonly kind: 'put'; readonly version: Hlc }
  | { readonly kind: 'increment' }
  | { readonly kind: 'strong'; readonly output: RegisterValue | 'ok' | 'fail'; readonly version: Hlc | null }
  /** Refused without effect (this region does not run it): the client knows it failed. */
  | { readonly kind: 'refused'; readonly reason: string };

export type RegionInput =
  | { readonly kind: 'tick'; readonly nowMs: number }
  /** `fromIncarnation`: which life of the sender sent it (a reply goes back to that one). */
  | { readonly kind: 'message'; readonly nowMs: number; readonly from: string; readonly fromIncarnation: number; readonly message: WireMessage }
  | { readonly kind: 'timeout'; readonly nowMs: number; readonly dest: string; readonly request: 'batch' | 'snapshot'; readonly id: number }
  | { readonly kind: 'client'; readonly nowMs: number; readonly requestId: number; readonly request: ClientRequest };

export type RegionEffect =
  /** `toIncarnation`: a reply, for that life of the destination only (it travels on the
   *  request's connection, which dies with the process); null for a request. */
  | { readonly kind: 'send'; readonly to: string; readonly toIncarnation: number | null; readonly message: WireMessage }
  /** Feed `input` back to this life of this region after `afterMs` (of its own time). */
  | { readonly kind: 'timer'; readonly afterMs: number; readonly input: RegionInput }
  | { readonly kind: 'client_reply'; readonly requestId: number; readonly reply: ClientReply };

/** A simulated region: everything it does happens in step(), nothing else is async. */
export interface RegionActor {
  readonly id: string;
  /** Which life this is: 0 at the start, +1 on each restart. */
  readonly incarnation: number;
  step(input: RegionInput): RegionEffect[];
}
