// The supervisor's control endpoint: the world's controls over HTTP on loopback, for
// drills, the dashboard and people with curl. Bearer token: the world's secret, written
// with the address to <run dir>/world.json.

import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { World } from './supervisor.js';

type Handler = (w: World, params: Record<string, string>, body: Record<string, unknown>) => Promise<unknown> | unknown;

const str = (v: unknown, name: string): string => {
  if (typeof v !== 'string' || v === '') throw new BadRequest(`${name} is required`);
  return v;
};

class BadRequest extends Error {}

const routes: [string, RegExp, Handler][] = [
  ['GET', /^\/status$/, (w) => w.controlStatus()],
  ['POST', /^\/regions\/([a-z0-9-]+)\/kill$/, (w, p) => w.killRegion(p[1] as string)],
  ['POST', /^\/regions\/([a-z0-9-]+)\/pause$/, (w, p) => w.pauseRegion(p[1] as string)],
  ['POST', /^\/regions\/([a-z0-9-]+)\/resume$/, (w, p) => w.resumeRegion(p[1] as string)],
  ['POST', /^\/regions\/([a-z0-9-]+)\/restart$/, (w, p) => w.restartRegion(p[1] as string)],
  ['POST', /^\/regions\/([a-z0-9-]+)\/isolate$/, (w, p, b) => w.isolate(p[1] as string, b.mode === 'reset' ? 'reset' : 'blackhole')],
  ['POST', /^\/regions\/([a-z0-9-]+)\/app\/kill$/, (w, p) => w.killApp(p[1] as string)],
  ['POST', /^\/regions\/([a-z0-9-]+)\/app\/restart$/, (w, p) => w.restartApp(p[1] as string)],
  ['POST', /^\/links\/partition$/, (w, _p, b) => w.partition(str(b.a, 'a'), str(b.b, 'b'), b.mode === 'reset' ? 'reset' : 'blackhole')],
  ['POST', /^\/links\/heal$/, (w, _p, b) => w.heal(typeof b.a === 'string' ? b.a : undefined, typeof b.b === 'string' ? b.b : undefined)],
  ['POST', /^\/links\/latency$/, (w, _p, b) => {
    const rtt = Number(b.rttMs);
    if (!Number.isFinite(rtt) || rtt < 0 || rtt > 10_000) throw new BadRequest('rttMs must be a number of ms in 0..10000');
    return w.setLatency(str(b.a, 'a'), str(b.b, 'b'), rtt, b.jitterMs === undefined ? undefined : Number(b.jitterMs));
  }],
];

export async function startControl(world: World, host: string, port: number): Promise<{ server: Server; url: string }> {
  const token = Buffer.from(world.secret);
  const server = createServer((req, res) => void handle(world, token, req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  return { server, url: `http://${a.address}:${a.port}` };
}

async function handle(world: World, token: Buffer, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const send = (status: number, body: unknown): void => {
    const text = JSON.stringify(body ?? { ok: true });
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
  const given = Buffer.from(auth ?? '');
  if (given.length !== token.length || !timingSafeEqual(given, token)) return send(401, { error: 'unauthenticated', reason: 'the control endpoint needs Authorization: Bearer <token from world.json>' });
  const path = (req.url ?? '/').split('?')[0] as string;
  const route = routes.find(([m, re]) => m === req.method && re.test(path));
  if (route === undefined) return send(404, { error: 'not_found', reason: `no control ${req.method} ${path}` });
  try {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > 64 * 1024) throw new BadRequest('body over 64 KiB');
      chunks.push(c as Buffer);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    let body: Record<string, unknown> = {};
    if (text !== '') {
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch {
        throw new BadRequest('body is not JSON');
      }
    }
    const params = route[1].exec(path) as RegExpExecArray;
    const out = await route[2](world, { ...params } as unknown as Record<string, string>, body);
    send(200, out ?? { ok: true });
  } catch (e) {
    const bad = e instanceof BadRequest || /unknown region/.test((e as Error).message);
    send(bad ? 400 : 500, { error: bad ? 'bad_request' : 'internal', reason: (e as Error).message });
  }
}
