#!/usr/bin/env -S node --max-semi-space-size=2
// --max-semi-space-size=2: a region node is a long-running server with a memory budget
// (150 MB RSS idle); a 2 MB young generation instead of V8's 16 MB semi-spaces trades a
// few more (cheap) scavenges for about 25 MB less resident memory under load. The local
// world passes the same flag when it starts nodes; `node bin/meridian.js` without it
// works too, just with V8's default.
// The `meridian` command. The TypeScript sources are compiled to dist/ by `npm run build`,
// which `npm ci` runs through the `prepare` script.
import { existsSync } from 'node:fs';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  console.error('meridian: dist/ is missing; run `npm ci` (or `npm run build`) in the package first');
  process.exit(1);
}
await import(main.href);
