// The local world end to end: real node and app processes, the WAN relays, the users.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { loadRegionCatalog } from '../../src/geo/index.js';
import { latencyModel } from '../../src/topology/index.js';
import { startControl, World, worldTopologyFile, yamlOf } from '../../src/world/index.js';
import type { RequestRecord } from '../../src/world/index.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

describe('meridian dev world: three regions, European users, an app failure', { timeout: 120_000 }, () => {
  let world: World;
  let control: Awaited<ReturnType<typeof startControl>>;
  let pids: number[] = [];
  const runDir = mkdtempSync(join(tmpdir(), 'meridian-world-'));

  before(async () => {
    world = new World({
      topologyYaml: yamlOf(worldTopologyFile(['us-east-1', 'eu-west-1', 'ap-southeast-1'], loadRegionCatalog(), 40)),
      users: 150,
      seed: 7,
      runDir,
      thinkMs: 700,
      relayOctet: 41,
    });
    control = await startControl(world, '127.0.0.1', 0);
    await world.start();
    pids = world.pids();
    assert.equal(pids.length, 6, 'a node and an app per region');
  });

  after(async () => {
    await world.stop();
    control.server.close();
  });

  it('serves European users from eu-west-1, faster than us-east-1 could', async () => {
    await sleep(6000);
    const eu = world.stats.records().filter((r) => r.continent === 'EU' && r.ok);
    assert.ok(eu.length >= 20, `enough European requests (${eu.length})`);
    const share = eu.filter((r) => r.servedBy === 'eu-west-1').length / eu.length;
    assert.ok(share >= 0.9, `share of European requests served by eu-west-1: ${share}`);
    // Sent to us-east-1, a user's request costs at least their link's RTT to it.
    const model = latencyModel(world.topology);
    const users = new Map(world.population.map((u) => [u.id, u]));
    const viaUs = eu.map((r) => model.clientRtt(users.get(r.user)!, world.topology.regions[0]!.id).ms);
    const seen = median(eu.map((r) => r.latencyMs));
    assert.ok(seen < median(viaUs), `median ${seen.toFixed(1)} ms seen vs ${median(viaUs).toFixed(1)} ms at least via us-east-1`);
  });

  it('gives each node a store under the run directory and each app its data API: users\' writes reach it', async () => {
    for (const id of ['us-east-1', 'eu-west-1', 'ap-southeast-1']) assert.ok(existsSync(join(runDir, id, 'data')), `${id}/data`);
    const writes = world.stats.records().filter((r) => r.op?.startsWith('write ') === true || r.op === 'increment views');
    assert.ok(writes.length >= 10, `users wrote (${writes.length})`);
    const failed = writes.filter((r) => r.status !== 200);
    assert.ok(failed.length <= writes.length / 10, `writes answered 200 through app and data API: ${failed.map((r) => `${r.op} ${r.status}`).join(', ')}`);
    assert.ok(world.events.some((e) => e.kind === 'data' && e.detail.startsWith('catalog: 20 items')), 'the catalog was written before users came');
  });

  it('refuses unauthenticated mesh requests and control calls', async () => {
    const r = world.topology.regions[1]!;
    const res = await request(`http://${r.mesh.host}:${r.mesh.port}/status`);
    assert.equal(res.statusCode, 401);
    await res.body.dump();
    const c = await request(`${control.url}/regions/eu-west-1/kill`, { method: 'POST' });
    assert.equal(c.statusCode, 401);
    await c.body.dump();
    assert.equal(world.region('eu-west-1').node.state, 'running');
  });

  it('moves European users elsewhere within 5 s when eu-west-1 app is killed, with no errors after detection', async () => {
    const res = await request(`${control.url}/regions/eu-west-1/app/kill`, { method: 'POST', headers: { authorization: `Bearer ${world.secret}` } });
    assert.equal(res.statusCode, 200, await res.body.text());
    const killedMs = world.events.find((e) => e.kind === 'kill' && e.detail.startsWith('eu-west-1 app'))?.atMs;
    assert.ok(killedMs !== undefined);
    await sleep(9000);
    const eu = world.stats.records().filter((r: RequestRecord) => r.continent === 'EU' && r.atMs > killedMs);
    const firstElsewhere = eu.find((r) => r.ok && r.servedBy !== null && r.servedBy !== 'eu-west-1');
    assert.ok(firstElsewhere, 'European users are served by another region');
    assert.ok(firstElsewhere.atMs - killedMs < 5000, `moved ${firstElsewhere.atMs - killedMs} ms after the kill`);
    const later = eu.filter((r) => r.atMs > killedMs + 5000);
    assert.ok(later.length >= 10, `European requests after the move (${later.length})`);
    assert.ok(later.every((r) => r.servedBy !== 'eu-west-1'), 'none served by eu-west-1 after 5 s');
    // Detection window: down_after (3) × interval (1 s) + timeout (0.5 s).
    const h = world.topology.file.health;
    const detectedMs = killedMs + h.down_after * h.interval + h.timeout;
    const errors = world.stats.records().filter((r) => r.atMs > detectedMs && !r.ok);
    assert.deepEqual(errors.map((r) => `${r.continent} ${r.resolvedTo} ${r.status} ${r.error ?? ''}`), []);
  });

  it('partitions and heals links through the control endpoint', async () => {
    const call = async (path: string, body: unknown): Promise<number> => {
      const res = await request(`${control.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${world.secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      await res.body.dump();
      return res.statusCode;
    };
    assert.equal(await call('/links/partition', { a: 'us-east-1', b: 'ap-southeast-1' }), 200);
    const cut = world.wan.links().filter((l) => l.partitioned !== null).map((l) => `${l.from}>${l.to}`).sort();
    assert.deepEqual(cut, ['ap-southeast-1>us-east-1', 'us-east-1>ap-southeast-1']);
    assert.equal(await call('/links/latency', { a: 'us-east-1', b: 'eu-west-1', rttMs: 250 }), 200);
    assert.equal(world.wan.links().find((l) => l.from === 'eu-west-1' && l.to === 'us-east-1')?.rttMs, 250);
    assert.equal(await call('/links/heal', {}), 200);
    assert.deepEqual(world.wan.links().filter((l) => l.partitioned !== null), []);
    assert.equal(await call('/links/partition', { a: 'us-east-1' }), 400, 'a bad request is refused with 400');
    assert.equal(await call('/regions/mars-1/kill', {}), 400);
  });

  it('stops every process of the world, even a paused one', async () => {
    world.pauseRegion('ap-southeast-1');
    const t0 = Date.now();
    await world.stop();
    assert.ok(Date.now() - t0 < 15_000);
    await sleep(200);
    assert.deepEqual(pids.filter(alive), []);
  });
});
