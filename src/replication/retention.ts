// How far the change log may be truncated. PURE.
//
// Up to the lowest sequence every destination has acknowledged: they will not need those
// entries again. But the log is bounded: it keeps at most `logKeep` entries, and beyond
// that it is truncated anyway; a destination left below the log's start catches up from
// a snapshot instead (a region away for days must not fill this region's disk).

/** The sequence to truncate up to (inclusive), or null when nothing may go. */
export function truncationPoint(acks: readonly number[], log: { readonly firstSeq: number; readonly lastSeq: number }, logKeep: number): number | null {
  const acked = acks.length === 0 ? log.lastSeq : Math.min(...acks);
  const upTo = Math.min(log.lastSeq, Math.max(acked, log.lastSeq - logKeep));
  return upTo >= log.firstSeq ? upTo : null;
}
