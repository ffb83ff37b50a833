#!/usr/bin/env -S node --max-semi-space-size=4
// --max-semi-space-size=4: a region node is a long-running server with a memory budget
// (150 MB RSS idle). A 4 MB young generation (V8's default is 16 MB on 64-bit) lets most of
// a request's objects die young instead of being promoted: measured against the 2 MB it
// replaced (bench/gateway, 2026-11-26, two full runs back to back), 15% less CPU per proxied
// request (node's own floor moved the same way), cache hits about the same, bench/data
// writes within the runs' spread; a node of the default world holds ~2 MB more. 8 MB gained
// no more and cost ~10 MB. The local world passes the same flags (src/world:
// regionNodeV8Flags); `node bin/meridian.js` without them works too, with V8's default.
// The `meridian` command. The TypeScript sources are compiled to dist/ by `npm run build`,
// which `npm ci` runs through the `prepare` script.
import { existsSync } from 'node:fs';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  console.error('meridian: dist/ is missing; run `npm ci` (or `npm run build`) in the package first');
  process.exit(1);
}
await import(main.href);
