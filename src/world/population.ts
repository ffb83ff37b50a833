// The simulated users of the local world (DESIGN.md §6): drawn from world cities with
// probability proportional to population, each given a real public IPv4 address that
// DB-IP locates in the user's country near the user's city, so the GeoDNS, seeing it
// through EDNS Client Subnet, answers as it would for a real user there.
//
// loadWorldCities and loadCityIps read the shipped data files; drawPopulation is pure:
// the same seed and inputs give the same users.

import { readFileSync } from 'node:fs';
import { continentOf, type Continent } from '../geo/index.js';
import { assert, MeridianError, mulberry32 } from '../lib/index.js';

/** A city of data/world-cities.json. */
export interface WorldCity {
  readonly city: string;
  readonly country: string; // ISO 3166-1 alpha-2, upper case
  readonly lat: number;
  readonly lon: number;
  readonly population: number;
}

export interface SimUser {
  id: number;
  city: string;
  country: string;
  continent: Continent;
  lat: number;
  lon: number;
  ip: string;
}

/** data/city-ips.json: per city, addresses DB-IP locates in its country, nearest first,
 *  with the distance in km from the city to where DB-IP puts the address. */
export interface CityIpTable {
  source: string;
  cities: Record<string, { ip: string; km: number }[]>;
}

export const worldCitiesPath = new URL('../../data/world-cities.json', import.meta.url);
export const cityIpsPath = new URL('../../data/city-ips.json', import.meta.url);

/**
 * The key of a city in CityIpTable: `City|CC`. A few names occur twice in one country
 * (two Suzhous, two Yichuns in China; two Kansas Cities in the US); those are keyed
 * `City|CC|lat,lon` instead, so each gets addresses near itself.
 */
export function cityIpKey(c: WorldCity, qualified: boolean): string {
  return qualified ? `${c.city}|${c.country}|${c.lat},${c.lon}` : `${c.city}|${c.country}`;
}

/** The addresses of a city in the table, nearest first; empty if it has none. */
export function ipsForCity(table: CityIpTable, c: WorldCity): readonly { ip: string; km: number }[] {
  return table.cities[cityIpKey(c, true)] ?? table.cities[cityIpKey(c, false)] ?? [];
}

let citiesCache: readonly WorldCity[] | undefined;
let ipsCache: CityIpTable | undefined;

/**
 * The cities of data/world-cities.json, largest first as the file lists them. Entries
 * without an ISO 3166-1 country code are left out: the source marks disputed places so
 * (Hargeysa and Pristina carry -99), and no address can be matched to their country.
 */
export function loadWorldCities(): WorldCity[] {
  if (citiesCache === undefined) {
    const raw = JSON.parse(readFileSync(worldCitiesPath, 'utf8')) as { source: string; cities: unknown[] };
    assert(Array.isArray(raw.cities) && raw.cities.length > 0, 'world-cities.json has cities');
    const out: WorldCity[] = [];
    for (const entry of raw.cities) {
      const c = entry as Partial<Record<keyof WorldCity, unknown>>;
      assert(typeof c.city === 'string' && typeof c.lat === 'number' && typeof c.lon === 'number' &&
        typeof c.population === 'number' && Number.isFinite(c.lat) && Number.isFinite(c.lon) && c.population > 0,
      `world-cities.json: malformed city ${JSON.stringify(entry)}`);
      if (typeof c.country !== 'string' || continentOf(c.country) === undefined) continue;
      out.push({ city: c.city, country: c.country, lat: c.lat, lon: c.lon, population: c.population });
    }
    citiesCache = out;
  }
  return [...citiesCache];
}

export function loadCityIps(): CityIpTable {
  if (ipsCache === undefined) {
    const raw = JSON.parse(readFileSync(cityIpsPath, 'utf8')) as CityIpTable;
    assert(typeof raw.source === 'string' && typeof raw.cities === 'object', 'city-ips.json has source and cities');
    ipsCache = { source: raw.source, cities: raw.cities };
  }
  return ipsCache;
}

/**
 * n users, ids 0..n-1, each from a city drawn with probability proportional to its
 * population among the cities that pass `filter` and have addresses in `ips`, with one of
 * that city's addresses drawn uniformly. Pure and deterministic for a seed.
 * Throws MeridianError E_POPULATION_EMPTY if n > 0 and no city qualifies.
 */
export function drawPopulation(
  n: number,
  seed: number,
  cities: readonly WorldCity[],
  ips: CityIpTable,
  filter?: (c: WorldCity) => boolean,
): SimUser[] {
  assert(Number.isInteger(n) && n >= 0, `population size is a non-negative integer, got ${n}`);
  if (n === 0) return [];

  const eligible: { city: WorldCity; continent: Continent; ips: readonly { ip: string }[] }[] = [];
  const cumulative: number[] = [];
  let total = 0;
  for (const city of cities) {
    if (filter !== undefined && !filter(city)) continue;
    const cityIps = ipsForCity(ips, city);
    if (cityIps.length === 0) continue;
    const continent = continentOf(city.country);
    assert(continent !== undefined, `country ${city.country} of ${city.city} has a continent`);
    assert(city.population > 0, `population of ${city.city} is positive`);
    eligible.push({ city, continent, ips: cityIps });
    total += city.population;
    cumulative.push(total);
  }
  if (eligible.length === 0) {
    throw new MeridianError('E_POPULATION_EMPTY', 'no city with addresses passes the population filter',
      'widen the filter (e.g. include more continents)');
  }

  const random = mulberry32(seed);
  const users: SimUser[] = [];
  for (let id = 0; id < n; id++) {
    const target = random() * total;
    // The first city whose cumulative population exceeds target.
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((cumulative[mid] as number) > target) hi = mid;
      else lo = mid + 1;
    }
    const pick = eligible[lo];
    assert(pick !== undefined, 'binary search lands on a city');
    const address = pick.ips[Math.floor(random() * pick.ips.length)];
    assert(address !== undefined, 'a city with addresses yields one');
    const { city } = pick;
    users.push({ id, city: city.city, country: city.country, continent: pick.continent, lat: city.lat, lon: city.lon, ip: address.ip });
  }
  return users;
}
