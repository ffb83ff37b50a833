// The embedded coordinator over loopback: the shared contract, authentication, timeouts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Socket } from 'node:net';
import { request } from 'undici';
import { CoordTimeout, CoordUnavailable, EmbeddedCoordinator, EmbeddedCoordServer } from '../../src/coord/index.js';
import { sign } from '../../src/mesh/index.js';
import { coordinatorContract } from './contract.js';

const secret = 'a-test-mesh-secret-of-some-length';

coordinatorContract('embedded (loopback HTTP, fake lease clock)', async () => {
  let nowMs = 0;
  const server = new EmbeddedCoordServer({ host: '127.0.0.1', port: 0, secret, clock: () => nowMs });
  const address = await server.start();
  const a = new EmbeddedCoordinator({ address, secret, from: 'us-east-1', watchWaitMs: 500 });
  const b = new EmbeddedCoordinator({ address, secret, from: 'eu-west-1', watchWaitMs: 500 });
  return {
    a,
    b,
    passTime: async (ms) => {
      nowMs += ms;
      server.expireNow();
    },
    close: async () => {
      await Promise.all([a.close(), b.close()]);
      await server.close();
    },
  };
});

describe('embedded coordinator server', () => {
  let server: EmbeddedCoordServer;
  let url: string;
  before(async () => {
    server = new EmbeddedCoordServer({ host: '127.0.0.1', port: 0, secret });
    const a = await server.start();
    url = `http://${a.host}:${a.port}`;
  });
  after(() => server.close());

  it('answers 401 to a request without the mesh signature, and to a wrong one', async () => {
    const body = JSON.stringify({ key: 'k' });
    const bare = await request(`${url}/coord/v1/get`, { method: 'POST', body });
    assert.equal(bare.statusCode, 401);
    await bare.body.dump();
    const forged = await request(`${url}/coord/v1/get`, { method: 'POST', body, headers: sign('another-secret-entirely!', 'us-east-1', 'POST', '/coord/v1/get', Date.now()) });
    assert.equal(forged.statusCode, 401);
    await forged.body.dump();
    const signed = await request(`${url}/coord/v1/get`, { method: 'POST', body, headers: sign(secret, 'us-east-1', 'POST', '/coord/v1/get', Date.now()) });
    assert.equal(signed.statusCode, 200);
    assert.deepEqual(await signed.body.json(), { kind: 'record', record: null, revision: 0 });
  });

  it('a client with the wrong secret gets CoordUnavailable saying so', async () => {
    const [host, port] = url.slice('http://'.length).split(':');
    const c = new EmbeddedCoordinator({ address: { host: host as string, port: Number(port) }, secret: 'wrong-secret-wrong-secret', from: 'x' });
    await assert.rejects(c.get('k'), (e) => e instanceof CoordUnavailable && /signature/.test(e.message));
    await c.close();
  });

  it('bad requests are 400 with a reason, not a crash', async () => {
    const body = JSON.stringify({ checks: [], puts: [{ key: '', value: 1 }], deletes: [] });
    const r = await request(`${url}/coord/v1/commit`, { method: 'POST', body, headers: sign(secret, 'x', 'POST', '/coord/v1/commit', Date.now()) });
    assert.equal(r.statusCode, 400);
    assert.equal(((await r.body.json()) as { failure: { code: string } }).failure.code, 'bad-request');
  });

  it('expires leases on its own timer with the real clock', async () => {
    const [host, port] = url.slice('http://'.length).split(':');
    const c = new EmbeddedCoordinator({ address: { host: host as string, port: Number(port) }, secret, from: 'x' });
    const l = await c.grantLease(100);
    await c.commit({ checks: [], puts: [{ key: 'timer/k', value: 'v', lease: l.id }], deletes: [] });
    const woke: string[] = [];
    const w = await c.watch('timer/', { onEvent: (e) => woke.push(e.kind) });
    const deadline = Date.now() + 3000;
    while (woke.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await w.cancel();
    assert.deepEqual(woke, ['delete'], 'the watcher learns of the expiry without polling for it');
    await c.close();
  });

  it('a call to a coordinator that does not answer times out as CoordTimeout, one that is gone as CoordUnavailable', async () => {
    const { createServer } = await import('node:net');
    const held = new Set<Socket>();
    const silent = createServer((s) => held.add(s)); // accepts, never answers
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    const c = new EmbeddedCoordinator({ address: { host: '127.0.0.1', port }, secret, from: 'x', callTimeoutMs: 150 });
    const t0 = Date.now();
    await assert.rejects(c.get('k'), CoordTimeout);
    assert.ok(Date.now() - t0 < 2000);
    await c.close();
    for (const s of held) s.destroy();
    await new Promise<void>((r) => silent.close(() => r()));
    const gone = new EmbeddedCoordinator({ address: { host: '127.0.0.1', port }, secret, from: 'x', callTimeoutMs: 500 });
    await assert.rejects(gone.get('k'), CoordUnavailable);
    await gone.close();
  });
});
