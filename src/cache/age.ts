// Age (RFC 9111 §4.2.3), computed as the RFC writes it. http-cache-semantics computes
// Age + resident time only: it leaves out apparent_age (response_time − Date) and
// response_delay (response_time − request_time), so a response that sat in a queue, or
// arrived from an upstream with a slow clock, looks younger than it is.

import { firstValue, httpDateMs } from './header-fields.js';
import { deltaSeconds } from './directives.js';
import type { HeaderMap } from './types.js';

export interface AgeBasis {
  /** corrected_initial_age, seconds. */
  readonly correctedInitialAgeSec: number;
  /** response_time: when the response (or the 304 that validated it) arrived. */
  readonly responseTimeMs: number;
}

/**
 *   apparent_age = max(0, response_time - date_value)
 *   response_delay = response_time - request_time
 *   corrected_age_value = age_value + response_delay
 *   corrected_initial_age = max(apparent_age, corrected_age_value)
 */
export function ageBasis(headers: HeaderMap, requestTimeMs: number, responseTimeMs: number): AgeBasis {
  // A missing or invalid Date is read as the time the response was received (RFC 9110 §6.6.1).
  const dateMs = httpDateMs(firstValue(headers, 'date')) ?? responseTimeMs;
  // An Age that is not delta-seconds is ignored (§5.1).
  const ageValueSec = deltaSeconds(firstValue(headers, 'age')?.trim() ?? null) ?? 0;
  const apparentAgeSec = Math.max(0, (responseTimeMs - dateMs) / 1000);
  const responseDelaySec = Math.max(0, (responseTimeMs - requestTimeMs) / 1000);
  const correctedAgeValueSec = ageValueSec + responseDelaySec;
  return { correctedInitialAgeSec: Math.max(apparentAgeSec, correctedAgeValueSec), responseTimeMs };
}

/** current_age = corrected_initial_age + resident_time. */
export function currentAgeSec(b: AgeBasis, nowMs: number): number {
  return b.correctedInitialAgeSec + Math.max(0, nowMs - b.responseTimeMs) / 1000;
}

/** The Age field value: whole seconds, rounded down (§5.1: a non-negative integer). */
export function ageFieldSec(ageSec: number): number {
  return Math.min(Math.floor(ageSec), 2_147_483_648);
}
