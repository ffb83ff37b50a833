// Clock safety: a node whose clock is further than data.max_clock_offset from its peers
// stops serving strong operations and says why; the others go on.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { EmbeddedCoordinator, EmbeddedCoordServer } from '../../src/coord/index.js';
import { GeoLocator } from '../../src/geo/index.js';
import { regionId } from '../../src/lib/index.js';
import { RegionNode } from '../../src/node/index.js';
import { until } from '../node/fixtures.js';
import { api, dataTopology, regionsOf, secret, tempDir, token } from './fixtures.js';

const octet = 58;
const hosts = regionsOf(octet);

describe('clock safety', () => {
  const t = dataTopology(octet, { max_clock_offset: '300ms' });
  const dir = tempDir();
  const server = new EmbeddedCoordServer({ host: '127.0.0.1', port: 0, secret });
  const geo = new GeoLocator();
  let nodes: RegionNode[] = [];

  before(async () => {
    const address = await server.start();
    nodes = ['us-east-1', 'eu-west-1', 'eu-central-1'].map((id) => new RegionNode({
      topology: t, region: regionId(id), meshSecret: secret, appToken: token, httpPort: 8080, dnsPort: 5353, roles: [], drainTimeoutMs: 500,
      logger: pino({ level: 'silent' }), geo, dataDir: dir.path,
      coord: new EmbeddedCoordinator({ address, secret, from: id }),
      // eu-central-1's clock is two seconds ahead of everyone else's
      ...(id === 'eu-central-1' && { clockSkewMs: 2000 }),
    }));
    for (const n of nodes) await n.start();
  });
  after(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await server.close();
    dir.remove();
  });

  it('the node whose clock is off refuses strong operations with the reason; the others serve them', async () => {
    const skewed = nodes[2] as RegionNode;
    await until('eu-central-1 sees its offset', () => (skewed.status() as { clock: { verdict: { ok: boolean } } }).clock.verdict.ok === false, 10_000);
    await until('eu-central-1 leads its own rows', () => ((skewed.status() as { data: { leadership: { partitions: Record<string, { leader: { region: string } | null }> } } }).data.leadership.partitions['eu-central-1']?.leader?.region ?? '') !== '', 10_000);
    const w = await api(hosts.euCentral, 'PUT', '/tables/accounts/rows/skew-1', { n: 1 }, { 'x-meridian-home': 'eu-central-1' });
    assert.equal(w.status, 503, JSON.stringify(w.body));
    assert.equal(w.body.error, 'clock_unsafe');
    assert.match(String(w.body.reason), /more than 300 ms .*from 2 of 2 peers/);
    // a healthy node serves its strong writes and reads
    await until('eu-west-1 serves its rows', async () => (await api(hosts.euWest, 'PUT', '/tables/accounts/rows/fine-1', { n: 1 })).status === 200, 10_000);
    const r = await api(hosts.euWest, 'GET', '/tables/accounts/rows/fine-1?consistency=strong');
    assert.equal(r.status, 200);
    assert.equal((nodes[0]?.status() as { clock: { verdict: { ok: boolean } } }).clock.verdict.ok, true, 'us-east-1 sees one peer off, not most: it goes on');
  });
});
