#!/usr/bin/env node
// Writes dist/geo/dbip-city-ipv4.idx, the compact IPv4 geolocation index that GeoLocator
// uses instead of the 63 MB mmdb (see src/geo/compact-index.ts). Runs in `npm run build`
// after tsc, from the compiled dist/, so it needs nothing beyond the runtime dependencies.
//
// Skips the work when the index is newer than the mmdb and was built from a file of the
// mmdb's length (npm can install files with old mtimes, so the time alone is not enough).
// Usage: node scripts/build-geo-index.mjs [--force]     (prints one line)

import { existsSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  buildCompactIpv4Index,
  CompactIpv4Index,
  compactIpv4IndexFileName,
  defaultGeoDatabaseFiles,
  readCompactIpv4Index,
  writeCompactIpv4Index,
} from '../dist/geo/index.js';

const outPath = fileURLToPath(new URL(`../dist/geo/${compactIpv4IndexFileName}`, import.meta.url));
const mmdbPath = defaultGeoDatabaseFiles().ipv4;
const force = process.argv.includes('--force');
const mb = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;
const describe = (index) =>
  `${index.rangeCount.toLocaleString('en')} ranges, ${index.locationCount.toLocaleString('en')} locations, ${mb(index.byteLength)}`;

function upToDate() {
  if (force || !existsSync(outPath)) return undefined;
  const mmdb = statSync(mmdbPath);
  if (statSync(outPath).mtimeMs <= mmdb.mtimeMs) return undefined;
  try {
    const index = readCompactIpv4Index(outPath);
    return index.sourceByteLength === mmdb.size ? index : undefined;
  } catch {
    return undefined; // damaged or an older format: rebuild
  }
}

const started = performance.now();
const current = upToDate();
if (current !== undefined) {
  console.log(`geo index: ${outPath} is up to date (${describe(current)})`);
} else {
  const mmdb = readFileSync(mmdbPath);
  const built = buildCompactIpv4Index(mmdb);
  const index = CompactIpv4Index.fromBuffer(built); // the file must load before it is written
  writeCompactIpv4Index(outPath, built);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`geo index: wrote ${outPath}: ${describe(index)} from a ${mb(mmdb.length)} mmdb in ${seconds} s`);
}
