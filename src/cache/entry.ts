// Turning an upstream response into a stored entry, or saying why not (RFC 9111 §3). PURE.

import type { AgeBasis } from './age.js';
import { responseDirectives } from './directives.js';
import { headerBytes, without, withoutHopByHop } from './header-fields.js';
import { pathOnly, type CacheKeyParts } from './key.js';
import { ruleTtlMs, type CompiledRule } from './rules.js';
import { assessStorability } from './storability.js';
import type { StoredResponse } from './store.js';
import { surrogateKeys } from './tags.js';
import type { HeaderMap } from './types.js';
import { selectorFor, varyFields } from './vary.js';

export interface EntryInput {
  readonly key: CacheKeyParts;
  readonly requestHeaders: HeaderMap;
  readonly status: number;
  readonly headers: HeaderMap;
  readonly body: Buffer;
  readonly age: AgeBasis;
  readonly rules: readonly CompiledRule[];
  readonly maxObjectBytes: number;
  readonly seq: number;
}

export type EntryVerdict = { readonly ok: true; readonly entry: StoredResponse } | { readonly ok: false; readonly why: 'not-storable' | 'too-large'; readonly detail: string };

export function buildEntry(i: EntryInput): EntryVerdict {
  const fields = varyFields(i.headers);
  const directives = responseDirectives(i.headers);
  const verdict = assessStorability({
    status: i.status,
    responseHeaders: i.headers,
    directives,
    requestHeaders: i.requestHeaders,
    responseTimeMs: i.age.responseTimeMs,
    ruleTtlMs: ruleTtlMs(i.rules, pathOnly(i.key.target)),
  });
  if (!verdict.storable) return { ok: false, why: 'not-storable', detail: verdict.reason };
  if (fields === '*') return { ok: false, why: 'not-storable', detail: 'Vary: *' };
  // Hop-by-hop fields are never stored (§3.1); Age is recomputed when served; Set-Cookie
  // is one user's (see storability.ts).
  const headers = without(withoutHopByHop(i.headers), ['age', 'set-cookie']);
  const vary = selectorFor(fields, i.requestHeaders);
  const bytes = headerBytes(headers) + i.body.length + Buffer.byteLength(i.key.key) + vary.values.reduce((n, v) => n + Buffer.byteLength(v ?? ''), 0);
  if (bytes > i.maxObjectBytes) return { ok: false, why: 'too-large', detail: `${bytes} bytes > ${i.maxObjectBytes}` };
  return {
    ok: true,
    entry: {
      seq: i.seq,
      key: i.key.key,
      status: i.status,
      headers,
      body: i.body,
      vary,
      age: i.age,
      lifetimeSec: verdict.lifetimeSec,
      directives,
      allowsAuthorized: verdict.allowsAuthorized,
      tags: surrogateKeys(i.headers),
      bytes,
    },
  };
}
