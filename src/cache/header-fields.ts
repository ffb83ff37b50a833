// Header maps with lower-case names, and the field handling caches share: combining field
// lines into one value (RFC 9110 §5.3), hop-by-hop fields (RFC 9110 §7.6.1), sizes.

import type { HeaderMap } from './types.js';

/** Lower-cases names and drops undefined values; arrays are copied. */
export function lowerCaseHeaders(h: Record<string, string | string[] | undefined>): HeaderMap {
  const out: HeaderMap = {};
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined) continue;
    const name = k.toLowerCase();
    const prior = out[name];
    const next = Array.isArray(v) ? [...v] : v;
    out[name] = prior === undefined ? next : [...asList(prior), ...asList(next)];
  }
  return out;
}

function asList(v: string | string[]): string[] {
  return Array.isArray(v) ? v : [v];
}

/** The field's lines combined with ", " (RFC 9110 §5.3); undefined when absent. */
export function fieldValue(h: HeaderMap, name: string): string | undefined {
  const v = h[name];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.join(', ') : v;
}

/** The first line only: for singleton fields (Date, ETag, Last-Modified, Age). */
export function firstValue(h: HeaderMap, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Splits a list-based field on commas, trimmed, empty members dropped (RFC 9110 §5.6.1). */
export function listMembers(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

const hopByHop = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-authenticate', 'proxy-authorization']);

/** Without hop-by-hop fields and those the Connection field names: a cache never stores them (RFC 9111 §3.1). */
export function withoutHopByHop(h: HeaderMap): HeaderMap {
  const named = new Set(listMembers(fieldValue(h, 'connection')).map((s) => s.toLowerCase()));
  const out: HeaderMap = {};
  for (const [k, v] of Object.entries(h)) {
    if (hopByHop.has(k) || named.has(k)) continue;
    out[k] = v;
  }
  return out;
}

export function without(h: HeaderMap, names: readonly string[]): HeaderMap {
  const out: HeaderMap = { ...h };
  for (const n of names) delete out[n];
  return out;
}

/** Bytes the fields take on the wire as `name: value\r\n` lines: what the memory bound counts. */
export function headerBytes(h: HeaderMap): number {
  let n = 0;
  for (const [k, v] of Object.entries(h)) {
    for (const line of asList(v)) n += Buffer.byteLength(k) + Buffer.byteLength(line) + 4;
  }
  return n;
}

/** An HTTP-date (RFC 9110 §5.6.7) as epoch ms, or null when absent or invalid. */
export function httpDateMs(value: string | undefined): number | null {
  if (value === undefined) return null;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : null;
}
