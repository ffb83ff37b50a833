// Country -> continent and country names, from the countries-list package (MIT,
// ISO 3166-1 alpha-2 codes): the DB-IP database carries only the country code.

import { continents as continentNames, countries } from 'countries-list';
import type { Continent } from './types.js';

export function continentOf(country: string): Continent | undefined {
  const c = (countries as Record<string, { continent: string } | undefined>)[country.toUpperCase()];
  return c?.continent as Continent | undefined;
}

export function isCountryCode(code: string): boolean {
  return Object.hasOwn(countries, code);
}

export function countryName(code: string): string | undefined {
  return (countries as Record<string, { name: string } | undefined>)[code]?.name;
}

export function continentName(code: Continent): string {
  return continentNames[code];
}
