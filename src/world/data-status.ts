// What the world reads of a node's data from its /status (the `data` section): writes
// committed, the replication lag of every source it applies changes from, conflicts
// resolved. PURE and tolerant: a node that is down, older, or not yet serving data has
// no such section, and that reads as "unknown" (null), never as zero.

export interface InboundLag {
  readonly lagMsP50: number | null;
  readonly lagMsP99: number | null;
  readonly lagMsLast: number | null;
  readonly changesApplied: number | null;
}

export interface NodeDataStatus {
  readonly writesCommitted: number | null;
  readonly writesForwarded: number | null;
  /** By source region: the lag of what this node applied from it. */
  readonly inbound: Readonly<Record<string, InboundLag>>;
  readonly conflictsTotal: number | null;
}

const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);
const obj = (x: unknown): Record<string, unknown> | null => (typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as Record<string, unknown>) : null);

/** The data section of a node's /status body; null when it has none. */
export function readNodeDataStatus(status: unknown): NodeDataStatus | null {
  const data = obj(obj(status)?.data);
  if (data === null) return null;
  const writes = obj(data.writes);
  const replication = obj(data.replication);
  const inbound: Record<string, InboundLag> = {};
  for (const [source, v] of Object.entries(obj(replication?.inbound) ?? {})) {
    const l = obj(v);
    if (l === null) continue;
    inbound[source] = { lagMsP50: num(l.lagMsP50), lagMsP99: num(l.lagMsP99), lagMsLast: num(l.lagMsLast), changesApplied: num(l.changesApplied) };
  }
  return {
    writesCommitted: num(writes?.committed),
    writesForwarded: num(writes?.forwarded),
    inbound,
    conflictsTotal: num(obj(replication?.conflicts)?.total),
  };
}
