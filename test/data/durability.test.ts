// A node killed with SIGKILL in the middle of a write load keeps every write it
// acknowledged: the real `meridian node` process, fsync durability, then the store files
// opened again after the kill.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { stringify } from 'yaml';
import { Store } from '../../src/store/index.js';
import { root } from '../cli/run.js';

const host = '127.45.1.1';
const token = 'durability-token-0123456789';

describe('durability', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meridian-kill-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps every acknowledged write after SIGKILL under load', async () => {
    const config = join(dir, 'one.yaml');
    writeFileSync(config, stringify({
      service: { name: 'shop', zone: 'shop.example.test', hosts: ['www'] },
      regions: [{ id: 'us-east-1', jurisdiction: 'us', public: host, mesh: `${host}:7070`, app: `http://${host}:9000` }],
      node: { roles: [] },
      data: { durability: 'fsync', tables: { prefs: { locality: 'global', writes: 'anywhere' }, views: { locality: 'global', type: 'counter' } } },
    }));
    const child = spawn(process.execPath, [`${root}bin/meridian.js`, 'node', '--config', config, '--region', 'us-east-1', '--data-dir', join(dir, 'data')], {
      env: { ...process.env, MERIDIAN_MESH_SECRET: 's'.repeat(32), MERIDIAN_APP_TOKEN: token, MERIDIAN_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    const agent = new Agent({ connections: 64 });
    const call = async (method: 'PUT' | 'POST', path: string, body: unknown): Promise<number> => {
      const res = await request(`http://${host}:7070/data/v1${path}`, { method, dispatcher: agent, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      await res.body.dump();
      return res.statusCode;
    };
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        if ((await call('PUT', '/tables/prefs/rows/ready', 1)) === 200) break;
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }

    const acked = new Set<number>();
    let incrementsAcked = 0;
    let incrementsSent = 0;
    let next = 0;
    let killed = false;
    const worker = async (): Promise<void> => {
      while (!killed) {
        const i = next++;
        try {
          if (i % 4 === 3) {
            incrementsSent++;
            if ((await call('POST', '/tables/views/rows/total/increment', { by: 1 })) === 200) incrementsAcked++;
          } else if ((await call('PUT', `/tables/prefs/rows/k${i}`, { i, pad: 'p'.repeat(200) })) === 200) acked.add(i);
        } catch {
          // the kill: requests in flight fail; they were not acknowledged
        }
      }
    };
    const workers = Array.from({ length: 48 }, () => worker());
    // Kill once a good number of writes have been acknowledged, in the middle of the load.
    while (acked.size < 1500) await new Promise((r) => setTimeout(r, 10));
    child.kill('SIGKILL');
    killed = true;
    await Promise.all(workers);
    await exited;
    await agent.close();

    const store = new Store({ path: join(dir, 'data', 'us-east-1.db'), region: 'us-east-1', mayStore: () => true, synchronous: 'full', maxClockOffsetMs: 500 });
    const missing = [...acked].filter((i) => store.get('prefs', `k${i}`)?.value !== JSON.stringify({ i, pad: 'p'.repeat(200) }));
    const total = store.counter('views', 'total').value;
    const logged = store.lastSeq();
    store.close();
    assert.deepEqual(missing.slice(0, 10), [], `${missing.length} of ${acked.size} acknowledged writes missing after SIGKILL`);
    assert.ok(total >= incrementsAcked && total <= incrementsSent, `counter ${total}: acknowledged ${incrementsAcked}, sent ${incrementsSent}`);
    assert.ok(logged >= acked.size + incrementsAcked, 'every acknowledged write is in the change log too');
  });
});
