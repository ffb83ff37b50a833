// Two region nodes in this process on their own loopback addresses, with tiny apps.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { stringify } from 'yaml';
import { pino } from 'pino';
import { GeoLocator } from '../../src/geo/index.js';
import { regionId } from '../../src/lib/index.js';
import { RegionNode } from '../../src/node/index.js';
import { parseTopology, type Topology } from '../../src/topology/index.js';

export const secret = 'test-secret-0123456789abcdef';

export function twoRegionTopology(octet: number): Topology {
  const file = {
    service: { name: 'shop', zone: 'shop.example.test', hosts: ['www'] },
    regions: [
      { id: 'us-east-1', jurisdiction: 'us', public: `127.${octet}.1.1`, mesh: `127.${octet}.1.1:7070`, app: `http://127.${octet}.1.1:9000` },
      { id: 'eu-west-1', jurisdiction: 'eu', public: `127.${octet}.2.1`, mesh: `127.${octet}.2.1:7070`, app: `http://127.${octet}.2.1:9000` },
    ],
    routing: { ttl: '30s' },
    health: { interval: '200ms', timeout: '150ms', down_after: 2, up_after: 2 },
  };
  const r = parseTopology(stringify(file));
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.topology;
}

export async function startApp(host: string, region: string): Promise<Server> {
  const s = createServer((req, res) => {
    const body = JSON.stringify({ region, path: req.url, xff: req.headers['x-forwarded-for'] ?? null, forwarded: req.headers.forwarded ?? null, connection: req.headers.connection ?? null, hop: req.headers['x-secret-hop'] ?? null });
    res.writeHead(200, { 'content-type': 'application/json', 'x-app-region': region, 'x-app-hop': 'hop-by-hop', connection: 'keep-alive, x-app-hop' });
    res.end(body);
  });
  await new Promise<void>((r) => s.listen(9000, host, r));
  return s;
}

export async function stopServer(s: Server): Promise<void> {
  s.closeAllConnections();
  await new Promise<void>((r) => s.close(() => r()));
}

const geo = new GeoLocator();

export function makeNode(t: Topology, id: string): RegionNode {
  return new RegionNode({
    topology: t,
    region: regionId(id),
    meshSecret: secret,
    httpPort: 8080,
    dnsPort: 5353,
    roles: ['dns', 'gateway'],
    drainTimeoutMs: 1000,
    logger: pino({ level: 'silent' }),
    geo,
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function until(what: string, f: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await f()) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

export function portOf(s: Server): number {
  return (s.address() as AddressInfo).port;
}
