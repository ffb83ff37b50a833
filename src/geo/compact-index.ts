// A compact IPv4 -> (country, lat, lon) index derived from DB-IP's city mmdb, so a region
// node keeps ~31 MB in memory for IPv4 instead of the 63 MB mmdb. The mmdb stays the
// source of truth: this index is rebuilt from it (scripts/build-geo-index.mjs, run by
// `npm run build`) and tested against it.
//
// What is kept: the country code and the coordinates rounded to the nearest 0.01°
// (|error| <= 0.005°, about 0.56 km: nothing for routing). The city name is dropped.
// Adjacent address ranges whose (country, rounded lat, rounded lon) are equal are merged.
//
// File format, little-endian throughout (all offsets in bytes):
//    0  magic "MRDNGEO1"
//    8  u32 format version (1)
//   12  u32 header length (48)
//   16  u32 CRC-32 of every byte of the file except these four
//   20  u32 range count R (>= 1)
//   24  u32 location count L
//   28  u32 reserved, 0
//   32  u64 source mmdb build epoch, seconds
//   40  u64 source mmdb length, bytes (how a reader notices an index older than its mmdb)
//   48  starts   u32 x R   first address of each range, starts[0] = 0, strictly increasing;
//                          range i ends at starts[i + 1] - 1, the last at 255.255.255.255
//       locIds   u32 x R   location of each range, or 0xFFFFFFFF: the mmdb has no record
//       lat      i32 x L   degrees x 1e5
//       lon      i32 x L   degrees x 1e5
//       country  2 x L     ISO 3166-1 alpha-2 as in the mmdb, ASCII letters
// The u32 arrays sit at 4-byte-aligned offsets, so a loaded file is used in place through
// typed-array views: no copy, and a lookup is a binary search over `starts`.
//
// This file is pure but for readCompactIpv4Index and writeCompactIpv4Index.

import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { Reader, type Response } from 'maxmind';
import { MeridianError } from '../lib/index.js';

export interface CompactIpv4Location {
  /** ISO 3166-1 alpha-2 exactly as the mmdb has it. */
  readonly country: string;
  /** Degrees, rounded to 0.01°. */
  readonly lat: number;
  readonly lon: number;
}

export interface CompactIpv4Range {
  readonly start: number;
  readonly end: number;
  readonly location: CompactIpv4Location | null;
}

const magic = 'MRDNGEO1';
const formatVersion = 1;
const headerByteLength = 48;
const crcOffset = 16;
/** locIds value of a range the mmdb has no (usable) record for. */
const noLocation = 0xffffffff;
const coordScale = 1e5;
/** Coordinates are rounded to 1 / coordRoundingPerDegree degrees (0.01°) before merging. */
const coordRoundingPerDegree = 100;
const maxIpv4 = 0xffffffff;
const rebuildHint = 'rebuild it with `npm run build` (scripts/build-geo-index.mjs)';

function invalid(message: string): MeridianError {
  return new MeridianError('GEO_INDEX_INVALID', `geo index: ${message}`, rebuildHint);
}

const hostIsLittleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** A Uint32Array over `count` little-endian u32s at `offset`: a view when the host allows, else a copy. */
function u32Array(buf: Buffer, offset: number, count: number): Uint32Array {
  if (hostIsLittleEndian && (buf.byteOffset + offset) % 4 === 0) {
    return new Uint32Array(buf.buffer, buf.byteOffset + offset, count);
  }
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) out[i] = buf.readUInt32LE(offset + 4 * i);
  return out;
}

function i32Array(buf: Buffer, offset: number, count: number): Int32Array {
  const u = u32Array(buf, offset, count);
  return new Int32Array(u.buffer, u.byteOffset, count);
}

function fileCrc(buf: Buffer): number {
  return crc32(buf.subarray(crcOffset + 4), crc32(buf.subarray(0, crcOffset)));
}

function isCountryCode(c0: number, c1: number): boolean {
  const letter = (c: number): boolean => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
  return letter(c0) && letter(c1);
}

export class CompactIpv4Index {
  readonly rangeCount: number;
  readonly locationCount: number;
  readonly byteLength: number;
  /** The mmdb's build_epoch, seconds since 1970. */
  readonly sourceBuildEpoch: number;
  /** The mmdb's length in bytes: a cheap check that an index was built from a given file. */
  readonly sourceByteLength: number;

  private constructor(
    private readonly starts: Uint32Array,
    private readonly locIds: Uint32Array,
    private readonly latE5: Int32Array,
    private readonly lonE5: Int32Array,
    /** Per location, an index into `countries`: one string per country, not per lookup. */
    private readonly countryOf: Uint16Array,
    private readonly countries: readonly string[],
    header: { byteLength: number; sourceBuildEpoch: number; sourceByteLength: number },
  ) {
    this.rangeCount = starts.length;
    this.locationCount = latE5.length;
    this.byteLength = header.byteLength;
    this.sourceBuildEpoch = header.sourceBuildEpoch;
    this.sourceByteLength = header.sourceByteLength;
  }

  /**
   * Checks the whole buffer (length, checksum, and every invariant a lookup relies on)
   * and uses it in place. Throws a MeridianError 'GEO_INDEX_INVALID' ("geo index: ...")
   * for anything else: a damaged index must fail to load, never answer wrongly.
   */
  static fromBuffer(buf: Buffer): CompactIpv4Index {
    if (buf.length < headerByteLength) {
      throw invalid(`truncated: ${buf.length} bytes, the header alone is ${headerByteLength}`);
    }
    if (buf.toString('latin1', 0, 8) !== magic) throw invalid(`not a Meridian geo index (no "${magic}" magic)`);
    const version = buf.readUInt32LE(8);
    if (version !== formatVersion) throw invalid(`format version ${version}, this build reads ${formatVersion}`);
    if (buf.readUInt32LE(12) !== headerByteLength) throw invalid(`header length ${buf.readUInt32LE(12)}, expected ${headerByteLength}`);
    const rangeCount = buf.readUInt32LE(20);
    const locationCount = buf.readUInt32LE(24);
    const expectedBytes = headerByteLength + 8 * rangeCount + 10 * locationCount;
    if (buf.length < expectedBytes) throw invalid(`truncated: ${buf.length} bytes, the header promises ${expectedBytes}`);
    if (buf.length > expectedBytes) throw invalid(`${buf.length - expectedBytes} bytes after the end the header gives`);
    const storedCrc = buf.readUInt32LE(crcOffset);
    const actualCrc = fileCrc(buf);
    if (storedCrc !== actualCrc) {
      throw invalid(`checksum mismatch (stored ${storedCrc.toString(16)}, computed ${actualCrc.toString(16)}): the file is damaged`);
    }
    // The checksum matched, so what follows would only fail for a file written by a
    // broken builder; still checked, since a lookup's correctness rests on it.
    if (buf.readUInt32LE(28) !== 0) throw invalid('reserved header field is not 0');
    if (rangeCount < 1) throw invalid('no ranges');
    if (locationCount >= noLocation) throw invalid(`location count ${locationCount} collides with the no-location marker`);
    const sourceBuildEpoch = Number(buf.readBigUInt64LE(32));
    const sourceByteLength = Number(buf.readBigUInt64LE(40));

    let at = headerByteLength;
    const starts = u32Array(buf, at, rangeCount);
    at += 4 * rangeCount;
    const locIds = u32Array(buf, at, rangeCount);
    at += 4 * rangeCount;
    const latE5 = i32Array(buf, at, locationCount);
    at += 4 * locationCount;
    const lonE5 = i32Array(buf, at, locationCount);
    at += 4 * locationCount;
    const countryAt = at;

    if (starts[0] !== 0) throw invalid(`the first range starts at ${starts[0]}, not 0.0.0.0`);
    for (let i = 0; i < rangeCount; i++) {
      const loc = locIds[i]!;
      if (loc !== noLocation && loc >= locationCount) throw invalid(`range ${i} names location ${loc} of ${locationCount}`);
      if (i > 0) {
        if (starts[i]! <= starts[i - 1]!) throw invalid(`range starts not strictly increasing at range ${i}`);
        if (loc === locIds[i - 1]) throw invalid(`ranges ${i - 1} and ${i} have the same location (the builder merges them)`);
      }
    }
    const countryIndex = new Map<string, number>();
    const countries: string[] = [];
    const countryOf = new Uint16Array(locationCount);
    for (let l = 0; l < locationCount; l++) {
      const lat = latE5[l]!;
      const lon = lonE5[l]!;
      if (lat < -90 * coordScale || lat > 90 * coordScale || lon < -180 * coordScale || lon > 180 * coordScale) {
        throw invalid(`location ${l} has coordinates out of range (${lat / coordScale}, ${lon / coordScale})`);
      }
      const c0 = buf[countryAt + 2 * l]!;
      const c1 = buf[countryAt + 2 * l + 1]!;
      if (!isCountryCode(c0, c1)) throw invalid(`location ${l} has a country code that is not two ASCII letters`);
      const code = String.fromCharCode(c0, c1);
      let ci = countryIndex.get(code);
      if (ci === undefined) {
        ci = countries.length;
        countries.push(code);
        countryIndex.set(code, ci);
      }
      countryOf[l] = ci;
    }
    return new CompactIpv4Index(starts, locIds, latE5, lonE5, countryOf, countries, {
      byteLength: buf.length,
      sourceBuildEpoch,
      sourceByteLength,
    });
  }

  /** The index of the range holding `ip`: a binary search over the range starts, no allocation. */
  rangeIndexOf(ipv4AsUint32: number): number {
    if (!Number.isInteger(ipv4AsUint32) || ipv4AsUint32 < 0 || ipv4AsUint32 > maxIpv4) {
      throw new RangeError(`geo index: ${ipv4AsUint32} is not an IPv4 address as an unsigned 32-bit integer`);
    }
    const starts = this.starts;
    // Invariant: starts[lo] <= ip, and the answer is in [lo, hi]. starts[0] = 0 holds it at the start.
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (starts[mid]! <= ipv4AsUint32) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Where the address is, or null where the mmdb has no record for it. */
  lookup(ipv4AsUint32: number): CompactIpv4Location | null {
    return this.locationAt(this.locIds[this.rangeIndexOf(ipv4AsUint32)]!);
  }

  /** Range `i` of `rangeCount`, for tests and inspection. */
  rangeAt(i: number): CompactIpv4Range {
    if (!Number.isInteger(i) || i < 0 || i >= this.rangeCount) throw new RangeError(`geo index: no range ${i} of ${this.rangeCount}`);
    const end = i + 1 < this.rangeCount ? this.starts[i + 1]! - 1 : maxIpv4;
    return { start: this.starts[i]!, end, location: this.locationAt(this.locIds[i]!) };
  }

  private locationAt(loc: number): CompactIpv4Location | null {
    if (loc === noLocation) return null;
    return {
      country: this.countries[this.countryOf[loc]!]!,
      lat: this.latE5[loc]! / coordScale,
      lon: this.lonE5[loc]! / coordScale,
    };
  }
}

/** "a.b.c.d" (decimal, no leading zeros, nothing around it) as an unsigned 32-bit integer; else null. */
export function ipv4ToUint32(ip: string): number | null {
  const parts = ip.split('.');
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return null;
    const octet = Number(part);
    if (octet > 255) return null;
    value = value * 256 + octet;
  }
  return value;
}

function uint32ToIpv4(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 0xff}.${(value >>> 8) & 0xff}.${value & 0xff}`;
}

/** The fields of ip-location-db's city records that the index keeps. */
interface DbipCityRecord {
  country_code?: unknown;
  latitude?: unknown;
  longitude?: unknown;
}

/** Reads a search-tree record: `bit` 0 is the left (address bit 0) record of `node`. */
function recordReader(mmdb: Buffer, recordSize: number): (node: number, bit: 0 | 1) => number {
  switch (recordSize) {
    case 24:
      return (node, bit) => mmdb.readUIntBE(node * 6 + bit * 3, 3);
    case 28:
      return (node, bit) => {
        const o = node * 7;
        return bit === 0
          ? ((mmdb[o + 3]! & 0xf0) << 20) | mmdb.readUIntBE(o, 3)
          : ((mmdb[o + 3]! & 0x0f) << 24) | mmdb.readUIntBE(o + 4, 3);
      };
    case 32:
      return (node, bit) => mmdb.readUInt32BE(node * 8 + bit * 4);
    default:
      throw new MeridianError('GEO_INDEX_BUILD', `geo index: unsupported mmdb record size ${recordSize}`);
  }
}

/** A Uint32Array that grows by doubling; `build` hands out the filled part. */
class U32Builder {
  private data: Uint32Array;
  length = 0;
  constructor(capacity: number) {
    this.data = new Uint32Array(capacity);
  }
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Uint32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  get last(): number {
    return this.data[this.length - 1]!;
  }
  get filled(): Uint32Array {
    return this.data.subarray(0, this.length);
  }
}

/**
 * Derives the compact index from an IPv4 (or the IPv4 part of an IPv6) city mmdb.
 *
 * Walks the mmdb's search tree in address order (MaxMind DB spec: a record below
 * nodeCount is a node, equal to it is "no data", above it points into the data section),
 * emitting one range per leaf. Each distinct data record is decoded once, by asking
 * maxmind's Reader for the first address of a range pointing at it, so maxmind stays the
 * decoder. Deterministic: the same mmdb gives the same bytes.
 */
export function buildCompactIpv4Index(mmdb: Buffer): Buffer {
  const reader = new Reader<Response>(mmdb);
  const { nodeCount, recordSize, searchTreeSize, ipVersion, buildEpoch } = reader.metadata;
  const buildError = (message: string): MeridianError => new MeridianError('GEO_INDEX_BUILD', `geo index: ${message}`);
  if (searchTreeSize !== (nodeCount * recordSize) / 4 || searchTreeSize + 16 > mmdb.length) {
    throw buildError(`inconsistent mmdb metadata (nodeCount ${nodeCount}, recordSize ${recordSize}, searchTreeSize ${searchTreeSize})`);
  }
  const record = recordReader(mmdb, recordSize);
  const dataSectionBytes = mmdb.length - searchTreeSize - 16;

  // IPv4 addresses in an IPv6 tree are ::a.b.c.d: the IPv4 root is 96 left turns down.
  let root = 0;
  if (ipVersion === 6) {
    for (let i = 0; i < 96 && root < nodeCount; i++) root = record(root, 0);
  } else if (ipVersion !== 4) {
    throw buildError(`mmdb ip_version ${ipVersion} is neither 4 nor 6`);
  }

  const locIdByRecord = new Map<number, number>();
  const locIdByKey = new Map<string, number>();
  const latE5: number[] = [];
  const lonE5: number[] = [];
  const countries: string[] = [];
  const locationFor = (value: number, start: number): number => {
    // A node at depth 32 has nothing under it: maxmind answers null there, and so do we.
    if (value <= nodeCount) return noLocation;
    const cached = locIdByRecord.get(value);
    if (cached !== undefined) return cached;
    if (value - nodeCount - 16 >= dataSectionBytes) throw buildError(`record ${value} points past the data section`);
    const rec = reader.get(uint32ToIpv4(start)) as DbipCityRecord | null;
    if (rec === null) throw buildError(`maxmind finds no record at ${uint32ToIpv4(start)}, where the search tree has one`);
    let loc = noLocation;
    const { country_code: cc, latitude: lat, longitude: lon } = rec;
    // A record without a usable country or coordinates is "not found" to GeoLocator
    // either way; the index stores it as no location.
    if (typeof cc === 'string' && cc.length === 2 && isCountryCode(cc.charCodeAt(0), cc.charCodeAt(1)) &&
        typeof lat === 'number' && typeof lon === 'number' && Math.abs(lat) <= 90 && Math.abs(lon) <= 180) {
      const latR = Math.round(lat * coordRoundingPerDegree) * (coordScale / coordRoundingPerDegree);
      const lonR = Math.round(lon * coordRoundingPerDegree) * (coordScale / coordRoundingPerDegree);
      const key = `${cc}|${latR}|${lonR}`;
      const known = locIdByKey.get(key);
      if (known !== undefined) loc = known;
      else {
        loc = latE5.length;
        latE5.push(latR);
        lonE5.push(lonR);
        countries.push(cc);
        locIdByKey.set(key, loc);
      }
    }
    locIdByRecord.set(value, loc);
    return loc;
  };

  const starts = new U32Builder(1 << 20);
  const locIds = new U32Builder(1 << 20);
  let nextStart = 0; // the address the next leaf must start at: leaves tile the space
  const emit = (start: number, prefixLength: number, value: number): void => {
    if (start !== nextStart) throw buildError(`search tree leaves are not contiguous at ${uint32ToIpv4(start)}`);
    nextStart = start + 2 ** (32 - prefixLength);
    const loc = locationFor(value, start);
    if (locIds.length > 0 && locIds.last === loc) return; // same location as the range before: merge
    starts.push(start);
    locIds.push(loc);
  };

  // Depth-first, left before right, with an explicit stack of (record value, prefix
  // length, first address). Depth is at most 32, so the stack holds at most 33 entries.
  const stackValue = new Uint32Array(40);
  const stackPrefix = new Uint8Array(40);
  const stackStart = new Float64Array(40);
  stackValue[0] = root;
  stackPrefix[0] = 0;
  stackStart[0] = 0;
  let sp = 1;
  while (sp > 0) {
    sp--;
    const value = stackValue[sp]!;
    const prefix = stackPrefix[sp]!;
    const start = stackStart[sp]!;
    if (value >= nodeCount || prefix === 32) {
      emit(start, prefix, value);
      continue;
    }
    // Right first, so the left subtree (lower addresses) is popped first.
    stackValue[sp] = record(value, 1);
    stackPrefix[sp] = prefix + 1;
    stackStart[sp] = start + 2 ** (31 - prefix);
    sp++;
    stackValue[sp] = record(value, 0);
    stackPrefix[sp] = prefix + 1;
    stackStart[sp] = start;
    sp++;
  }
  if (nextStart !== 2 ** 32) throw buildError(`search tree leaves end at ${nextStart}, not after 255.255.255.255`);

  const rangeCount = starts.length;
  const locationCount = latE5.length;
  const out = Buffer.alloc(headerByteLength + 8 * rangeCount + 10 * locationCount);
  out.write(magic, 0, 'latin1');
  out.writeUInt32LE(formatVersion, 8);
  out.writeUInt32LE(headerByteLength, 12);
  out.writeUInt32LE(rangeCount, 20);
  out.writeUInt32LE(locationCount, 24);
  out.writeBigUInt64LE(BigInt(Math.floor(buildEpoch.getTime() / 1000)), 32);
  out.writeBigUInt64LE(BigInt(mmdb.length), 40);
  let at = headerByteLength;
  for (const v of starts.filled) {
    out.writeUInt32LE(v, at);
    at += 4;
  }
  for (const v of locIds.filled) {
    out.writeUInt32LE(v, at);
    at += 4;
  }
  for (const v of latE5) {
    out.writeInt32LE(v, at);
    at += 4;
  }
  for (const v of lonE5) {
    out.writeInt32LE(v, at);
    at += 4;
  }
  for (const c of countries) {
    out.write(c, at, 'latin1');
    at += 2;
  }
  out.writeUInt32LE(fileCrc(out), crcOffset);
  return out;
}

/** Reads and checks an index file (see CompactIpv4Index.fromBuffer for what is checked). */
export function readCompactIpv4Index(path: string): CompactIpv4Index {
  return CompactIpv4Index.fromBuffer(readFileSync(path));
}

/** Writes an index file atomically: a reader sees the old file or the new one, never half. */
export function writeCompactIpv4Index(path: string, index: Buffer): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, index);
    renameSync(tmp, path);
  } finally {
    rmSync(tmp, { force: true });
  }
}
