// Three region nodes in this process (us-east-1, eu-west-1, eu-central-1; eu strict) with
// the five table kinds, on 127.<octet>.i.1, and a tiny client for their data API.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { pino } from 'pino';
import { request } from 'undici';
import { stringify } from 'yaml';
import { GeoLocator } from '../../src/geo/index.js';
import { regionId } from '../../src/lib/index.js';
import { RegionNode } from '../../src/node/index.js';
import { parseTopology, type Topology } from '../../src/topology/index.js';

export const secret = 'test-secret-0123456789abcdef';
export const token = 'app-token-0123456789abcdef';

export const regionsOf = (octet: number) => ({
  us: `127.${octet}.1.1`,
  euWest: `127.${octet}.2.1`,
  euCentral: `127.${octet}.3.1`,
});

export function dataTopology(octet: number, extra: Record<string, unknown> = {}): Topology {
  const file = {
    service: { name: 'shop', zone: 'shop.example.test', hosts: ['www'] },
    regions: [
      { id: 'us-east-1', jurisdiction: 'us', public: `127.${octet}.1.1`, mesh: `127.${octet}.1.1:7070`, app: `http://127.${octet}.1.1:9000` },
      { id: 'eu-west-1', jurisdiction: 'eu', public: `127.${octet}.2.1`, mesh: `127.${octet}.2.1:7070`, app: `http://127.${octet}.2.1:9000` },
      { id: 'eu-central-1', jurisdiction: 'eu', public: `127.${octet}.3.1`, mesh: `127.${octet}.3.1:7070`, app: `http://127.${octet}.3.1:9000` },
    ],
    deployment: { model: 'active-active', primary: 'us-east-1' },
    // Generous: these tests never wait for a detection, and a loaded CI machine must not
    // make a region look down.
    health: { interval: '500ms', timeout: '450ms', down_after: 4, up_after: 1 },
    node: { roles: [] },
    data: {
      durability: 'process',
      residency: { eu: 'strict' },
      tables: {
        accounts: { locality: 'home', home_from: 'client', consistency: 'strong', survive: 'zone' },
        carts: { locality: 'home', home_from: 'field:region', consistency: 'strong', survive: 'zone' },
        catalog: { locality: 'global', writes: 'primary' },
        prefs: { locality: 'global', writes: 'anywhere' },
        views: { locality: 'global', type: 'counter' },
      },
      ...extra,
    },
  };
  const r = parseTopology(stringify(file));
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.topology;
}

const geo = new GeoLocator();

export function makeDataNode(t: Topology, id: string, dataDir: string): RegionNode {
  return new RegionNode({
    topology: t,
    region: regionId(id),
    meshSecret: secret,
    appToken: token,
    httpPort: 8080,
    dnsPort: 5353,
    roles: [],
    drainTimeoutMs: 500,
    logger: pino({ level: 'silent' }),
    geo,
    dataDir,
  });
}

export function tempDir(): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), 'meridian-data-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export interface Reply {
  status: number;
  servedBy: string | undefined;
  body: Record<string, unknown>;
}

/** One call to a node's data API with the app token (or the headers given). */
export async function api(host: string, method: 'GET' | 'PUT' | 'DELETE' | 'POST', path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await request(`http://${host}:7070/data/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { 'content-type': 'application/json' }), ...headers },
    ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.body.text();
  const servedBy = res.headers['x-meridian-served-by'];
  return { status: res.statusCode, servedBy: typeof servedBy === 'string' ? servedBy : undefined, body: JSON.parse(text) as Record<string, unknown> };
}

/** Three data nodes (us-east-1, eu-west-1, eu-central-1) started before a suite's tests
 *  and stopped after them; the array is filled once they are up. */
export function threeDataNodes(t: Topology): RegionNode[] & { readonly dir: string } {
  const dir = tempDir();
  const nodes: RegionNode[] = [];
  before(async () => {
    nodes.push(...['us-east-1', 'eu-west-1', 'eu-central-1'].map((id) => makeDataNode(t, id, dir.path)));
    for (const n of nodes) await n.start();
  });
  after(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    dir.remove();
  });
  return Object.assign(nodes, { dir: dir.path });
}
