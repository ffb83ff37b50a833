// Clock offsets to peers, estimated from the health probes (NTP's way: the peer's clock
// against the midpoint of our send and receive times, give or take half the round trip).
// PURE. A node whose clock is further than the maximum offset from most of its peers is
// the one that is off: it must stop serving strong operations, and say why.

export interface OffsetSample {
  /** Peer clock minus ours, estimated (ms). */
  readonly offsetMs: number;
  /** Half the probe's round trip: the estimate is within ± this. */
  readonly uncertaintyMs: number;
  readonly atMs: number;
}

export function sampleOffset(sentMs: number, receivedMs: number, peerNowMs: number): OffsetSample {
  return { offsetMs: peerNowMs - (sentMs + receivedMs) / 2, uncertaintyMs: (receivedMs - sentMs) / 2, atMs: receivedMs };
}

export type ClockVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/**
 * Safe unless a majority of the peers heard from recently are provably further than
 * `maxOffsetMs` away (beyond the estimate's uncertainty). With no recent samples there is
 * nothing to go on, and the node keeps serving; a lone peer that is off does not stop it.
 */
export function clockVerdict(samples: ReadonlyMap<string, OffsetSample>, maxOffsetMs: number, nowMs: number, maxAgeMs: number): ClockVerdict {
  const recent = [...samples].filter(([, s]) => nowMs - s.atMs <= maxAgeMs);
  if (recent.length === 0) return { ok: true };
  const off = recent.filter(([, s]) => Math.abs(s.offsetMs) - s.uncertaintyMs > maxOffsetMs);
  if (off.length * 2 <= recent.length) return { ok: true };
  const detail = off.map(([peer, s]) => `${peer} ${s.offsetMs > 0 ? '+' : ''}${Math.round(s.offsetMs)} ms`).join(', ');
  return { ok: false, reason: `this node's clock is more than ${maxOffsetMs} ms (data.max_clock_offset) from ${off.length} of ${recent.length} peers (${detail}): strong operations stop until it is fixed` };
}
