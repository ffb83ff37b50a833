import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  allowedRegionsForHome,
  formatProblem,
  parseTopology,
  syncFollower,
  type LoadResult,
  type Problem,
} from '../../src/topology/index.js';
import { regionId } from '../../src/lib/index.js';
import { baseTopology, yaml } from './fixtures.js';

type Mutable = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests mutate arbitrary config shapes

function load(mutate: (t: Mutable) => void = () => {}): LoadResult {
  const t = baseTopology() as Mutable;
  mutate(t);
  return parseTopology(yaml(t));
}

function errors(r: LoadResult): Problem[] {
  return r.problems.filter((p) => p.severity === 'error');
}

function expectProblem(r: LoadResult, path: string, fragment: RegExp, severity: 'error' | 'warning' = 'error'): Problem {
  const p = r.problems.find((x) => x.path === path && x.severity === severity && fragment.test(`${x.message} ${x.expected ?? ''}`));
  assert.ok(p, `expected a ${severity} at ${path} matching ${fragment}; got:\n${r.problems.map((x) => formatProblem(x)).join('\n')}`);
  return p;
}

describe('meridian validate: a good file', () => {
  it('loads with defaults applied', () => {
    const r = load();
    assert.equal(r.ok, true, JSON.stringify(r.problems));
    if (!r.ok) return;
    const f = r.topology.file;
    assert.equal(f.routing.policy, 'latency');
    assert.equal(f.routing.ttl, 30_000);
    assert.equal(f.health.interval, 1000);
    assert.equal(f.health.timeout, 500);
    assert.equal(f.cache.max_size, 256e6);
    assert.equal(f.coord.kind, 'embedded');
    assert.equal(f.security.mesh_secret_env, 'MERIDIAN_MESH_SECRET');
    assert.deepEqual(r.topology.regions[0]?.location, { lat: 38.9072, lon: -77.0369 }.lat ? r.topology.regions[0]?.location : null);
  });
  it('takes a region location from the catalog when omitted', () => {
    const r = load();
    assert.ok(r.ok);
    const eu = r.topology.regions.find((x) => x.id === 'eu-west-1');
    assert.ok(eu && Math.abs(eu.location.lat - 53.35) < 0.5, JSON.stringify(eu));
  });
  it('parses durations and sizes with units', () => {
    const r = load((t) => {
      t.routing = { ttl: '1m30s' };
      t.health = { interval: '2s', timeout: '500ms' };
      t.cache = { max_size: '1GiB', rules: [{ match: '/static/*', default_ttl: '1d' }] };
    });
    assert.ok(r.ok, JSON.stringify(r.problems));
    assert.equal(r.topology.file.routing.ttl, 90_000);
    assert.equal(r.topology.file.health.interval, 2000);
    assert.equal(r.topology.file.cache.max_size, 1024 ** 3);
    assert.equal(r.topology.file.cache.rules[0]?.default_ttl, 86_400_000);
  });
});

describe('meridian validate: schema problems', () => {
  it('names the path, what is wrong and what is expected', () => {
    const r = load((t) => {
      t.routing = { ttl: '30 seconds' };
    });
    assert.equal(r.ok, false);
    const p = expectProblem(r, 'routing.ttl', /not a duration.*ms, s, m, h or d/);
    assert.ok(p.line !== undefined && p.col !== undefined, 'a line and column');
  });
  it('refuses sizes without a known unit', () => {
    expectProblem(load((t) => { t.cache = { max_size: '256 megs' }; }), 'cache.max_size', /not a size/);
  });
  it('refuses unknown keys and lists the known ones', () => {
    const r = load((t) => { t.health = { down_afer: 3 }; });
    expectProblem(r, 'health.down_afer', /unknown key.*down_after/);
  });
  it('refuses a missing required key', () => {
    const r = load((t) => { delete t.regions[0].public; });
    expectProblem(r, 'regions[0].public', /is missing/);
  });
  it('refuses a bad enum value and lists the choices', () => {
    expectProblem(load((t) => { t.deployment.model = 'active-sometimes'; }), 'deployment.model', /active-active, active-passive, geo-partitioned/);
  });
  it('refuses a bad table locality', () => {
    expectProblem(load((t) => { t.data.tables.views = { locality: 'everywhere' }; }), 'data.tables.views.locality', /home, global/);
  });
  it('refuses a mesh address without a port', () => {
    expectProblem(load((t) => { t.regions[1].mesh = '127.0.2.1'; }), 'regions[1].mesh', /IP:port/);
  });
  it('refuses an app that is not http', () => {
    expectProblem(load((t) => { t.regions[1].app = 'ftp://x'; }), 'regions[1].app', /http/);
  });
  it('refuses a bias outside -99..99', () => {
    expectProblem(load((t) => { t.routing = { bias: { 'eu-west-1': 150 } }; }), 'routing.bias.eu-west-1', /at most 99/);
  });
  it('still runs the cross-field checks when the schema fails', () => {
    const r = load((t) => {
      t.routing = { ttl: 'soon' };
      t.regions[2].id = 'eu-west-1';
    });
    expectProblem(r, 'routing.ttl', /not a duration/);
    expectProblem(r, 'regions[2].id', /duplicate region id/);
  });
});

describe('meridian validate: cross-field checks', () => {
  it('duplicate region ids', () => {
    expectProblem(load((t) => { t.regions[2].id = 'eu-west-1'; }), 'regions[2].id', /duplicate region id "eu-west-1".*regions\[1\]/);
  });
  it('duplicate public addresses', () => {
    expectProblem(load((t) => { t.regions[2].public = '127.0.1.1'; }), 'regions[2].public', /duplicate public address/);
  });
  it('duplicate mesh addresses', () => {
    expectProblem(load((t) => { t.regions[2].mesh = '127.0.1.1:7070'; }), 'regions[2].mesh', /duplicate mesh address/);
  });
  it('a region outside the catalog needs a location', () => {
    expectProblem(load((t) => { t.regions[2].id = 'mars-north-1'; }), 'regions[2].location', /not in data\/cloud-regions.json/);
    assert.ok(load((t) => { t.regions[2].id = 'mars-north-1'; t.regions[2].location = { lat: 1, lon: 2 }; }).ok);
  });
  it('unknown regions in deployment.primary and the failover order', () => {
    expectProblem(load((t) => { t.deployment.primary = 'us-east-9'; }), 'deployment.primary', /unknown region "us-east-9".*us-east-1, eu-west-1, eu-central-1/);
    expectProblem(load((t) => { t.deployment.failover = ['eu-west-1', 'us-east-9']; }), 'deployment.failover[1]', /unknown region/);
    expectProblem(load((t) => { t.deployment.failover = ['eu-west-1', 'eu-west-1']; }), 'deployment.failover[1]', /listed twice/);
  });
  it('unknown regions in weights, bias, the geolocation map and cost pairs', () => {
    expectProblem(load((t) => { t.routing = { weights: { 'us-east-9': 1, 'us-east-1': 1 } }; }), 'routing.weights.us-east-9', /unknown region/);
    expectProblem(load((t) => { t.routing = { bias: { 'ap-nowhere-1': 10 } }; }), 'routing.bias.ap-nowhere-1', /unknown region/);
    expectProblem(load((t) => { t.routing = { geolocation: { GB: 'eu-north-9', default: 'us-east-1' } }; }), 'routing.geolocation.GB', /unknown region "eu-north-9"/);
    expectProblem(load((t) => { t.cost = { prices_per_gb: { pairs: { 'us-east-1->mars-1': 0.1 } } }; }), 'cost.prices_per_gb.pairs["us-east-1->mars-1"]', /unknown region "mars-1"/);
  });
  it('geolocation keys: ambiguous and unknown codes', () => {
    expectProblem(load((t) => { t.routing = { geolocation: { AS: 'eu-west-1' } }; }), 'routing.geolocation.AS', /both a country and a continent.*country:AS or continent:AS/);
    expectProblem(load((t) => { t.routing = { geolocation: { XX: 'eu-west-1' } }; }), 'routing.geolocation.XX', /not an ISO 3166-1 country code/);
    assert.ok(load((t) => { t.routing = { geolocation: { EU: 'eu-west-1', 'continent:AS': 'us-east-1', 'country:DE': 'eu-central-1', default: 'us-east-1' } }; }).ok);
  });
  it('active-passive without a primary', () => {
    expectProblem(load((t) => { t.deployment = { model: 'active-passive' }; }), 'deployment.primary', /active-passive needs a primary/);
  });
  it('writes: primary without a primary', () => {
    expectProblem(load((t) => { t.deployment = {}; t.data.tables.catalog = { locality: 'global', writes: 'primary' }; }), 'data.tables.catalog.writes', /deployment.primary/);
  });
  it('survive: region where residency leaves a home region alone', () => {
    // Only one EU region left: EU-homed accounts cannot have a second copy.
    const r = load((t) => { t.regions.splice(2, 1); });
    expectProblem(r, 'data.tables.accounts.survive', /jurisdiction eu \(eu-west-1\).*second allowed region/);
    // Without strict residency the US region may hold the copy.
    assert.ok(load((t) => { t.regions.splice(2, 1); t.data.residency = {}; }).ok);
    // survive: zone needs no second region.
    assert.ok(load((t) => { t.regions.splice(2, 1); t.data.tables.accounts.survive = 'zone'; }).ok);
  });
  it('policies that need their maps', () => {
    expectProblem(load((t) => { t.routing = { policy: 'weighted' }; }), 'routing.weights', /at least one region with a weight/);
    expectProblem(load((t) => { t.routing = { policy: 'geolocation' }; }), 'routing.geolocation', /needs a map/);
    expectProblem(load((t) => { t.routing = { policy: 'geolocation', geolocation: { GB: 'eu-west-1' } }; }), 'routing.geolocation', /no default/, 'warning');
  });
  it('health timeout must be below the interval', () => {
    expectProblem(load((t) => { t.health = { interval: '1s', timeout: '2s' }; }), 'health.timeout', /not below interval/);
  });
  it('coord: embedded across machines is refused, with etcd as the fix; on one machine it is fine', () => {
    const spread = (t: Mutable): void => {
      t.regions[0].public = '198.51.100.1'; t.regions[0].mesh = '10.0.0.1:7070';
      t.regions[1].public = '198.51.100.2'; t.regions[1].mesh = '10.0.0.2:7070';
    };
    const r = load(spread);
    assert.equal(r.ok, false);
    const p = expectProblem(r, 'coord.kind', /embedded coordination runs on one machine/);
    assert.match(p.expected ?? '', /kind: etcd, endpoints/);
    // The default is embedded, so a production file must say etcd: then it loads.
    assert.ok(load((t) => { spread(t); t.coord = { kind: 'etcd', endpoints: ['http://10.0.0.1:2379', 'http://10.0.0.2:2379', 'http://10.0.0.3:2379'] }; }).ok);
    assert.equal(load().problems.length, 0, 'loopback regions are one machine');
  });
  it('static records: data checked per type, no CNAME at a service host', () => {
    expectProblem(load((t) => { t.service.records = [{ name: 'mail', type: 'A', value: '300.1.1.1' }]; }), 'service.records[0].value', /not A data/);
    expectProblem(load((t) => { t.service.records = [{ name: '@', type: 'MX', value: 'mail.example.' }]; }), 'service.records[0].value', /preference/);
    expectProblem(load((t) => { t.service.records = [{ name: 'www', type: 'CNAME', value: 'x.example.' }]; }), 'service.records[0].name', /service host/);
    assert.ok(load((t) => { t.service.records = [{ name: '_sip._tcp', type: 'SRV', value: '10 5 5060 sip.example.test.' }, { name: '@', type: 'CAA', value: '0 issue "letsencrypt.org"' }]; }).ok);
  });
});

describe('meridian validate: broken YAML', () => {
  it('reports the line and column', () => {
    const r = parseTopology('service:\n  name: shop\n  zone: [unclosed\nregions: []\n');
    assert.equal(r.ok, false);
    const p = errors(r)[0];
    assert.ok(p && p.path === '(yaml)' && p.line !== undefined && p.col !== undefined, JSON.stringify(r.problems));
  });
  it('refuses duplicate keys', () => {
    const r = parseTopology('service: {name: a, zone: a.test}\nservice: {name: b, zone: b.test}\nregions: []\n');
    assert.equal(r.ok, false);
    assert.equal(errors(r)[0]?.line, 2);
  });
  it('refuses runaway aliases', () => {
    let text = 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n';
    for (let i = 1; i < 12; i++) text += `a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]\n`;
    const r = parseTopology(text);
    assert.equal(r.ok, false);
  });
  it('an empty file says what is missing', () => {
    const r = parseTopology('');
    expectProblem(r, 'service', /is missing/);
    expectProblem(r, 'regions', /is missing/);
  });
});

describe('derived facts', () => {
  it('residency limits where EU-homed rows may live', () => {
    const r = load();
    assert.ok(r.ok);
    assert.deepEqual(allowedRegionsForHome(r.topology, regionId('eu-west-1')), ['eu-west-1', 'eu-central-1']);
    assert.deepEqual(allowedRegionsForHome(r.topology, regionId('us-east-1')), ['us-east-1', 'eu-west-1', 'eu-central-1']);
  });
  it('the synchronous follower is the next allowed region in failover order', () => {
    const r = load();
    assert.ok(r.ok);
    assert.equal(syncFollower(r.topology, regionId('eu-west-1')), 'eu-central-1');
    // From us-east-1 by measured RTT: eu-west-1 (~70 ms) is nearer than eu-central-1 (~90 ms).
    assert.equal(syncFollower(r.topology, regionId('us-east-1')), 'eu-west-1');
  });
});
