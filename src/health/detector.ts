// The failure detector. PURE: each probe result comes in with its time; the new state
// and whether it changed come out.
//
// A target starts up (optimistic, as gdnsd does: a region is not shunned before anyone
// has looked), goes down after `downAfter` consecutive failed probes and up again after
// `upAfter` consecutive good ones. Counting consecutive results, not a ratio, keeps one
// slow probe from flapping a region and bounds detection time at downAfter × interval.

export interface DetectorConfig {
  readonly downAfter: number;
  readonly upAfter: number;
}

export interface TargetHealth {
  readonly up: boolean;
  /** When `up` last changed (or the detector started). */
  readonly sinceMs: number;
  readonly consecutiveOk: number;
  readonly consecutiveFail: number;
  /** The last probe's outcome in words, for /status. */
  readonly lastResult: string;
  readonly lastProbeMs: number | null;
}

export interface ProbeResult {
  readonly ok: boolean;
  readonly nowMs: number;
  readonly detail: string;
}

export function initialHealth(nowMs: number): TargetHealth {
  return { up: true, sinceMs: nowMs, consecutiveOk: 0, consecutiveFail: 0, lastResult: 'not probed yet', lastProbeMs: null };
}

export function observe(h: TargetHealth, r: ProbeResult, cfg: DetectorConfig): { health: TargetHealth; changed: boolean } {
  const consecutiveOk = r.ok ? h.consecutiveOk + 1 : 0;
  const consecutiveFail = r.ok ? 0 : h.consecutiveFail + 1;
  let up = h.up;
  if (up && consecutiveFail >= cfg.downAfter) up = false;
  else if (!up && consecutiveOk >= cfg.upAfter) up = true;
  const changed = up !== h.up;
  return {
    health: { up, sinceMs: changed ? r.nowMs : h.sinceMs, consecutiveOk, consecutiveFail, lastResult: r.detail, lastProbeMs: r.nowMs },
    changed,
  };
}
