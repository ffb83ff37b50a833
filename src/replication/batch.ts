// Cutting a batch from the log for one destination. PURE.
//
// Residency is decided here, before anything leaves: a change goes only to a destination
// that may store it. A skipped change is still covered by the batch's range, so the
// destination's watermark moves past it and it is never asked for again.

import { assert } from '../lib/index.js';
import type { LoggedChange } from '../store/index.js';
import type { BatchMessage } from './messages.js';

/** May `region` store a row of `table` homed in `home` (null: a global table or a counter)? */
export type MayStoreAt = (region: string, table: string, home: string | null) => boolean;

export function homeOf(c: { readonly kind: 'row'; readonly home: string | null } | { readonly kind: 'counter' }): string | null {
  return c.kind === 'row' ? c.home : null;
}

export interface BatchCut {
  readonly source: string;
  readonly dest: string;
  readonly id: number;
  readonly firstSeq: number;
  readonly lastSeq: number;
  /** The log's last sequence when the batch was cut. */
  readonly logLastSeq: number;
  readonly nowMs: number;
}

/**
 * @param entries the log's entries firstSeq..lastSeq, every one of them (the caller checks
 *   the log still holds them; see `coversRange`)
 */
export function cutBatch(cut: BatchCut, entries: readonly LoggedChange[], mayStoreAt: MayStoreAt): BatchMessage {
  assert(coversRange(entries, cut.firstSeq, cut.lastSeq), 'a batch is cut from every entry of its range');
  const changes = entries.filter((c) => mayStoreAt(cut.dest, c.table, homeOf(c)));
  // Freshness: a batch that reaches the end of the log makes the destination current as
  // of now. One that stops short makes it current up to just before its last change's
  // commit (commits are stamped in order, so everything before that is in this batch).
  const last = entries[entries.length - 1];
  const sourceMs = cut.lastSeq >= cut.logLastSeq || last === undefined ? cut.nowMs : last.committedMs - 1;
  return { source: cut.source, id: cut.id, firstSeq: cut.firstSeq, lastSeq: cut.lastSeq, sourceMs, changes };
}

/** Are these exactly the entries firstSeq..lastSeq, in order? */
export function coversRange(entries: readonly LoggedChange[], firstSeq: number, lastSeq: number): boolean {
  if (entries.length !== lastSeq - firstSeq + 1) return false;
  return entries.every((c, i) => c.seq === firstSeq + i);
}

/** Each change's JSON, made once however many destinations it goes to (the log tail hands
 *  every destination the same objects). Weak: gone with the change. */
const changeJson = new WeakMap<LoggedChange, string>();

/** A batch as JSON, the same text JSON.stringify(batch) gives. */
export function batchJson(b: BatchMessage): string {
  let changes = '';
  for (const c of b.changes) {
    let j = changeJson.get(c);
    if (j === undefined) changeJson.set(c, (j = JSON.stringify(c)));
    changes += changes === '' ? j : `,${j}`;
  }
  return `{"source":${JSON.stringify(b.source)},"id":${b.id},"firstSeq":${b.firstSeq},"lastSeq":${b.lastSeq},"sourceMs":${JSON.stringify(b.sourceMs)},"changes":[${changes}]}`;
}
