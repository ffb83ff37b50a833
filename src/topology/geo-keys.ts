// Keys of routing.geolocation. Route 53 tells countries from continents by field; one map
// needs a spelling: `country:XX`, `continent:XX`, or a bare code. Bare codes are read as
// countries, except EU, OC and AN, which are continents only. AF, AS, NA and SA are both
// (Afghanistan / Africa, American Samoa / Asia, Namibia / North America, Saudi Arabia /
// South America), so a bare one is refused rather than guessed.

import { continents, isCountryCode, type Continent } from '../geo/index.js';

export type GeoKey = `country:${string}` | `continent:${Continent}` | 'default';

const continentOnly = new Set(['EU', 'OC', 'AN']);
const ambiguous = new Set(['AF', 'AS', 'NA', 'SA']);

export type GeoKeyResult = { ok: true; key: GeoKey } | { ok: false; message: string; expected: string };

export function normaliseGeoKey(raw: string): GeoKeyResult {
  if (raw === 'default') return { ok: true, key: 'default' };
  const m = /^(?:(country|continent):)?([A-Za-z]{2})$/.exec(raw);
  if (m === null) {
    return { ok: false, message: `${JSON.stringify(raw)} is not a location`, expected: 'a country code (GB), continent:XX (continent:EU) or default' };
  }
  const kind = m[1];
  const code = (m[2] as string).toUpperCase();
  if (kind === 'continent' || (kind === undefined && continentOnly.has(code))) {
    if (!(continents as readonly string[]).includes(code)) {
      return { ok: false, message: `${code} is not a continent code`, expected: `one of ${continents.join(', ')}` };
    }
    return { ok: true, key: `continent:${code as Continent}` };
  }
  if (kind === undefined && ambiguous.has(code)) {
    return { ok: false, message: `${code} is both a country and a continent code`, expected: `country:${code} or continent:${code}` };
  }
  if (!isCountryCode(code)) {
    return { ok: false, message: `${code} is not an ISO 3166-1 country code`, expected: 'a two-letter country code like GB, DE, US' };
  }
  return { ok: true, key: `country:${code}` };
}
