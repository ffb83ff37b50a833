import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { request } from 'undici';
import { stringify } from 'yaml';
import { meridian, root } from './run.js';

const dir = mkdtempSync(join(tmpdir(), 'meridian-node-'));
const dataDir = join(dir, 'data');
const config = join(dir, 'one.yaml');
writeFileSync(config, stringify({
  service: { name: 'shop', zone: 'shop.example.test' },
  regions: [{ id: 'us-east-1', public: '127.33.1.1', mesh: '127.33.1.1:7070', app: 'http://127.33.1.1:9000' }],
}));

describe('meridian node (the command)', () => {
  it('refuses to start without the mesh secret, saying which variable to set', () => {
    const r = meridian(['node', '--config', config, '--region', 'us-east-1'], { MERIDIAN_MESH_SECRET: '' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /set MERIDIAN_MESH_SECRET/);
  });
  it('refuses an unknown region and a bad flag', () => {
    const env = { MERIDIAN_MESH_SECRET: 'x'.repeat(32) };
    assert.match(meridian(['node', '--config', config, '--region', 'mars-1'], env).stderr, /unknown region "mars-1"/);
    assert.match(meridian(['node', '--config', config, '--region', 'us-east-1', '--roles', 'dns,cache'], env).stderr, /unknown role "cache"/);
    assert.match(meridian(['node', '--config', config, '--region', 'us-east-1', '--http-port', 'http'], env).stderr, /is not a port/);
  });
  it('serves, then on SIGTERM stops accepting and exits 0 within 5 s', async () => {
    const child = spawn(process.execPath, [`${root}bin/meridian.js`, 'node', '--config', config, '--region', 'us-east-1', '--http-port', '18080', '--dns-port', '15353', '--data-dir', dataDir], {
      env: { ...process.env, MERIDIAN_MESH_SECRET: 'y'.repeat(32), MERIDIAN_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    // Ready when the mesh answers (401 without credentials is an answer).
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        const res = await request('http://127.33.1.1:7070/healthz');
        await res.body.dump();
        assert.equal(res.statusCode, 401);
        break;
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    // The gateway answers even with the app absent: a JSON 503 with a reason.
    const gw = await request('http://127.33.1.1:18080/');
    assert.equal(gw.statusCode, 503);
    assert.equal((await gw.body.json() as { error: string }).error, 'no_healthy_region');
    const t0 = Date.now();
    child.kill('SIGTERM');
    const code = await exited;
    assert.equal(code, 0);
    assert.ok(Date.now() - t0 < 5000, `exited in ${Date.now() - t0} ms`);
    await assert.rejects(request('http://127.33.1.1:7070/healthz'), 'no longer accepting');
  });
});
