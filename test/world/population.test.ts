import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clientSubnet, continentOf, GeoLocator, greatCircleKm, type Continent } from '../../src/geo/index.js';
import { MeridianError } from '../../src/lib/index.js';
import {
  drawPopulation,
  ipsForCity,
  loadCityIps,
  loadWorldCities,
  type SimUser,
  type WorldCity,
} from '../../src/world/population.js';
import { mulberry32 } from '../../src/lib/index.js';

const cities = loadWorldCities();
const ips = loadCityIps();
const covered = cities.filter((c) => ipsForCity(ips, c).length > 0);

test('mulberry32 gives the same floats in [0, 1) for the same seed, others for another', () => {
  const a = mulberry32(7);
  const b = mulberry32(7);
  const c = mulberry32(8);
  const xs = Array.from({ length: 1000 }, () => a());
  assert.deepEqual(Array.from({ length: 1000 }, () => b()), xs);
  assert.notDeepEqual(Array.from({ length: 1000 }, () => c()), xs);
  assert.ok(xs.every((x) => x >= 0 && x < 1));
});

test('the data: every loaded city has a country code, and every one has addresses', () => {
  // world-cities.json marks Hargeysa and Pristina with country -99; the loader drops them.
  assert.ok(cities.length >= 1300);
  assert.ok(cities.every((c) => continentOf(c.country) !== undefined));
  assert.equal(covered.length, cities.length, `uncovered: ${cities.filter((c) => !covered.includes(c)).map((c) => c.city).join(', ')}`);
  assert.match(ips.source, /DB-IP/);
});

test('two cities of one name in one country each get addresses nearer themselves', () => {
  const locator = new GeoLocator();
  for (const name of ['Suzhou', 'Yichun']) {
    const pair = cities.filter((c) => c.city === name && c.country === 'CN');
    assert.equal(pair.length, 2, name);
    const [a, b] = pair as [WorldCity, WorldCity];
    for (const [self, other] of [[a, b], [b, a]] as const) {
      const first = ipsForCity(ips, self)[0];
      assert.ok(first !== undefined, `${name} at ${self.lat},${self.lon} has addresses`);
      const loc = locator.lookup(first.ip);
      assert.ok(loc.known && greatCircleKm(self, loc) < greatCircleKm(other, loc), `${first.ip} nearer ${name} at ${self.lat},${self.lon}`);
    }
  }
});

test('the same seed draws the same users; another seed draws others', () => {
  const one = drawPopulation(1000, 42, cities, ips);
  assert.equal(one.length, 1000);
  assert.deepEqual(drawPopulation(1000, 42, cities, ips), one);
  assert.notDeepEqual(drawPopulation(1000, 43, cities, ips), one);
  assert.deepEqual(one.map((u) => u.id), Array.from({ length: 1000 }, (_, i) => i));
});

test('n = 0 gives no users', () => {
  assert.deepEqual(drawPopulation(0, 1, cities, ips), []);
});

test('cities are drawn in proportion to population, and continents in proportion to theirs', () => {
  const n = 20_000;
  const users = drawPopulation(n, 2024, cities, ips);
  const totalPop = covered.reduce((s, c) => s + c.population, 0);

  const count = (city: string, country: string): number => users.filter((u) => u.city === city && u.country === country).length;
  const tokyo = cities.find((c) => c.city === 'Tokyo' && c.country === 'JP') as WorldCity;
  const verona = cities.find((c) => c.city === 'Verona' && c.country === 'IT') as WorldCity; // ~300k people
  const tokyoExpected = (n * tokyo.population) / totalPop;
  const tokyoDrawn = count('Tokyo', 'JP');
  assert.ok(Math.abs(tokyoDrawn - tokyoExpected) < 0.25 * tokyoExpected, `Tokyo ${tokyoDrawn}, expected ~${tokyoExpected.toFixed(0)}`);
  assert.ok(tokyoDrawn > 10 * count(verona.city, verona.country), 'Tokyo (22M) far more often than Verona (300k)');

  // Each continent's share of users is within 1.5 points of its share of the population
  // of covered cities (the sampling error at n = 20,000 is at most 0.35 points).
  const popBy = new Map<Continent, number>();
  for (const c of covered) {
    const k = continentOf(c.country) as Continent;
    popBy.set(k, (popBy.get(k) ?? 0) + c.population);
  }
  for (const [continent, pop] of popBy) {
    const share = users.filter((u) => u.continent === continent).length / n;
    assert.ok(Math.abs(share - pop / totalPop) < 0.015, `${continent}: users ${share.toFixed(3)}, population ${(pop / totalPop).toFixed(3)}`);
  }
});

test("every user's address (and its ECS /24) locates in the user's country, nearly all near the city", () => {
  const locator = new GeoLocator();
  const users: SimUser[] = drawPopulation(500, 99, cities, ips);
  let within50Km = 0;
  for (const u of users) {
    const loc = locator.lookup(u.ip);
    assert.ok(loc.known, `${u.ip} is known`);
    assert.equal(loc.country, u.country, `${u.ip} of ${u.city}`);
    assert.equal(loc.continent, u.continent);
    // What a GeoDNS sees through EDNS Client Subnet: the /24, looked up by its network.
    const subnet = clientSubnet(u.ip) as string;
    const net = locator.lookup(subnet.slice(0, subnet.indexOf('/')));
    assert.ok(net.known && net.lat === loc.lat && net.lon === loc.lon, `${subnet} locates where ${u.ip} does`);
    const km = greatCircleKm(u, loc);
    // The farthest address in the table is ~590 km from its city (DB-IP places few
    // addresses in the interior of DR Congo and Sudan).
    assert.ok(km < 700, `${u.city} ${u.ip} is ${km.toFixed(0)} km away`);
    if (km < 50) within50Km++;
  }
  // Weighted by population, ~98.5% of the table's addresses lie within 50 km of their
  // city (95% within 5 km); 95% leaves room for the sample.
  assert.ok(within50Km >= 0.95 * users.length, `${within50Km} of ${users.length} within 50 km`);
});

test('the filter restricts the cities users are drawn from', () => {
  const oceania = drawPopulation(2000, 5, cities, ips, (c) => continentOf(c.country) === 'OC');
  assert.equal(oceania.length, 2000);
  assert.ok(oceania.every((u) => u.continent === 'OC'));
  const cityNames = new Set(oceania.map((u) => u.city));
  assert.ok(cityNames.has('Sydney') && cityNames.has('Melbourne'));

  const japan = drawPopulation(500, 5, cities, ips, (c) => c.country === 'JP');
  assert.ok(japan.every((u) => u.country === 'JP'));

  assert.throws(
    () => drawPopulation(10, 5, cities, ips, (c) => continentOf(c.country) === 'AN'),
    (e: unknown) => e instanceof MeridianError && e.code === 'E_POPULATION_EMPTY',
  );
});
