// Failover end to end, over real processes: a local world of three US regions (WAN
// emulator, embedded coordinator in the supervisor) whose `accounts` table is homed per
// row with survive: region. Under a write load of rows homed in us-east-1, sent through
// us-west-2 as an application there would, the us-east-1 node is SIGKILLed. Its
// synchronous follower must take the lease with the next epoch and serve; afterwards
// every acknowledged write must be in every surviving region's store (the client's
// history compared with the SQLite files). The takeover time is printed, not asserted:
// timings do not decide tests (bench/data measures it).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { connect, MeridianDataError } from '../../src/data/client/index.js';
import { Store } from '../../src/store/index.js';
import { World } from '../../src/world/index.js';
import { usWorldTopology, worldRun } from './us-world.js';

const octet = 48;
function topology(): string {
  return usWorldTopology(octet, { durability: 'fsync', tables: { accounts: { locality: 'home', home_from: 'client', consistency: 'strong', survive: 'region' }, catalog: { locality: 'global', writes: 'primary' } } });
}

interface Attempt {
  key: string;
  value: number;
  startedMs: number;
  outcome: 'acked' | 'failed' | 'unknown';
  endedMs: number;
}

describe('failover of a survive: region partition (real processes)', () => {
  const run = worldRun('meridian-failover-');
  const runDir = run.runDir;
  let world: World | undefined;

  it('the synchronous follower serves after the home is killed, and no acknowledged write is lost', async () => {
    world = run.world = new World({ topologyYaml: topology(), users: 0, seed: 7, runDir, relayOctet: octet + 1 });
    await world.start();
    const status = async (id: string): Promise<{ data: { leadership: { partitions: Record<string, { leader: { region: string; epoch: number } | null; serving: number | false }> } | null } }> =>
      (await world!.nodeRequest(id, '/status', 2000)).body as never;
    const deadline = Date.now() + 20_000;
    while ((await status('us-east-1').catch(() => null))?.data.leadership?.partitions['us-east-1']?.serving === undefined || (await status('us-east-1')).data.leadership?.partitions['us-east-1']?.serving === false) {
      assert.ok(Date.now() < deadline, 'us-east-1 never led its own partition');
      await new Promise((r) => setTimeout(r, 100));
    }
    const epochBefore = (await status('us-east-1')).data.leadership?.partitions['us-east-1']?.leader?.epoch ?? 0;

    const db = connect<{ accounts: { n: number; pad: string } }>({ url: world.dataUrl('us-west-2'), token: world.appToken, timeoutMs: 2000, retries: 4, backoffBaseMs: 100, backoffMaxMs: 500 }).table('accounts');
    const history: Attempt[] = [];
    let n = 0;
    let stop = false;
    let killedMs = 0;
    const writer = async (): Promise<void> => {
      while (!stop) {
        const value = n++;
        const a: Attempt = { key: `acct-${value}`, value, startedMs: Date.now(), outcome: 'unknown', endedMs: 0 };
        history.push(a);
        try {
          const row = await db.put(a.key, { n: value, pad: 'x'.repeat(64) }, { home: 'us-east-1' });
          assert.equal(row.home, 'us-east-1');
          a.outcome = 'acked';
        } catch (e) {
          // A refusal the client knows had no effect vs. one that might have: only
          // acknowledged writes are promised.
          a.outcome = e instanceof MeridianDataError && e.status >= 400 && e.status < 500 ? 'failed' : 'unknown';
        }
        a.endedMs = Date.now();
      }
    };
    const writers = Array.from({ length: 8 }, () => writer());
    let firstAfter: number;
    try {
      const loadDeadline = Date.now() + 30_000;
      while (history.filter((h) => h.outcome === 'acked').length < 200) {
        assert.ok(Date.now() < loadDeadline, `only ${history.filter((h) => h.outcome === 'acked').length} writes acknowledged before the kill`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const leaderWrites = ((await world.nodeRequest('us-east-1', '/status', 2000)).body as { data: { writes: { syncReplicated: number } } }).data.writes;
      assert.ok(leaderWrites.syncReplicated >= 200, `every acknowledged write went through the synchronous follower first (${leaderWrites.syncReplicated})`);
      // ... and each copy's time (and the disk's) is in /metrics, as an operator reads it.
      const metrics = String((await world.nodeRequest('us-east-1', '/metrics', 2000)).body);
      // Summed over followers: until us-east-1 has seen us-east-2 up (its health probes),
      // the first copies may go to us-west-2, the next allowed region.
      const perFollower = [...metrics.matchAll(/^meridian_sync_replication_seconds_count\{[^}]*follower="([^"]+)"[^}]*\} (\d+)$/gm)].map((m) => [m[1], Number(m[2])] as const);
      const copies = perFollower.reduce((sum, [, c]) => sum + c, 0);
      assert.ok(copies >= 200, `synchronous copies timed per follower in /metrics: ${JSON.stringify(perFollower)}`);
      assert.ok(perFollower.some(([f, c]) => f === 'us-east-2' && c > 0), `copies to us-east-2, the synchronous follower: ${JSON.stringify(perFollower)}`);
      assert.ok(Number(/^meridian_store_fsync_seconds_count\{[^}]*\} (\d+)$/m.exec(metrics)?.[1] ?? 0) > 0, 'the WAL fsyncs are timed in /metrics');
      killedMs = Date.now();
      await world.killRegion('us-east-1');
      // keep writing until writes started after the kill are acknowledged again
      const resumeDeadline = Date.now() + 20_000;
      while (!history.some((h) => h.outcome === 'acked' && h.startedMs > killedMs + 50)) {
        assert.ok(Date.now() < resumeDeadline, 'writes to us-east-1\'s rows never resumed after the kill');
        await new Promise((r) => setTimeout(r, 20));
      }
      firstAfter = Math.min(...history.filter((h) => h.outcome === 'acked' && h.startedMs > killedMs + 50).map((h) => h.endedMs));
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      // however the test ends, the writers stop (else the process never exits)
      stop = true;
      await Promise.all(writers);
    }

    const after = await status('us-east-2');
    const part = after.data.leadership?.partitions['us-east-1'];
    assert.equal(part?.leader?.region, 'us-east-2', 'the synchronous follower leads');
    assert.ok((part?.leader?.epoch ?? 0) > epochBefore, 'with the next epoch');
    console.log(`# takeover: first write acknowledged ${firstAfter - killedMs} ms after the SIGKILL (lease TTL 1 s, detection included); ${history.filter((h) => h.outcome === 'acked').length} writes acknowledged, ${history.filter((h) => h.outcome === 'unknown').length} unknown`);

    // The primary (writes: primary) is promoted the same way: kill it, and the next region
    // in its failover order takes the lease and accepts the writes.
    const catalog = connect<{ catalog: { title: string } }>({ url: world.dataUrl('us-east-2'), token: world.appToken, timeoutMs: 2000, retries: 0 }).table('catalog');
    assert.equal((await catalog.put('before', { title: 'x' })).region, 'us-west-2');
    await world.killRegion('us-west-2');
    const promoteDeadline = Date.now() + 20_000;
    let promoted: string | undefined;
    while (promoted === undefined) {
      assert.ok(Date.now() < promoteDeadline, 'no region was promoted to primary');
      try {
        promoted = (await catalog.put('after', { title: 'y' })).region;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    assert.equal(promoted, 'us-east-2', 'the standby took the primary lease');

    await world.stop();
    world = run.world = undefined;
    const acked = history.filter((h) => h.outcome === 'acked');
    for (const id of ['us-east-2', 'us-west-2']) {
      const store = new Store({ path: join(runDir, id, 'data', `${id}.db`), region: id, mayStore: () => true, synchronous: 'normal', maxClockOffsetMs: 500 });
      const missing = acked.filter((h) => store.get('accounts', h.key)?.value !== JSON.stringify({ n: h.value, pad: 'x'.repeat(64) }));
      store.close();
      assert.deepEqual(missing.map((h) => h.key).slice(0, 10), [], `${missing.length} of ${acked.length} acknowledged writes missing in ${id}`);
    }
  });
});
