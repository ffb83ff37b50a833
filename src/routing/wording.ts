// How reasons say numbers. Pure formatting: a reason is read by a person in
// `meridian route` and in response headers, so it quotes the figures that decided.

import type { RttEstimate } from '../geo/index.js';
import { unreachable } from '../lib/index.js';

/** 1st, 2nd, 3rd, 4th, …, 11th, 12th, 13th, 21st. */
export function ordinal(n: number): string {
  const mod100 = n % 100;
  if (mod100 >= 11 && mod100 <= 13) return `${n}th`;
  switch (n % 10) {
    case 1:
      return `${n}st`;
    case 2:
      return `${n}nd`;
    case 3:
      return `${n}rd`;
    default:
      return `${n}th`;
  }
}

/** The largest |ms| a JS Date accepts; beyond it toISOString() throws. */
const maxDateMs = 8.64e15;

/**
 * A health change time as UTC, `2025-05-29T12:03:04Z` (milliseconds shown only when
 * non-zero). This formats a value that came in with the query; it never reads the clock.
 */
export function formatUtc(ms: number): string {
  if (!Number.isFinite(ms) || Math.abs(ms) > maxDateMs) return `${ms} ms`;
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

/** ` since 2025-05-29T12:03:04Z`, or nothing when the change time is unknown. */
export function sinceText(sinceMs: number | undefined): string {
  return sinceMs === undefined ? '' : ` since ${formatUtc(sinceMs)}`;
}

/** `measured RTT: 18 ms (from eu-west-2, nearest to the client, plus fibre)` or `fibre-estimated RTT: 42 ms`. */
export function rttText(rtt: RttEstimate): string {
  switch (rtt.source) {
    case 'anchored':
      return `measured RTT: ${rtt.ms} ms (from ${rtt.via ?? 'the nearest region'}, nearest to the client, plus fibre)`;
    case 'measured':
      return `measured RTT: ${rtt.ms} ms`;
    case 'fibre':
      return `fibre-estimated RTT: ${rtt.ms} ms`;
    default:
      return unreachable(rtt.source);
  }
}

export function kmText(km: number): string {
  return `${Math.round(km)} km`;
}

/** `+10`, `-25`, `0`: a bias with its sign, as Route 53 shows it. */
export function signed(n: number): string {
  return n > 0 ? `+${n}` : `${n}`;
}

/** `75%`, `33.3%`. */
export function percentText(fraction: number): string {
  return `${+(fraction * 100).toFixed(1)}%`;
}
