// Property tests: for arbitrary clients, health, policies and deployment models, route()
// keeps the promises every caller relies on (DESIGN §4).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { continents, LatencyModel, loadRegionCatalog } from '../../src/geo/index.js';
import { regionId, type RegionId } from '../../src/lib/index.js';
import {
  multivalueMax,
  route,
  type ClientInfo,
  type DeploymentModel,
  type RegionHealth,
  type RoutingPolicyName,
  type RoutingQuery,
  type RoutingTable,
} from '../../src/routing/index.js';

const catalog = loadRegionCatalog();
// Two edge sites the catalog does not know (fibre estimates only) and one region with no
// coordinates at all, which must be ranked without crashing.
const latency = new LatencyModel(catalog, [
  { id: regionId('edge-a'), lat: 60.17, lon: 24.94 },
  { id: regionId('edge-b'), lat: -1.29, lon: 36.82 },
]);
const pool = [...catalog.regions.map((r) => r.id as string), 'edge-a', 'edge-b', 'edge-nowhere'];
const policies: RoutingPolicyName[] = ['latency', 'proximity', 'geolocation', 'weighted', 'failover', 'multivalue'];
const models: DeploymentModel[] = ['active-active', 'active-passive', 'geo-partitioned'];
const geoKeys = ['country:GB', 'country:JP', 'country:US', 'continent:EU', 'continent:AS', 'continent:NA', 'default'];

const clientArb: fc.Arbitrary<ClientInfo> = fc.record({
  location: fc.option(
    fc.record({
      lat: fc.double({ min: -90, max: 90, noNaN: true }),
      lon: fc.double({ min: -180, max: 180, noNaN: true }),
      country: fc.constantFrom('GB', 'JP', 'US', 'BR', 'AU', 'ZA', 'DE', 'SG'),
      continent: fc.constantFrom(...continents),
    }),
    { nil: null },
  ),
  source: fc.constantFrom('ecs' as const, 'resolver' as const, 'request' as const, 'none' as const),
  subnet: fc.oneof(fc.ipV4().map((ip) => `${ip}/24`), fc.string()),
});

const healthArb: fc.Arbitrary<RegionHealth | null> = fc.oneof(
  fc.constant(null),
  fc.record({ up: fc.boolean(), sinceMs: fc.integer({ min: 0, max: 4_102_444_800_000 }) }, { requiredKeys: ['up'] }),
);

interface Case {
  readonly table: RoutingTable;
  readonly query: RoutingQuery;
}

const caseArb: fc.Arbitrary<Case> = fc.uniqueArray(fc.constantFrom(...pool), { minLength: 1, maxLength: 12 }).chain((names) => {
  const regions = names.map(regionId);
  const one = fc.constantFrom(...regions);
  return fc
    .record({
      model: fc.constantFrom(...models),
      policy: fc.constantFrom(...policies),
      primary: fc.option(one, { nil: undefined }),
      failoverOrder: fc.option(fc.shuffledSubarray(regions), { nil: undefined }),
      bias: fc.dictionary(one, fc.integer({ min: -99, max: 99 })),
      geolocation: fc.dictionary(fc.constantFrom(...geoKeys), one),
      weights: fc.dictionary(one, fc.integer({ min: 0, max: 5 })),
      client: clientArb,
      health: fc.array(healthArb, { minLength: regions.length, maxLength: regions.length }),
      homeRegion: fc.option(fc.oneof(one, fc.constant(regionId('eu-north-1'))), { nil: undefined }),
    })
    .map((g): Case => {
      const health = new Map<RegionId, RegionHealth>();
      g.health.forEach((h, i) => {
        if (h !== null) health.set(regions[i]!, h);
      });
      const table: RoutingTable = {
        regions,
        model: g.model,
        policy: g.policy,
        ...(g.primary !== undefined && { primary: g.primary }),
        ...(g.failoverOrder !== undefined && { failoverOrder: g.failoverOrder }),
        bias: g.bias,
        geolocation: g.geolocation,
        weights: g.weights,
        latency,
      };
      const query: RoutingQuery = { client: g.client, health, ...(g.homeRegion !== undefined && { homeRegion: g.homeRegion }) };
      return { table, query };
    });
});

const isUp = (q: RoutingQuery, r: RegionId): boolean => q.health.get(r)?.up ?? true;
const runs = { numRuns: 400 };

test('property: route is deterministic (same input, deep-equal output)', () => {
  fc.assert(
    fc.property(caseArb, ({ table, query }) => {
      const copy: RoutingQuery = { ...query, health: new Map(query.health), client: { ...query.client } };
      assert.deepEqual(route(table, query), route({ ...table, regions: [...table.regions] }, copy));
    }),
    runs,
  );
});

test('property: every region is ranked exactly once, with its health, RTT and a reason', () => {
  fc.assert(
    fc.property(caseArb, ({ table, query }) => {
      const d = route(table, query);
      assert.deepEqual(d.ranked.map((r) => r.region).sort(), [...table.regions].sort());
      for (const r of d.ranked) {
        assert.equal(r.up, isUp(query, r.region));
        assert.ok(r.reason.trim().length > 0);
        const at = query.client.location;
        const expected = at === null || latency.location(r.region) === undefined ? null : latency.clientRtt(at, r.region).ms;
        assert.equal(r.rttMs, expected);
      }
      assert.equal(d.policy, table.policy);
      assert.equal(d.model, table.model);
      assert.ok(d.summary.length > 0 && !d.summary.includes('\n'));
    }),
    runs,
  );
});

test('property: no down region above an up one; answers are healthy unless all are down', () => {
  fc.assert(
    fc.property(caseArb, ({ table, query }) => {
      const d = route(table, query);
      const anyUp = table.regions.some((r) => isUp(query, r));
      assert.equal(d.allDown, !anyUp);
      const firstDown = d.ranked.findIndex((r) => !r.up);
      if (firstDown >= 0) assert.ok(d.ranked.slice(firstDown).every((r) => !r.up));
      assert.ok(d.answer.length >= 1 && d.answer.length <= multivalueMax);
      if (anyUp) {
        for (const a of d.answer) assert.ok(isUp(query, a), `${a} answered while down`);
        assert.equal(d.answer[0], d.ranked[0]!.region);
        const many = table.policy === 'multivalue' && table.model !== 'active-passive';
        if (!many) assert.equal(d.answer.length, 1);
        else assert.equal(d.answer.length, Math.min(multivalueMax, d.ranked.filter((r) => r.up).length));
      } else {
        // Fail open: everyone, capped at the answer limit, and the words say so.
        assert.deepEqual(d.answer, d.ranked.slice(0, multivalueMax).map((r) => r.region));
        assert.match(d.summary, /fail open/);
        for (const r of d.ranked) assert.match(r.reason, /fail open/);
      }
    }),
    runs,
  );
});

test('property: the deciding rule holds for the first answer', () => {
  fc.assert(
    fc.property(caseArb, ({ table, query }) => {
      const d = route(table, query);
      if (d.allDown) return;
      const first = d.ranked[0]!;
      const up = d.ranked.filter((r) => r.up);
      if (table.model === 'active-passive' && table.primary !== undefined && isUp(query, table.primary)) {
        assert.equal(first.region, table.primary);
      }
      const home = query.homeRegion;
      if (table.model === 'geo-partitioned' && home !== undefined && table.regions.includes(home) && isUp(query, home)) {
        assert.equal(first.region, home);
      }
      if (table.model !== 'active-active') return;
      if (table.policy === 'latency' && up.every((r) => r.rttMs !== null)) {
        assert.equal(first.rttMs, Math.min(...up.map((r) => r.rttMs as number)));
      }
      if (table.policy === 'weighted' && up.some((r) => (table.weights[r.region] ?? 0) > 0)) {
        assert.ok((table.weights[first.region] ?? 0) > 0, 'a weight-0 region first while a weighted one is up');
      }
    }),
    runs,
  );
});
