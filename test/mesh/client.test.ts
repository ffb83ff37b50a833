// The mesh client's time bound: a request and its answer's body are aborted with a
// TimeoutError past timeoutMs (a slow trickle that each chunk's own timeout would allow
// included), and a request answered in time is not disturbed by it.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { regionId } from '../../src/lib/index.js';
import { MeshClient, verify } from '../../src/mesh/index.js';

const secret = 'mesh-client-test-secret-0123456789';

describe('mesh client', () => {
  let server: Server;
  let mesh: MeshClient;
  before(async () => {
    server = createServer((req, res) => {
      const auth = verify(secret, req.headers, req.method ?? 'GET', req.url ?? '/', Date.now());
      if (!auth.ok) return void res.writeHead(401).end();
      if (req.url === '/fast') return void res.writeHead(200, { 'content-type': 'text/plain' }).end(`hello ${auth.from}`);
      if (req.url === '/trickle') {
        // A byte every 40 ms, for 2 s: within any per-chunk timeout, over the whole bound.
        res.writeHead(200, { 'content-type': 'text/plain' });
        let n = 0;
        const t = setInterval(() => {
          if (++n > 50 || res.destroyed) {
            clearInterval(t);
            res.end();
          } else res.write('x');
        }, 40);
        res.on('close', () => clearInterval(t));
        return;
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    mesh = new MeshClient(regionId('us-east-1'), secret, new Map([[regionId('eu-west-1'), { host: '127.0.0.1', port }]]));
  });
  after(async () => {
    await mesh.close();
    await new Promise((r) => server.close(r));
  });

  it('signs a request and hands back the answer', async () => {
    const res = await mesh.request(regionId('eu-west-1'), { method: 'GET', path: '/fast', timeoutMs: 200 });
    assert.equal(res.statusCode, 200);
    assert.equal(await res.body.text(), 'hello us-east-1');
    // Past the bound, a request that was answered in time is not aborted after the fact:
    // the next one on the pool goes through as well.
    await new Promise((r) => setTimeout(r, 300));
    const again = await mesh.request(regionId('eu-west-1'), { method: 'GET', path: '/fast', timeoutMs: 200 });
    assert.equal(await again.body.text(), 'hello us-east-1');
  });

  it('aborts an answer whose body trickles past timeoutMs with a TimeoutError', async () => {
    const res = await mesh.request(regionId('eu-west-1'), { method: 'GET', path: '/trickle', timeoutMs: 300 });
    // Rejected, not resolved: the body (2 s of it) was cut at the bound.
    await assert.rejects(res.body.text(), (e: Error) => e.name === 'TimeoutError' && /over 300 ms/.test(e.message));
  });
});
