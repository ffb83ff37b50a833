import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { after, describe, it } from 'node:test';
import ipaddr from 'ipaddr.js';
import { Reader, type Response } from 'maxmind';
import {
  buildCompactIpv4Index,
  CompactIpv4Index,
  ipv4ToUint32,
  readCompactIpv4Index,
  writeCompactIpv4Index,
  type CompactIpv4Location,
} from '../../src/geo/compact-index.js';
import { defaultGeoDatabaseFiles, GeoLocator, type GeoDatabaseFiles } from '../../src/geo/ip-locate.js';
import { MeridianError, mulberry32 } from '../../src/lib/index.js';

// The index is built here from the real mmdb (about 5 s) rather than taken from dist/, so
// the test checks this source, and the mmdb read through maxmind is the oracle.
const files = defaultGeoDatabaseFiles();
const mmdb = readFileSync(files.ipv4);
const reader = new Reader<Response>(mmdb);
const buildStartedMs = performance.now();
const built = buildCompactIpv4Index(mmdb);
const buildMs = performance.now() - buildStartedMs;
const index = CompactIpv4Index.fromBuffer(built);

const tmp = mkdtempSync(join(tmpdir(), 'meridian-geo-index-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** The index rounds coordinates to the nearest 0.01°. */
const roundingDeg = 0.005 + 1e-9;
const maxIpv4 = 0xffffffff;

function ipString(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 0xff}.${(value >>> 8) & 0xff}.${value & 0xff}`;
}

/** What the index should say for an address: the mmdb's record, if it has a usable one. */
function oracle(value: number): CompactIpv4Location | null {
  const rec = reader.get(ipString(value)) as { country_code?: unknown; latitude?: unknown; longitude?: unknown } | null;
  if (rec === null) return null;
  const { country_code: country, latitude: lat, longitude: lon } = rec;
  // Every record of this database has all three; a record without them would be "not found".
  assert.ok(typeof country === 'string' && typeof lat === 'number' && typeof lon === 'number', `record at ${ipString(value)}`);
  return { country, lat, lon };
}

/** Compares index and mmdb at each address; returns the first few disagreements. */
function disagreements(addresses: Iterable<number>): { checked: number; located: number; bad: string[] } {
  const bad: string[] = [];
  let checked = 0;
  let located = 0;
  for (const value of addresses) {
    checked++;
    const want = oracle(value);
    const got = index.lookup(value);
    if (want !== null) located++;
    const same = want === null || got === null
      ? want === got
      : got.country === want.country && Math.abs(got.lat - want.lat) <= roundingDeg && Math.abs(got.lon - want.lon) <= roundingDeg;
    if (!same && bad.length < 10) bad.push(`${ipString(value)}: mmdb ${JSON.stringify(want)}, index ${JSON.stringify(got)}`);
  }
  return { checked, located, bad };
}

function randomUint32(rng: () => number): number {
  return Math.floor(rng() * 2 ** 32);
}

function isPublic(value: number): boolean {
  return ipaddr.parse(ipString(value)).range() === 'unicast';
}

/** The checksum the format stores at offset 16: CRC-32 of every other byte. */
function fixCrc(buf: Buffer): void {
  buf.writeUInt32LE(crc32(buf.subarray(20), crc32(buf.subarray(0, 16))), 16);
}

function assertRejected(buf: Buffer, pattern: RegExp, what: string): void {
  assert.throws(
    () => CompactIpv4Index.fromBuffer(buf),
    (e: unknown) => e instanceof MeridianError && e.code === 'GEO_INDEX_INVALID' && /^geo index: /.test(e.message) && pattern.test(e.message),
    what,
  );
}

describe('compact IPv4 geo index', () => {
  it('is built from the mmdb within the time budget', (t) => {
    t.diagnostic(`built in ${(buildMs / 1000).toFixed(1)} s: ${index.rangeCount} ranges, ${index.locationCount} locations, ` +
      `${(index.byteLength / 1e6).toFixed(1)} MB from a ${(mmdb.length / 1e6).toFixed(1)} MB mmdb`);
    assert.ok(buildMs < 20_000, `build took ${buildMs} ms`);
    assert.ok(index.byteLength < mmdb.length * 0.6, `${index.byteLength} bytes is not much smaller than the mmdb`);
    assert.equal(index.sourceBuildEpoch, Math.floor(reader.metadata.buildEpoch.getTime() / 1000));
    assert.equal(index.sourceByteLength, mmdb.length);
  });

  it('agrees with the mmdb on 200,000 seeded random public addresses', () => {
    const rng = mulberry32(20240611);
    const addresses: number[] = [];
    while (addresses.length < 200_000) {
      const value = randomUint32(rng);
      if (isPublic(value)) addresses.push(value);
    }
    const r = disagreements(addresses);
    assert.deepEqual(r.bad, []);
    assert.equal(r.checked, 200_000);
    // Not vacuous: nearly all public space is in the database.
    assert.ok(r.located > 0.95 * r.checked, `only ${r.located} of ${r.checked} located`);
  });

  it('agrees with the mmdb at both edges of index ranges and mmdb networks, and one address beyond', () => {
    const rng = mulberry32(7);
    const edges = new Set<number>();
    const addEdges = (start: number, end: number): void => {
      for (const v of [start - 1, start, end, end + 1]) if (v >= 0 && v <= maxIpv4) edges.add(v);
    };
    for (let n = 0; n < 2_000; n++) {
      const range = index.rangeAt(Math.floor(rng() * index.rangeCount));
      addEdges(range.start, range.end);
    }
    for (let n = 0; n < 2_000; n++) {
      // The mmdb's own network around a random address: where its records change.
      const value = randomUint32(rng);
      const [, prefixLength] = reader.getWithPrefixLength(ipString(value));
      const size = 2 ** (32 - prefixLength);
      const start = Math.floor(value / size) * size;
      addEdges(start, start + size - 1);
    }
    addEdges(0, maxIpv4);
    const r = disagreements(edges);
    assert.deepEqual(r.bad, []);
    assert.ok(r.checked > 12_000, `${r.checked} edge addresses`);
  });

  it('covers the whole address space with contiguous ranges, neighbours differing', () => {
    assert.equal(index.rangeAt(0).start, 0);
    assert.equal(index.rangeAt(index.rangeCount - 1).end, maxIpv4);
    const rng = mulberry32(11);
    for (let n = 0; n < 1_000; n++) {
      const i = Math.floor(rng() * (index.rangeCount - 1));
      const a = index.rangeAt(i);
      const b = index.rangeAt(i + 1);
      assert.equal(b.start, a.end + 1);
      assert.notDeepEqual(a.location, b.location, `ranges ${i} and ${i + 1} should have been merged`);
      assert.equal(index.rangeIndexOf(a.start), i);
      assert.equal(index.rangeIndexOf(a.end), i);
    }
  });

  it('round-trips through a file, and reads the same from an unaligned buffer', () => {
    const path = join(tmp, 'round-trip.idx');
    writeCompactIpv4Index(path, built);
    assert.ok(readFileSync(path).equals(built));
    const loaded = readCompactIpv4Index(path);
    for (const key of ['rangeCount', 'locationCount', 'byteLength', 'sourceBuildEpoch', 'sourceByteLength'] as const) {
      assert.equal(loaded[key], index[key], key);
    }
    // Offset by one byte: the u32 arrays cannot be viewed in place and are copied.
    const backing = Buffer.alloc(built.length + 1);
    built.copy(backing, 1);
    const unaligned = CompactIpv4Index.fromBuffer(backing.subarray(1));
    const rng = mulberry32(3);
    for (let n = 0; n < 5_000; n++) {
      const value = randomUint32(rng);
      assert.deepEqual(loaded.lookup(value), index.lookup(value));
      assert.deepEqual(unaligned.lookup(value), index.lookup(value));
    }
  });

  it('refuses truncated or extended buffers', () => {
    for (const length of [0, 7, 47]) assertRejected(built.subarray(0, length), /truncated: .* the header alone/, `${length} bytes`);
    for (const length of [48, 1_000, Math.floor(built.length / 2), built.length - 1]) {
      assertRejected(built.subarray(0, length), /truncated: .* the header promises/, `${length} bytes`);
    }
    assertRejected(Buffer.concat([built, Buffer.alloc(1)]), /bytes after the end/, 'one byte too many');
  });

  it('refuses other files and other format versions', () => {
    assertRejected(mmdb.subarray(0, 4096), /not a Meridian geo index/, 'an mmdb');
    const copy = Buffer.from(built);
    copy.writeUInt32LE(2, 8);
    assertRejected(copy, /format version 2, this build reads 1/, 'version 2');
  });

  it('refuses a buffer with any byte changed, header or body', () => {
    const copy = Buffer.from(built);
    const rng = mulberry32(99);
    const positions = [8, 16, 20, 24, 28, 32, 40, 48, 48 + 4 * index.rangeCount, built.length - 1];
    for (let n = 0; n < 30; n++) positions.push(Math.floor(rng() * built.length));
    for (const at of positions) {
      const was = copy[at]!;
      copy[at] = was ^ (1 + Math.floor(rng() * 255));
      assert.throws(() => CompactIpv4Index.fromBuffer(copy), (e: unknown) => e instanceof MeridianError && /^geo index: /.test(e.message), `byte ${at} changed`);
      copy[at] = was;
    }
    assert.ok(copy.equals(built));
  });

  it('refuses a checksummed buffer whose contents break the format (a builder bug)', () => {
    const rangeCount = index.rangeCount;
    const badLocation = Buffer.from(built);
    badLocation.writeUInt32LE(index.locationCount, 48 + 4 * rangeCount); // locIds[0]
    fixCrc(badLocation);
    assertRejected(badLocation, /range 0 names location/, 'location id out of range');
    const unsorted = Buffer.from(built);
    unsorted.writeUInt32LE(built.readUInt32LE(48 + 4 * 2), 48 + 4 * 1); // starts[1] = starts[2]
    fixCrc(unsorted);
    assertRejected(unsorted, /not strictly increasing/, 'unsorted starts');
    const farLatitude = Buffer.from(built);
    farLatitude.writeInt32LE(91e5, 48 + 8 * rangeCount); // lat[0]
    fixCrc(farLatitude);
    assertRejected(farLatitude, /out of range/, 'latitude 91');
  });

  it('rejects lookups of values that are not IPv4 addresses', () => {
    for (const bad of [-1, 2 ** 32, 1.5, Number.NaN]) assert.throws(() => index.lookup(bad), RangeError, String(bad));
  });
});

describe('ipv4ToUint32', () => {
  it('reads dotted quads', () => {
    assert.equal(ipv4ToUint32('0.0.0.0'), 0);
    assert.equal(ipv4ToUint32('1.2.3.4'), 0x01020304);
    assert.equal(ipv4ToUint32('255.255.255.255'), maxIpv4);
    assert.equal(ipv4ToUint32('81.2.69.160'), ((81 << 24) | (2 << 16) | (69 << 8) | 160) >>> 0);
  });
  it('answers null for anything else', () => {
    for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1..3.4', ' 1.2.3.4', '1.2.3.4 ', '+1.2.3.4', '0x1.2.3.4', '::1', '1.2.3.-4']) {
      assert.equal(ipv4ToUint32(bad), null, JSON.stringify(bad));
    }
  });
});

describe('GeoLocator with the compact index', () => {
  const indexPath = join(tmp, 'locator.idx');
  writeCompactIpv4Index(indexPath, built);
  const withIndex: GeoDatabaseFiles = { ...files, ipv4Index: indexPath };
  const compact = new GeoLocator(withIndex, { ipv4: 'compact' });
  const viaMmdb = new GeoLocator(withIndex, { ipv4: 'mmdb' });

  it('answers as the mmdb does, without the city', () => {
    const rng = mulberry32(5);
    const ips = ['8.8.8.8', '81.2.69.160', '::ffff:81.2.69.160', '10.0.0.1', '127.0.0.1', '203.0.113.7', '1.2.3'];
    for (let n = 0; n < 20_000; n++) ips.push(ipString(randomUint32(rng)));
    for (const ip of ips) {
      const a = compact.lookup(ip);
      const b = viaMmdb.lookup(ip);
      if (!a.known || !b.known) {
        assert.deepEqual(a, b, ip);
        continue;
      }
      assert.equal(a.ip, b.ip, ip);
      assert.equal(a.country, b.country, ip);
      assert.equal(a.continent, b.continent, ip);
      assert.ok(Math.abs(a.lat - b.lat) <= roundingDeg && Math.abs(a.lon - b.lon) <= roundingDeg, `${ip}: ${JSON.stringify([a, b])}`);
      assert.equal(a.city, null, ip);
    }
    assert.equal(compact.ipv4Source?.backend, 'compact');
    assert.equal(viaMmdb.ipv4Source?.backend, 'mmdb');
  });

  it('falls back to the mmdb in auto mode when the index is missing or damaged, and says why', () => {
    const missing = new GeoLocator({ ...files, ipv4Index: join(tmp, 'nothing-here.idx') }, { ipv4: 'auto' });
    assert.equal(missing.lookup('81.2.69.160').known, true);
    const source = missing.ipv4Source;
    assert.ok(source?.backend === 'mmdb' && /no compact index/.test(source.why), JSON.stringify(source));

    const damagedPath = join(tmp, 'damaged.idx');
    writeFileSync(damagedPath, built.subarray(0, built.length - 10));
    const damaged = new GeoLocator({ ...files, ipv4Index: damagedPath }, { ipv4: 'auto' });
    damaged.preload(4);
    const why = damaged.ipv4Source;
    assert.ok(why?.backend === 'mmdb' && /geo index: truncated/.test(why.why), JSON.stringify(why));
  });

  it('refuses, when the index is required, a missing index or one built from another database', () => {
    const missing = new GeoLocator({ ...files, ipv4Index: join(tmp, 'nothing-here.idx') }, { ipv4: 'compact' });
    assert.throws(() => missing.lookup('8.8.8.8'), (e: unknown) => e instanceof MeridianError && e.code === 'GEO_INDEX_UNAVAILABLE' && /geo index: no compact index/.test(e.message));
    const otherMmdb = join(tmp, 'other.mmdb');
    writeFileSync(otherMmdb, 'not the database the index came from');
    const stale = new GeoLocator({ ...files, ipv4: otherMmdb, ipv4Index: indexPath }, { ipv4: 'compact' });
    assert.throws(() => stale.preload(4), (e: unknown) => e instanceof MeridianError && /geo index: .* built from a different database/.test(e.message));
  });

  it('uses the built index by default once `npm run build` has written it', (t) => {
    if (files.ipv4Index === undefined) {
      t.skip('dist/geo/dbip-city-ipv4.idx is not built');
      return;
    }
    const geo = new GeoLocator();
    geo.preload(4);
    assert.equal(geo.ipv4Source?.backend, 'compact');
  });

  it('reports resident memory with the index and with the mmdb (measurement, not an assertion)', (t) => {
    const distIndex = new URL('../../dist/geo/index.js', import.meta.url);
    if (!existsSync(new URL('../../dist/geo/compact-index.js', import.meta.url)) || files.ipv4Index === undefined) {
      t.skip('needs `npm run build` first');
      return;
    }
    const measure = (mode: 'compact' | 'mmdb'): { baseMb: number; loadedMb: number } => {
      const script = `
        const { GeoLocator } = await import(${JSON.stringify(distIndex.href)});
        const before = process.memoryUsage().rss;
        const geo = new GeoLocator(undefined, { ipv4: ${JSON.stringify(mode)} });
        geo.preload(4);
        if (!geo.lookup('8.8.8.8').known || geo.ipv4Source.backend !== ${JSON.stringify(mode)}) process.exit(2);
        console.log(JSON.stringify({ before, after: process.memoryUsage().rss }));`;
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const { before, after: loaded } = JSON.parse(r.stdout) as { before: number; after: number };
      return { baseMb: before / 1e6, loadedMb: loaded / 1e6 };
    };
    for (const mode of ['compact', 'mmdb'] as const) {
      const m = measure(mode);
      t.diagnostic(`RSS, IPv4 from the ${mode}: ${m.loadedMb.toFixed(1)} MB (${m.baseMb.toFixed(1)} MB before loading, +${(m.loadedMb - m.baseMb).toFixed(1)} MB)`);
    }
  });
});
