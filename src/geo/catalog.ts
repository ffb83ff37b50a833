// Loads the measured region catalog shipped in data/cloud-regions.json (its source line
// says where the numbers come from). This is the shell around the pure LatencyModel.

import { readFileSync } from 'node:fs';
import { regionId } from '../lib/index.js';
import type { RegionCatalog } from './latency.js';

export const catalogPath = new URL('../../data/cloud-regions.json', import.meta.url);

interface CatalogFile {
  source: string;
  unit: string;
  regions: { id: string; city: string; country: string; lat: number; lon: number }[];
  rtt_p50_ms: Record<string, Record<string, number>>;
}

let cached: RegionCatalog | undefined;

export function loadRegionCatalog(): RegionCatalog {
  if (cached !== undefined) return cached;
  const raw = JSON.parse(readFileSync(catalogPath, 'utf8')) as CatalogFile;
  if (raw.unit !== 'milliseconds') throw new Error(`cloud-regions.json: unexpected unit ${raw.unit}`);
  cached = {
    source: raw.source,
    regions: raw.regions.map((r) => ({ ...r, id: regionId(r.id) })),
    rttMs: raw.rtt_p50_ms,
  };
  return cached;
}
