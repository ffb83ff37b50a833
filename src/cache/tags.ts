// Surrogate keys: names an origin gives a response so a group of URLs can be purged at once.
// Fastly's Surrogate-Key is space-separated; Cloudflare's Cache-Tag is comma-separated.
// Both land in one namespace and are compared exactly (case-sensitive). They are kept in
// what is served: a region that forwards to another region's gateway caches the answer too,
// and needs the tags to purge it.

import { fieldValue } from './header-fields.js';
import type { HeaderMap } from './types.js';

export function surrogateKeys(h: HeaderMap): string[] {
  const spaced = (fieldValue(h, 'surrogate-key') ?? '').split(/[\s,]+/);
  const commas = (fieldValue(h, 'cache-tag') ?? '').split(',');
  return [...new Set([...spaced, ...commas].map((s) => s.trim()).filter((s) => s !== ''))];
}
