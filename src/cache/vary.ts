// Secondary keys (RFC 9111 §4.1): a stored response with Vary is reused only for requests
// whose nominated header fields match those of the request that produced it.

import { fieldValue, listMembers } from './header-fields.js';
import type { HeaderMap } from './types.js';

export interface VarySelector {
  /** Lower-case field names the response varies on, in order, without duplicates. */
  readonly fields: readonly string[];
  /** Each field's normalised value in the original request; null when it was absent. */
  readonly values: readonly (string | null)[];
}

/** Field names from Vary, or '*' — a response with `Vary: *` never matches (§4.1). */
export function varyFields(responseHeaders: HeaderMap): readonly string[] | '*' {
  const names = listMembers(fieldValue(responseHeaders, 'vary')).map((s) => s.toLowerCase());
  if (names.includes('*')) return '*';
  return [...new Set(names)];
}

/**
 * §4.1 lets a cache normalise before comparing: combine field lines, and drop whitespace
 * the field's syntax allows. We do exactly that and nothing field-specific; a different
 * spelling is then a separate variant, which costs a miss, never a wrong answer.
 */
export function normalisedField(requestHeaders: HeaderMap, name: string): string | null {
  const v = fieldValue(requestHeaders, name);
  if (v === undefined) return null;
  return v.trim().replace(/\s*,\s*/g, ',').replace(/[ \t]+/g, ' ');
}

export function selectorFor(fields: readonly string[], requestHeaders: HeaderMap): VarySelector {
  return { fields, values: fields.map((f) => normalisedField(requestHeaders, f)) };
}

/** An absent field matches only an absent field (§4.1). */
export function varyMatches(sel: VarySelector, requestHeaders: HeaderMap): boolean {
  return sel.fields.every((f, i) => normalisedField(requestHeaders, f) === sel.values[i]);
}
