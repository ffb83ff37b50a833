// Where a request's data lives, when the request says: a header, a cookie, or a path
// rule from the config. PURE.

import type { RegionId } from '../lib/index.js';
import { pathPattern } from '../lib/index.js';

export interface HomeRules {
  readonly header: string;
  readonly cookie: string;
  readonly paths: readonly { readonly match: string; readonly region: RegionId }[];
}

export interface CompiledHomeRules {
  readonly header: string;
  readonly cookie: string;
  readonly paths: readonly { readonly pattern: RegExp; readonly region: RegionId }[];
}

export function compileHomeRules(r: HomeRules): CompiledHomeRules {
  return { header: r.header.toLowerCase(), cookie: r.cookie, paths: r.paths.map((p) => ({ pattern: pathPattern(p.match), region: p.region })) };
}

export interface HomeOfRequest {
  readonly region: string;
  readonly source: 'header' | 'cookie' | 'path';
}

export function homeOf(rules: CompiledHomeRules, path: string, headers: Readonly<Record<string, string | string[] | undefined>>): HomeOfRequest | null {
  const h = headers[rules.header];
  const fromHeader = (Array.isArray(h) ? h[0] : h)?.trim();
  if (fromHeader !== undefined && fromHeader !== '') return { region: fromHeader, source: 'header' };
  const cookie = headers.cookie;
  if (cookie !== undefined) for (const c of Array.isArray(cookie) ? cookie : [cookie]) {
    for (const part of c.split(';')) {
      const i = part.indexOf('=');
      if (i > 0 && part.slice(0, i).trim() === rules.cookie) {
        const v = part.slice(i + 1).trim();
        if (v !== '') return { region: v, source: 'cookie' };
      }
    }
  }
  if (rules.paths.length === 0) return null;
  const q = path.indexOf('?');
  const p = q < 0 ? path : path.slice(0, q);
  for (const rule of rules.paths) if (rule.pattern.test(p)) return { region: rule.region, source: 'path' };
  return null;
}
