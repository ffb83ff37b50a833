// survive: zone writes a failover could not carry over are kept aside, never dropped:
// the home region acknowledges writes while cut off from the other regions (so they are
// never shipped), is SIGKILLed, its follower takes over; when it comes back it reconciles
// with the new leader — its rows give way to the leader's, and what it had acknowledged
// is listed in /status and by `meridian data lost-writes`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { request } from 'undici';
import { connect } from '../../src/data/client/index.js';
import { dataFromHeader, reconcileEpochHeader } from '../../src/data/index.js';
import { sign } from '../../src/mesh/index.js';
import { World } from '../../src/world/index.js';
import { root } from '../cli/run.js';
import { until, usWorldTopology, worldRun } from './us-world.js';

const octet = 56;
const topologyYaml = usWorldTopology(octet, { tables: { carts: { locality: 'home', home_from: 'client', consistency: 'strong', survive: 'zone' } } });

describe('lost writes (survive: zone)', () => {
  const run = worldRun('meridian-lost-');
  const runDir = run.runDir;

  it('keeps aside and lists the acknowledged writes a failover could not carry over', async () => {
    const w = (run.world = new World({ topologyYaml, users: 0, seed: 3, runDir, relayOctet: octet + 1 }));
    await w.start();
    type Status = { data: { leadership: { partitions: Record<string, { leader: { region: string; epoch: number } | null; serving: number | false }> } | null; lostWrites: { total: number } } };
    const status = async (id: string): Promise<Status> => (await w.nodeRequest(id, '/status', 2000)).body as Status;
    await until('us-east-1 leads its rows', async () => {
      const st = await status('us-east-1');
      if (st.data.leadership?.partitions['us-east-1']?.serving === false) throw new Error(JSON.stringify(st.data.leadership?.partitions['us-east-1']));
      return true;
    });

    const carts = connect<{ carts: { items: string[] } }>({ url: w.dataUrl('us-east-1'), token: w.appToken, timeoutMs: 2000, retries: 0 }).table('carts');
    assert.equal((await carts.put('shipped', { items: ['kept'] })).home, 'us-east-1');
    await until('the first cart replicated', async () => (await connect<{ carts: { items: string[] } }>({ url: w.dataUrl('us-east-2'), token: w.appToken, retries: 0 }).table('carts').get('shipped')) !== null);
    // Cut us-east-1 off from the other regions (it still reaches the coordinator and keeps
    // its lease): what it acknowledges now is never shipped.
    w.isolate('us-east-1');
    const stranded = ['cart-a', 'cart-b', 'cart-c'];
    for (const k of stranded) assert.equal((await carts.put(k, { items: [`LOST-${k}`] })).region, 'us-east-1');
    await w.killRegion('us-east-1');
    // The synchronous follower (us-east-2) is preferred, but for survive: zone rows any
    // allowed region may take over; what matters is that one does.
    await until('another region took over us-east-1\'s rows', async () => {
      const part = (await status('us-east-2')).data.leadership?.partitions['us-east-1'];
      if (part?.leader === null || part?.leader === undefined || part.leader.region === 'us-east-1') throw new Error(JSON.stringify(part));
      return true;
    });
    w.heal();
    await w.restartRegion('us-east-1');
    await until('us-east-1 reconciled', async () => (await status('us-east-1')).data.lostWrites.total >= stranded.length);

    const cli = spawnSync(process.execPath, [`${root}bin/meridian.js`, 'data', 'lost-writes', '--config', join(runDir, 'topology.yaml'), '--region', 'us-east-1', '--json'], {
      encoding: 'utf8',
      env: { ...process.env, MERIDIAN_MESH_SECRET: w.secret },
      timeout: 30_000,
    });
    assert.equal(cli.status, 0, cli.stderr);
    const listed = (JSON.parse(cli.stdout) as { region: string; writes: { table: string; key: string; acknowledged: boolean; value: string }[] }[])[0];
    assert.deepEqual(listed?.writes.map((x) => x.key).sort(), stranded);
    assert.ok(listed?.writes.every((x) => x.acknowledged && x.table === 'carts' && x.value.includes('LOST-')));
    // The region's own copy now follows the leader: the stranded rows are not served as if written.
    const back = connect<{ carts: { items: string[] } }>({ url: w.dataUrl('us-east-1'), token: w.appToken, retries: 0 }).table('carts');
    for (const k of stranded) assert.equal(await back.get(k), null, `${k} gave way to the leader's history`);
    assert.deepEqual((await back.get('shipped'))?.value, { items: ['kept'] });
    const text = spawnSync(process.execPath, [`${root}bin/meridian.js`, 'data', 'lost-writes', '--config', join(runDir, 'topology.yaml')], { encoding: 'utf8', env: { ...process.env, MERIDIAN_MESH_SECRET: w.secret }, timeout: 30_000 });
    assert.match(text.stdout, /us-east-1: 3 lost write\(s\)/);
    assert.match(text.stdout, /carts\/cart-a .* acknowledged/);
    // A reconcile's read of the leader is answered only once that leader caught up under
    // the epoch asked about: a region asking about an epoch nobody has led yet is refused.
    // (A leader serving, caught up: with failback the key may be between two holders.)
    const servingLeader = async (): Promise<{ region: string; epoch: number } | null> => {
      for (const id of ['us-east-1', 'us-east-2', 'us-west-2']) {
        const part = (await status(id)).data.leadership?.partitions['us-east-1'];
        if (part?.leader?.region === id && typeof part.serving === 'number') return part.leader;
      }
      return null;
    };
    const deadline = Date.now() + 20_000;
    let leader = await servingLeader();
    while (leader === null) {
      assert.ok(Date.now() < deadline, 'no region serves us-east-1\'s rows');
      await new Promise((r) => setTimeout(r, 100));
      leader = await servingLeader();
    }
    const path = `/data/v1/tables/carts/rows/shipped?consistency=local&home=us-east-1`;
    const ask = async (epoch: number): Promise<{ status: number; body: string }> => {
      const res = await request(`${w.dataUrl(leader.region)}${path}`, { headers: { ...sign(w.secret, 'us-east-1', 'GET', path, Date.now()), [dataFromHeader]: 'us-east-1', [reconcileEpochHeader]: String(epoch) } });
      return { status: res.statusCode, body: await res.body.text() };
    };
    const early = await ask(leader.epoch + 100);
    assert.equal(early.status, 503, early.body);
    assert.match(early.body, /not_caught_up/);
    assert.equal((await ask(leader.epoch)).status, 200, 'the leader caught up under its own epoch answers');
    writeFileSync(join(runDir, 'done'), '');
  });
});
