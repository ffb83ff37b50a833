// Residency, checked on disk: EU-homed rows written through every region, with a value
// no one could store by accident, are then searched for byte by byte in every region's
// database files (main file, WAL and shared memory). The EU regions must hold them (or the
// search proves nothing); us-east-1 must not hold a single copy.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { RegionNode } from '../../src/node/index.js';
import { until } from '../node/fixtures.js';
import { request } from 'undici';
import { api, dataTopology, regionsOf, secret, threeDataNodes } from './fixtures.js';

const octet = 46;
const hosts = regionsOf(octet);
const marker = 'RESIDENCY-MARKER-7f3a9c';

function filesOf(dir: string, region: string): string[] {
  return readdirSync(dir).filter((f) => f.startsWith(`${region}.db`)).map((f) => join(dir, f));
}

function occurrences(files: string[], needle: string): number {
  const n = Buffer.from(needle);
  let count = 0;
  for (const f of files) {
    const b = readFileSync(f);
    for (let i = b.indexOf(n); i >= 0; i = b.indexOf(n, i + 1)) count++;
  }
  return count;
}

describe('residency on disk (eu strict)', () => {
  const t = dataTopology(octet, { replication: { flush_interval: '5ms', heartbeat: '100ms', anti_entropy: '500ms' } });
  const nodes = threeDataNodes(t);

  it('never stores, logs, replicates or caches an EU-homed value outside the EU', async () => {
    let i = 0;
    for (const via of [hosts.us, hosts.euWest, hosts.euCentral]) {
      for (const home of ['eu-west-1', 'eu-central-1']) {
        const a = await api(via, 'PUT', `/tables/accounts/rows/eu-user-${i}`, { secret: `${marker}-${i}` }, { 'x-meridian-home': home, 'idempotency-key': `acc-${i}` });
        assert.equal(a.status, 200, JSON.stringify(a.body));
        assert.equal(a.body.home, home);
        const c = await api(via, 'PUT', `/tables/carts/rows/eu-cart-${i}`, { region: home, note: `${marker}-cart-${i}` });
        assert.equal(c.status, 200, JSON.stringify(c.body));
        i++;
      }
      // and a row that may go everywhere, so replication to us-east-1 is busy meanwhile
      assert.equal((await api(via, 'PUT', `/tables/prefs/rows/p-${i}`, { note: 'global' })).status, 200);
    }
    // updates and a delete too: the change log carries every version
    assert.equal((await api(hosts.us, 'PUT', '/tables/accounts/rows/eu-user-0', { secret: `${marker}-updated` }, { 'x-meridian-home': 'eu-west-1' })).status, 200);
    assert.equal((await api(hosts.us, 'DELETE', '/tables/accounts/rows/eu-user-1')).status, 200);
    // reads through us-east-1 are served from the EU, and leave nothing behind
    const r = await api(hosts.us, 'GET', '/tables/accounts/rows/eu-user-2');
    assert.equal(r.status, 200);
    assert.notEqual(r.servedBy, 'us-east-1');

    // both EU regions end up with every EU row (replication inside the EU), us-east-1 with the global ones
    const euRows = (n: RegionNode): number => n.store.list('accounts', 'eu-user-', '', 100).length + n.store.list('carts', 'eu-cart-', '', 100).length;
    const [us, euWest, euCentral] = [...nodes] as [RegionNode, RegionNode, RegionNode];
    await until('EU rows replicated within the EU', () => euRows(euWest) === 11 && euRows(euCentral) === 11, 15_000);
    await until('global rows replicated to us-east-1', () => us.store.list('prefs', 'p-', '', 10).length === 3, 15_000);
    for (const n of nodes) n.data.writer.flush();

    assert.ok(occurrences(filesOf(nodes.dir, 'eu-west-1'), marker) > 0, 'the marker is findable where it belongs');
    assert.ok(occurrences(filesOf(nodes.dir, 'eu-central-1'), marker) > 0, 'and replicated to the other EU region');
    const usFiles = filesOf(nodes.dir, 'us-east-1');
    assert.ok(usFiles.some((f) => f.endsWith('-wal')), 'the WAL is searched too');
    assert.equal(occurrences(usFiles, marker), 0, `an EU-homed value in ${usFiles.join(', ')}`);
    assert.equal(us.store.get('accounts', 'eu-user-0'), undefined);

    // replication lag per (source, destination) pair: in /status and /metrics
    const st = euCentral.status() as { data: { replication: { inbound: Record<string, { changesApplied: number; lagMsP99: number }> } } };
    assert.ok((st.data.replication.inbound['eu-west-1']?.changesApplied ?? 0) > 0);
    assert.ok((st.data.replication.inbound['us-east-1']?.changesApplied ?? 0) > 0, 'global rows came from us-east-1');
    const metrics = await (await request(`http://${hosts.euCentral}:7070/metrics`, { headers: { authorization: `Bearer ${secret}` } })).body.text();
    assert.match(metrics, /meridian_replication_lag_seconds_count\{[^}]*source="eu-west-1",dest="eu-central-1"[^}]*\} [1-9]/);
    assert.doesNotMatch(metrics, /RESIDENCY-MARKER/);
  });
});
