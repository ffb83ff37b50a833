// Cache rules from the topology's `cache.rules`: a path pattern and the freshness lifetime
// to assume for responses that state none.

import { pathPattern } from '../lib/index.js';
import type { CacheRule } from './types.js';

export interface CompiledRule {
  readonly pattern: RegExp;
  readonly defaultTtlMs: number;
}

/** `*` matches within one path segment, `**` across segments; the rest is literal. */
export function compileRules(rules: readonly CacheRule[]): CompiledRule[] {
  return rules.map((r) => {
    if (!(Number.isFinite(r.defaultTtlMs) && r.defaultTtlMs >= 0)) throw new TypeError(`cache rule ${r.match}: defaultTtlMs must be a non-negative number`);
    return { pattern: pathPattern(r.match), defaultTtlMs: r.defaultTtlMs };
  });
}

/** The first matching rule's lifetime, or null. */
export function ruleTtlMs(rules: readonly CompiledRule[], path: string): number | null {
  for (const r of rules) if (r.pattern.test(path)) return r.defaultTtlMs;
  return null;
}
