import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import dnsPacket from 'dns-packet';
import { createSocket } from 'node:dgram';
import { request as httpRequest, type Server } from 'node:http';
import { request } from 'undici';
import { tickObjectKept } from '../../src/lib/index.js';
import { sign } from '../../src/mesh/index.js';
import type { RegionNode } from '../../src/node/index.js';
import { makeNode, secret, sleep, startApp, stopServer, twoRegionTopology, until } from './fixtures.js';

const octet = 31;
const us = `127.${octet}.1.1`;
const eu = `127.${octet}.2.1`;

async function dnsA(server: string, ecsIp: string): Promise<{ addresses: string[]; ttl: number; scope: number | undefined }> {
  const sock = createSocket('udp4');
  const q = dnsPacket.encode({
    type: 'query', id: 7, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name: 'www.shop.example.test' }],
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, extendedRcode: 0, ednsVersion: 0, flag_do: false, options: [{ code: 8, family: 1, sourcePrefixLength: 24, scopePrefixLength: 0, ip: ecsIp }] }],
  });
  const reply = await new Promise<Buffer>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('dns timeout')), 2000);
    sock.once('message', (m) => { clearTimeout(timer); resolve(m); });
    sock.send(q, 5353, server);
  });
  sock.close();
  const p = dnsPacket.decode(reply);
  const answers = (p.answers ?? []).filter((a): a is dnsPacket.StringAnswer => a.type === 'A');
  const opt = (p.additionals ?? []).find((a) => a.type === 'OPT') as dnsPacket.OptAnswer | undefined;
  const ecs = opt?.options.find((o) => o.code === 8) as { scopePrefixLength?: number } | undefined;
  return { addresses: answers.map((a) => a.data), ttl: answers[0]?.ttl ?? -1, scope: ecs?.scopePrefixLength };
}

/** node:http, not undici: undici will not send a Connection header naming other headers. */
function rawGet(host: string, path: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host, port: 8080, path, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function get(host: string, path = '/api/x', headers: Record<string, string> = {}) {
  const res = await request(`http://${host}:8080${path}`, { headers });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: (): Record<string, unknown> => JSON.parse(text) as Record<string, unknown> };
}

async function mesh(host: string, path: string, headers: Record<string, string> = {}) {
  const res = await request(`http://${host}:7070${path}`, { headers });
  return { status: res.statusCode, text: await res.body.text(), type: res.headers['content-type'] };
}

describe('region node: gateway, DNS, mesh, health', () => {
  const t = twoRegionTopology(octet);
  let apps: Server[] = [];
  let nodes: RegionNode[] = [];

  before(async () => {
    apps = [await startApp(us, 'us-east-1'), await startApp(eu, 'eu-west-1')];
    nodes = [makeNode(t, 'us-east-1'), makeNode(t, 'eu-west-1')];
    for (const n of nodes) await n.start();
  });
  after(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await Promise.all(apps.map((a) => stopServer(a).catch(() => undefined)));
  });

  it('proxies to the local app with x-meridian-region, x-meridian-route, server-timing and forwarding headers', async () => {
    const raw = await rawGet(us, '/api/hello', { connection: 'keep-alive, x-secret-hop', 'x-secret-hop': 'drop me' });
    const r = { ...raw, json: (): Record<string, unknown> => JSON.parse(raw.text) as Record<string, unknown> };
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-meridian-region'], 'us-east-1');
    assert.equal(r.headers['x-meridian-route'], 'local: app up');
    assert.match(String(r.headers['server-timing']), /^gateway;dur=[\d.]+;desc="us-east-1", upstream;dur=[\d.]+$/);
    const body = r.json();
    assert.equal(body.region, 'us-east-1');
    assert.equal(body.xff, '127.0.0.1');
    assert.match(String(body.forwarded), /^for=127\.0\.0\.1;proto=http;host="127\.31\.1\.1:8080"$/);
    assert.equal(body.hop, null, 'a header named by the request Connection header is not forwarded');
    assert.equal(r.headers['x-app-hop'], undefined, 'a header named by the response Connection header is dropped');
    assert.equal(r.headers['x-app-region'], 'us-east-1', 'end-to-end headers pass');
  });

  it("keeps one nextTick queue entry alive from start() on (V8's fast path after idle: src/lib/tick-shape.ts)", () => {
    assert.equal(tickObjectKept(), true);
  });

  it('refuses mesh requests without valid credentials with 401', async () => {
    const none = await mesh(us, '/status');
    assert.equal(none.status, 401);
    assert.match(none.text, /"error":"unauthenticated"/);
    assert.equal((await mesh(us, '/healthz', { authorization: 'Bearer wrong' })).status, 401);
    const forged = sign('another-secret-xxxxxxxxxxxx', 'eu-west-1', 'GET', '/status', Date.now());
    assert.equal((await mesh(us, '/status', forged)).status, 401);
    const replayedElsewhere = sign(secret, 'eu-west-1', 'GET', '/healthz', Date.now());
    assert.equal((await mesh(us, '/status', replayedElsewhere)).status, 401, 'a signature is bound to its path');
    const stale = sign(secret, 'eu-west-1', 'GET', '/status', Date.now() - 10 * 60_000);
    assert.equal((await mesh(us, '/status', stale)).status, 401, 'an old signature is refused');
    // A forwarded user request without credentials is refused too: the mesh is not an open proxy.
    assert.equal((await mesh(us, '/api/x', { 'x-meridian-forwarded-from': 'eu-west-1' })).status, 401);
  });

  it('serves /healthz, /status and /metrics to authenticated callers', async () => {
    const h = await mesh(us, '/healthz', sign(secret, 'eu-west-1', 'GET', '/healthz', Date.now()));
    assert.equal(h.status, 200);
    const s = await mesh(us, '/status', { authorization: `Bearer ${secret}` });
    assert.equal(s.status, 200);
    const status = JSON.parse(s.text) as { region: string; roles: string[]; version: string; uptimeSec: number; health: Record<string, { up: boolean; role: string }> };
    assert.equal(status.region, 'us-east-1');
    assert.deepEqual(status.roles, ['mesh', 'dns', 'gateway']);
    assert.match(status.version, /^\d+\.\d+\.\d+/);
    assert.equal(typeof status.uptimeSec, 'number');
    assert.deepEqual(Object.keys(status.health).sort(), ['eu-west-1', 'us-east-1']);
    assert.equal(status.health['us-east-1']?.role, 'self');
    const m = await mesh(us, '/metrics', { authorization: `Bearer ${secret}` });
    assert.equal(m.status, 200);
    assert.match(m.text, /meridian_gateway_requests_total\{route="local",code="200",served_by="us-east-1",region="us-east-1"\} \d+/);
    assert.match(m.text, /meridian_region_up\{target="eu-west-1",region="us-east-1"\} 1/);
    assert.match(m.text, /meridian_dns_rate_limited_total\{action="dropped",region="us-east-1"\} 0/);
    assert.match(m.text, /meridian_mesh_auth_failures_total\{reason="no credentials",region="us-east-1"\} \d+/);
  });

  it('answers DNS by the client subnet: London to eu-west-1, Virginia to us-east-1', async () => {
    const london = await dnsA(us, '81.2.69.160');
    assert.deepEqual(london.addresses, [eu]);
    assert.equal(london.ttl, 30);
    assert.equal(london.scope, 24);
    const virginia = await dnsA(eu, '8.8.8.8'); // Google DNS: Mountain View; nearest of the two is us-east-1
    assert.deepEqual(virginia.addresses, [us]);
  });

  it('fails over when the local app dies: forwards over the mesh, and DNS stops sending users there', async () => {
    await stopServer(apps[1] as Server); // eu-west-1's app
    // Even before detection, a refused connection is forwarded: no error for the user.
    const early = await get(eu, '/api/after-kill');
    assert.equal(early.status, 200);
    assert.equal(early.headers['x-meridian-region'], 'us-east-1');
    assert.match(String(early.headers['x-meridian-route']), /^failover: local app (refused the connection|down).*forwarded to us-east-1/);
    assert.match(String(early.headers['server-timing']), /forward;dur=[\d.]+;desc="us-east-1"/);
    // After detection (down_after 2 × 200 ms), every node's view says eu-west-1 is down.
    await until('us-east-1 sees eu-west-1 down', async () => (await dnsA(us, '81.2.69.160')).addresses[0] === us);
    const london = await dnsA(us, '81.2.69.160');
    assert.deepEqual(london.addresses, [us]);
    assert.ok(london.ttl <= 1, `TTL lowered while a region is down (got ${london.ttl})`);
    const late = await get(eu, '/api/later');
    assert.match(String(late.headers['x-meridian-route']), /^failover: local app down; forwarded to us-east-1/);
  });

  it('answers 503 with a JSON reason when no region can serve', async () => {
    await stopServer(apps[0] as Server);
    await until('us-east-1 app down', async () => (await get(us, '/x')).status === 503, 5000);
    const r = await get(us, '/x');
    assert.equal(r.status, 503);
    assert.equal(r.headers['content-type'], 'application/json');
    const body = r.json();
    assert.equal(body.error, 'no_healthy_region');
    assert.match(String(body.reason), /local app (down|refused)/);
    // The apps come back: the detector needs up_after good probes.
    apps = [await startApp(us, 'us-east-1'), await startApp(eu, 'eu-west-1')];
    await until('both apps up again', async () => (await dnsA(us, '81.2.69.160')).addresses[0] === eu, 5000);
    await sleep(10);
    assert.equal((await get(eu)).headers['x-meridian-region'], 'eu-west-1');
  });
});
