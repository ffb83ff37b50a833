import type { RegionId } from '../lib/index.js';

export interface GeoPoint {
  readonly lat: number;
  readonly lon: number;
}

/** Continent codes as MaxMind and Route 53 use them. */
export type Continent = 'AF' | 'AN' | 'AS' | 'EU' | 'NA' | 'OC' | 'SA';
export const continents: readonly Continent[] = ['AF', 'AN', 'AS', 'EU', 'NA', 'OC', 'SA'];

/** Where an IP address is, when the database knows; unknown is an answer, not an error. */
export type IpLocation =
  | {
      readonly known: true;
      readonly ip: string;
      readonly country: string; // ISO 3166-1 alpha-2, upper case
      readonly continent: Continent;
      readonly lat: number;
      readonly lon: number;
      readonly city: string | null;
    }
  | {
      readonly known: false;
      readonly ip: string;
      readonly reason: 'invalid' | 'private' | 'loopback' | 'reserved' | 'not-found';
    };

/** A round-trip time estimate and where it came from, so a reason can say so. */
export interface RttEstimate {
  readonly ms: number;
  /** measured: the inter-region matrix; fibre: distance / (200 km/ms) with stretch and overhead;
   *  anchored: fibre to the nearest catalog region, then that region's measured RTT. */
  readonly source: 'measured' | 'fibre' | 'anchored';
  /** For `anchored`: the catalog region the client was attached to. */
  readonly via?: RegionId;
}

/** A region as the latency model knows it: an id and where it is. */
export interface RegionPoint extends GeoPoint {
  readonly id: RegionId;
}
