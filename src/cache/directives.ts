// Cache-Control (RFC 9111 §5.2) parsed once into what the cache acts on. The parser is our
// own: http-cache-semantics splits on every comma and "=" (a quoted value with a comma in it
// breaks it), keeps directive names case-sensitive (§5.2 says they are case-insensitive) and
// lets the last duplicate win (§4.2.1 asks for the first, or treating the response as stale).

import { fieldValue } from './header-fields.js';
import type { HeaderMap } from './types.js';

export interface Directive {
  readonly name: string;
  /** null for a bare directive; quotes removed and escapes undone. */
  readonly value: string | null;
}

/** `token [ "=" ( token / quoted-string ) ]`, comma-separated; names lower-cased. */
export function parseCacheControl(value: string | undefined): Directive[] {
  if (value === undefined) return [];
  const out: Directive[] = [];
  let i = 0;
  const n = value.length;
  while (i < n) {
    while (i < n && (value[i] === ',' || value[i] === ' ' || value[i] === '\t')) i++;
    const nameStart = i;
    while (i < n && value[i] !== '=' && value[i] !== ',') i++;
    const name = value.slice(nameStart, i).trim().toLowerCase();
    let v: string | null = null;
    if (value[i] === '=') {
      i++;
      while (i < n && (value[i] === ' ' || value[i] === '\t')) i++;
      if (value[i] === '"') {
        i++;
        let s = '';
        while (i < n && value[i] !== '"') {
          if (value[i] === '\\' && i + 1 < n) i++;
          s += value[i];
          i++;
        }
        i++; // closing quote
        v = s;
        while (i < n && value[i] !== ',') i++; // anything after the quoted string is junk
      } else {
        const start = i;
        while (i < n && value[i] !== ',') i++;
        v = value.slice(start, i).trim();
      }
    }
    if (name !== '') out.push({ name, value: v });
  }
  return out;
}

/** Largest delta-seconds a recipient needs to represent (RFC 9111 §1.2.2). */
const deltaSecondsMax = 2_147_483_648;

/** delta-seconds (RFC 9111 §1.2.2): digits only; null when invalid. */
export function deltaSeconds(value: string | null): number | null {
  if (value === null || !/^\d+$/.test(value)) return null;
  return Math.min(Number(value), deltaSecondsMax);
}

interface Occurrences {
  has(name: string): boolean;
  /** The one value of a directive: null when absent, 'conflict' when it appears with different values. */
  single(name: string): string | null | 'conflict' | 'bare';
}

function occurrences(ds: readonly Directive[]): Occurrences {
  const byName = new Map<string, (string | null)[]>();
  for (const d of ds) byName.set(d.name, [...(byName.get(d.name) ?? []), d.value]);
  return {
    has: (name) => byName.has(name),
    single: (name) => {
      const vs = byName.get(name);
      if (vs === undefined) return null;
      if (new Set(vs).size > 1) return 'conflict';
      return vs[0] ?? 'bare';
    },
  };
}

/**
 * A freshness directive's seconds. Absent: null. Invalid, or present twice with different
 * values: 0 — RFC 9111 §4.2.1 encourages treating invalid freshness information as stale.
 */
function freshnessSeconds(o: Occurrences, name: string): number | null {
  const v = o.single(name);
  if (v === null) return null;
  if (v === 'conflict' || v === 'bare') return 0;
  return deltaSeconds(v) ?? 0;
}

/** A stale-serving permission's seconds (RFC 5861): anything unclear grants nothing. */
function permissionSeconds(o: Occurrences, name: string): number {
  const v = o.single(name);
  if (v === null || v === 'conflict' || v === 'bare') return 0;
  return deltaSeconds(v) ?? 0;
}

export interface ResponseDirectives {
  readonly noStore: boolean;
  /** Qualified no-cache="field" is treated as unqualified, which §5.2.2.4 allows. */
  readonly noCache: boolean;
  /** Qualified private="field" is treated as unqualified: never stored (§5.2.2.7 allows). */
  readonly private: boolean;
  readonly public: boolean;
  readonly mustRevalidate: boolean;
  readonly proxyRevalidate: boolean;
  readonly mustUnderstand: boolean;
  readonly maxAgeSec: number | null;
  readonly sMaxAgeSec: number | null;
  readonly staleWhileRevalidateSec: number;
  readonly staleIfErrorSec: number;
}

export function responseDirectives(headers: HeaderMap): ResponseDirectives {
  const cc = fieldValue(headers, 'cache-control');
  const ds = parseCacheControl(cc);
  // Pragma has no defined meaning in responses (RFC 9111 §5.4); an HTTP/1.0 origin that
  // sends `Pragma: no-cache` and no Cache-Control means no-cache, so we read it that way.
  const pragmaNoCache = cc === undefined && /(^|,)\s*no-cache\s*(,|$)/i.test(fieldValue(headers, 'pragma') ?? '');
  const o = occurrences(ds);
  return {
    noStore: o.has('no-store'),
    noCache: o.has('no-cache') || pragmaNoCache,
    private: o.has('private'),
    public: o.has('public'),
    mustRevalidate: o.has('must-revalidate'),
    proxyRevalidate: o.has('proxy-revalidate'),
    mustUnderstand: o.has('must-understand'),
    maxAgeSec: freshnessSeconds(o, 'max-age'),
    sMaxAgeSec: freshnessSeconds(o, 's-maxage'),
    staleWhileRevalidateSec: permissionSeconds(o, 'stale-while-revalidate'),
    staleIfErrorSec: permissionSeconds(o, 'stale-if-error'),
  };
}

export interface RequestDirectives {
  readonly noCache: boolean;
  readonly noStore: boolean;
  readonly onlyIfCached: boolean;
  /** §5.2.1.1; an invalid value is read as 0 (validate), the safe side. */
  readonly maxAgeSec: number | null;
  /** §5.2.1.2; bare max-stale is Infinity; an invalid value accepts nothing stale (null). */
  readonly maxStaleSec: number | null;
  /** §5.2.1.3; an invalid value is ignored. */
  readonly minFreshSec: number | null;
  /** RFC 5861 §4: also a request directive. */
  readonly staleIfErrorSec: number;
}

export function requestDirectives(headers: HeaderMap): RequestDirectives {
  const cc = fieldValue(headers, 'cache-control');
  const o = occurrences(parseCacheControl(cc));
  // §5.4: Pragma: no-cache counts as Cache-Control: no-cache only when Cache-Control is absent.
  const pragmaNoCache = cc === undefined && /(^|,)\s*no-cache\s*(,|$)/i.test(fieldValue(headers, 'pragma') ?? '');
  const maxStale = o.single('max-stale');
  return {
    noCache: o.has('no-cache') || pragmaNoCache,
    noStore: o.has('no-store'),
    onlyIfCached: o.has('only-if-cached'),
    maxAgeSec: freshnessSeconds(o, 'max-age'),
    maxStaleSec: maxStale === null || maxStale === 'conflict' ? null : maxStale === 'bare' ? Infinity : deltaSeconds(maxStale),
    minFreshSec: (() => {
      const v = o.single('min-fresh');
      return v === null || v === 'conflict' || v === 'bare' ? null : deltaSeconds(v);
    })(),
    staleIfErrorSec: permissionSeconds(o, 'stale-if-error'),
  };
}

/**
 * The Cache-Control handed to http-cache-semantics: only the directives it reads, in a form
 * its naive parser gets right. proxy-revalidate is left out on purpose: the library turns
 * it into a freshness lifetime of 0 for a shared cache, but §5.2.2.8 gives it the meaning of
 * must-revalidate (fresh responses are served; stale ones are not) — we apply that ourselves.
 * must-understand (§5.2.2.3): when the status code is understood, no-store is ignored.
 */
export function libraryCacheControl(d: ResponseDirectives, statusUnderstood: boolean): string | undefined {
  const parts: string[] = [];
  if (d.noStore && !(d.mustUnderstand && statusUnderstood)) parts.push('no-store');
  if (d.noCache) parts.push('no-cache');
  if (d.private) parts.push('private');
  if (d.public) parts.push('public');
  if (d.mustRevalidate) parts.push('must-revalidate');
  if (d.maxAgeSec !== null) parts.push(`max-age=${d.maxAgeSec}`);
  if (d.sMaxAgeSec !== null) parts.push(`s-maxage=${d.sMaxAgeSec}`);
  return parts.length === 0 ? undefined : parts.join(', ');
}
