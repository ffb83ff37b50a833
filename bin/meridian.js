#!/usr/bin/env node
// The `meridian` command. The TypeScript sources are compiled to dist/ by `npm run build`,
// which `npm ci` runs through the `prepare` script.
import { existsSync } from 'node:fs';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  console.error('meridian: dist/ is missing; run `npm ci` (or `npm run build`) in the package first');
  process.exit(1);
}
await import(main.href);
