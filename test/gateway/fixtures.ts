// Two region nodes in this process with apps that misbehave on purpose.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { pino } from 'pino';
import { request } from 'undici';
import { stringify } from 'yaml';
import { GeoLocator } from '../../src/geo/index.js';
import { regionId } from '../../src/lib/index.js';
import { RegionNode } from '../../src/node/index.js';
import { parseTopology, type Topology } from '../../src/topology/index.js';

export const secret = 'gateway-test-secret-0123456789';

export function topology(octet: number, extra: Record<string, unknown> = {}): Topology {
  const r = parseTopology(stringify({
    service: { name: 'shop', zone: 'shop.example.test', hosts: ['www'] },
    regions: [
      { id: 'us-east-1', jurisdiction: 'us', public: `127.${octet}.1.1`, mesh: `127.${octet}.1.1:7070`, app: `http://127.${octet}.1.1:9000` },
      { id: 'eu-west-1', jurisdiction: 'eu', public: `127.${octet}.2.1`, mesh: `127.${octet}.2.1:7070`, app: `http://127.${octet}.2.1:9000` },
    ],
    health: { interval: '200ms', timeout: '150ms', down_after: 2, up_after: 2 },
    cache: { max_size: '4MB', rules: [{ match: '/rule/**', default_ttl: '1m' }] },
    gateway: {
      max_header_size: '8KiB', max_body_size: '256KiB', replay_max_body: '16KiB',
      header_timeout: '1s', request_timeout: '3s', upstream_timeout: '1s',
      home: { paths: [{ match: '/eu/**', region: 'eu-west-1' }] },
    },
    ...extra,
  }));
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.topology;
}

export interface AppLog { method: string; url: string; body: string; headers: IncomingMessage['headers'] }

/** The test app: each path is a behaviour. */
export async function startApp(host: string, region: string, log: AppLog[]): Promise<Server> {
  let counter = 0;
  const s = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = req.url ?? '/';
      log.push({ method: req.method ?? '', url, body: Buffer.concat(chunks).toString(), headers: req.headers });
      const send = (status: number, headers: Record<string, string>, body: string | Buffer): void => {
        res.writeHead(status, { 'content-length': String(Buffer.byteLength(body)), 'x-app-region': region, ...headers });
        res.end(body);
      };
      if (url === '/healthz') return send(200, {}, 'ok');
      if (url.startsWith('/cached')) return send(200, { 'cache-control': 'public, max-age=60', 'surrogate-key': 'catalog item-1' }, `${region} ${++counter}`);
      if (url.startsWith('/rule/')) return send(200, {}, `${region} rule ${++counter}`);
      if (url.startsWith('/private')) return send(200, { 'cache-control': 'private, max-age=60' }, `${region} private ${++counter}`);
      if (url.startsWith('/replay-to-eu')) return region === 'eu-west-1' ? send(200, {}, `eu got ${req.method} ${Buffer.concat(chunks).toString()}`) : send(409, { 'meridian-replay': 'region=eu-west-1' }, 'not here');
      if (url.startsWith('/replay-loop')) return send(409, { 'meridian-replay': `region=${region === 'us-east-1' ? 'eu-west-1' : 'us-east-1'}` }, 'not here either');
      if (url.startsWith('/hang')) return; // never answers
      if (url.startsWith('/reset') && region === 'us-east-1') return req.socket.destroy();
      if (url.startsWith('/big')) {
        res.writeHead(200, { 'cache-control': 'public, max-age=60', 'content-type': 'application/octet-stream' });
        let left = 6 * 1024 * 1024;
        const chunk = Buffer.alloc(64 * 1024, 120);
        const pump = (): void => {
          while (left > 0) {
            left -= chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end();
        };
        return pump();
      }
      return send(200, { 'content-type': 'application/json' }, JSON.stringify({ region, url, method: req.method }));
    });
  });
  // A bare-bones upgrade: 101, then echo every byte back, upper-cased.
  const upgraded = new Set<Duplex>();
  upgradedBy.set(s, upgraded);
  s.on('upgrade', (req, socket) => {
    upgraded.add(socket);
    log.push({ method: 'UPGRADE', url: req.url ?? '/', body: '', headers: req.headers });
    socket.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: echo\r\nconnection: upgrade\r\n\r\n');
    socket.on('data', (d: Buffer) => socket.write(d.toString().toUpperCase()));
  });
  await new Promise<void>((r) => s.listen(9000, host, r));
  return s;
}

/** Upgraded sockets are no longer the server's to close: the fixture ends them. */
const upgradedBy = new WeakMap<Server, Set<Duplex>>();

export async function stop(s: Server): Promise<void> {
  s.closeAllConnections();
  for (const u of upgradedBy.get(s) ?? []) u.destroy();
  await new Promise<void>((r) => s.close(() => r()));
}

const geo = new GeoLocator();

export function node(t: Topology, id: string): RegionNode {
  return new RegionNode({ topology: t, region: regionId(id), meshSecret: secret, httpPort: 8080, dnsPort: 5353, roles: ['gateway'], drainTimeoutMs: 500, logger: pino({ level: 'silent' }), geo });
}

/** Both regions of topology(octet) with their apps, in this process; stop() ends them all. */
export function twoRegions(t: Topology, octet: number): { usLog: AppLog[]; euLog: AppLog[]; start(): Promise<void>; stop(): Promise<void> } {
  const usLog: AppLog[] = [];
  const euLog: AppLog[] = [];
  let apps: Server[] = [];
  let nodes: RegionNode[] = [];
  return {
    usLog,
    euLog,
    async start() {
      apps = [await startApp(`127.${octet}.1.1`, 'us-east-1', usLog), await startApp(`127.${octet}.2.1`, 'eu-west-1', euLog)];
      nodes = [node(t, 'us-east-1'), node(t, 'eu-west-1')];
      for (const n of nodes) await n.start();
    },
    async stop() {
      await Promise.all(nodes.map((n) => n.stop()));
      await Promise.all(apps.map((a) => stop(a).catch(() => undefined)));
    },
  };
}

export async function get(host: string, path: string, init: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}) {
  const res = await request(`http://${host}:8080${path}`, { method: (init.method ?? 'GET') as 'GET', headers: init.headers ?? {}, body: init.body ?? null });
  const body = Buffer.from(await res.body.arrayBuffer());
  const h = (k: string): string | undefined => {
    const v = res.headers[k];
    return Array.isArray(v) ? v[0] : v;
  };
  /** Every line of a field: a field the gateway wrote twice shows as two. */
  const all = (k: string): string[] => {
    const v = res.headers[k];
    return v === undefined ? [] : Array.isArray(v) ? v : [v];
  };
  return { status: res.statusCode, h, all, text: body.toString(), bytes: body.length };
}

/** Raw bytes over a socket: what undici will not send. Resolves with what came back. */
export function raw(host: string, bytes: string, waitMs = 1500): Promise<string> {
  return new Promise((resolve) => {
    const c = connect(8080, host, () => c.write(bytes));
    let data = '';
    c.on('data', (d) => (data += d.toString()));
    c.on('error', () => undefined);
    const done = (): void => resolve(data);
    c.on('close', done);
    setTimeout(() => { c.destroy(); done(); }, waitMs);
  });
}

export async function admin(host: string, path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await request(`http://${host}:7070${path}`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
