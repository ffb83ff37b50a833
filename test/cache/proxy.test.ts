// The cache over real sockets: a tiny origin (node:http on 127.0.0.1:0), and a tiny caching
// proxy built from HttpCache that says x-meridian-cache: <status> and sends Age; requests
// go through undici. Time is still the fake clock, so nothing sleeps for freshness.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { HttpCache, type HeaderMap, type UpstreamResponse } from '../../src/cache/index.js';
import { Clock, deferred } from './fixtures.js';

type OriginHandler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void | Promise<void>;

const clock = new Clock();
const hits = new Map<string, number>();
const handlers = new Map<string, OriginHandler>();
let collapsedWaiters = 0;
let onCollapse: () => void = () => undefined;
const eventWaiters: { kind: string; keySuffix: string; resolve: () => void }[] = [];
/** Resolves when the cache reports `kind` for a key ending in `keySuffix`. */
function nextEvent(kind: string, keySuffix: string): Promise<void> {
  return new Promise((resolve) => eventWaiters.push({ kind, keySuffix, resolve }));
}
const cache = new HttpCache({
  maxBytes: 4 * 1024 * 1024,
  now: clock.now,
  onEvent: (e) => {
    for (const w of eventWaiters.splice(0)) {
      if (w.kind === e.kind && e.key.endsWith(w.keySuffix)) w.resolve();
      else eventWaiters.push(w);
    }
    if (e.kind === 'collapse') {
      collapsedWaiters++;
      onCollapse();
    }
  },
});
const agent = new Agent({ connections: 64 });
let originServer: Server;
let proxyServer: Server;
let originUrl = '';
let proxyUrl = '';

const hopByHop = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-connection']);

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function endToEnd(h: Record<string, string | string[] | undefined>): HeaderMap {
  const out: HeaderMap = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined && !hopByHop.has(k.toLowerCase())) out[k.toLowerCase()] = v;
  return out;
}

/** Upstream for the proxy: the origin, through undici. */
async function toOrigin(r: { method: string; path: string; host: string; headers: Record<string, string | string[] | undefined> }, body: Buffer): Promise<UpstreamResponse> {
  const headers = endToEnd(r.headers);
  delete headers.host;
  delete headers['content-length'];
  const res = await request(`${originUrl}${r.path}`, { method: r.method as 'GET', headers, body: body.length > 0 ? body : null, dispatcher: agent });
  return { status: res.statusCode, headers: endToEnd(res.headers), body: Buffer.from(await res.body.arrayBuffer()) };
}

async function proxy(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readBody(req);
  try {
    const result = await cache.handle({ method: req.method ?? 'GET', path: req.url ?? '/', host: req.headers.host ?? '', headers: req.headers }, (r) => toOrigin(r, body));
    const headers: HeaderMap = { ...result.response.headers, 'x-meridian-cache': result.status };
    if (result.ageSec !== null) headers.age = String(result.ageSec);
    if (req.method !== 'HEAD' && result.response.status !== 304) headers['content-length'] = String(result.response.body.length);
    res.writeHead(result.response.status, headers);
    res.end(result.response.body);
  } catch (e) {
    res.writeHead(502, { 'content-type': 'application/json', 'x-meridian-cache': 'error' });
    res.end(JSON.stringify({ error: 'bad_gateway', reason: String(e) }));
  }
}

async function listen(s: Server): Promise<string> {
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

/** Answers `path` at the origin with `h`, counting hits. */
function at(path: string, h: OriginHandler): void {
  handlers.set(path, h);
}

function hitsOf(path: string): number {
  return hits.get(path) ?? 0;
}

async function fetchVia(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; cache: string; age: string | undefined; headers: Record<string, string | string[] | undefined>; body: string }> {
  const res = await request(`${proxyUrl}${path}`, { method: method as 'GET', headers, dispatcher: agent });
  const body = await res.body.text();
  const h = res.headers;
  return { status: res.statusCode, cache: String(h['x-meridian-cache']), age: h.age as string | undefined, headers: h, body };
}

before(async () => {
  originServer = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      hits.set(path, hitsOf(path) + 1);
      const h = handlers.get(path);
      if (h === undefined) {
        res.writeHead(404, { date: clock.date() });
        res.end('not found');
        return;
      }
      await h(req, res, body);
    })();
  });
  proxyServer = createServer((req, res) => void proxy(req, res));
  originUrl = await listen(originServer);
  proxyUrl = await listen(proxyServer);
});

after(async () => {
  await agent.close();
  for (const s of [proxyServer, originServer]) {
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
});

function send(res: ServerResponse, status: number, headers: Record<string, string | string[]>, body = ''): void {
  res.writeHead(status, { date: clock.date(), ...(status === 304 ? {} : { 'content-length': String(Buffer.byteLength(body)) }), ...headers });
  res.end(body);
}

describe('caching proxy over real sockets', () => {
  test('RFC 9111 §4: a miss goes to the origin, the next request is a hit with Age', async () => {
    at('/hello', (_q, r) => send(r, 200, { 'cache-control': 'max-age=60' }, 'hello'));
    const first = await fetchVia('/hello');
    assert.equal(first.cache, 'miss');
    assert.equal(first.age, undefined);
    clock.advance(7);
    const second = await fetchVia('/hello');
    assert.equal(second.cache, 'hit');
    assert.equal(second.age, '7');
    assert.equal(second.body, 'hello');
    assert.equal(hitsOf('/hello'), 1);
  });

  test('RFC 9111 §4.1: Vary keeps one variant per Accept-Language over the wire', async () => {
    at('/vary', (q, r) => send(r, 200, { 'cache-control': 'max-age=60', vary: 'Accept-Language' }, `lang=${String(q.headers['accept-language'])}`));
    assert.equal((await fetchVia('/vary', { 'accept-language': 'en' })).body, 'lang=en');
    assert.equal((await fetchVia('/vary', { 'accept-language': 'fr' })).body, 'lang=fr');
    const en = await fetchVia('/vary', { 'accept-language': 'en' });
    const fr = await fetchVia('/vary', { 'accept-language': 'fr' });
    assert.deepEqual([en.cache, en.body, fr.cache, fr.body], ['hit', 'lang=en', 'hit', 'lang=fr']);
    assert.equal(hitsOf('/vary'), 2);
  });

  test('RFC 9111 §4.3.4: the origin answers the revalidation with 304 and its fields are merged', async () => {
    let rev = 1;
    at('/etag', (q, r) => {
      if (q.headers['if-none-match'] === '"v1"') return send(r, 304, { etag: '"v1"', 'cache-control': 'max-age=10', 'x-rev': String(++rev) });
      send(r, 200, { etag: '"v1"', 'cache-control': 'max-age=10', 'x-rev': '1', 'content-type': 'text/plain' }, 'payload');
    });
    await fetchVia('/etag');
    clock.advance(11);
    const r = await fetchVia('/etag');
    assert.equal(r.cache, 'revalidated');
    assert.equal(r.body, 'payload');
    assert.equal(r.headers['x-rev'], '2');
    assert.equal(r.headers['content-type'], 'text/plain');
    assert.equal((await fetchVia('/etag')).cache, 'hit');
    assert.equal(hitsOf('/etag'), 2);
  });

  test('RFC 5861 §3: stale-while-revalidate answers stale at once and refreshes from the origin in the background', async () => {
    let version = 1;
    at('/swr', (_q, r) => send(r, 200, { 'cache-control': 'max-age=5, stale-while-revalidate=60' }, `v${version}`));
    await fetchVia('/swr');
    clock.advance(10);
    version = 2;
    const refreshed = nextEvent('store', '/swr');
    const stale = await fetchVia('/swr');
    assert.equal(stale.cache, 'stale');
    assert.equal(stale.body, 'v1');
    await refreshed;
    const fresh = await fetchVia('/swr');
    assert.equal(fresh.cache, 'hit');
    assert.equal(fresh.body, 'v2');
    assert.equal(hitsOf('/swr'), 2);
  });

  test('RFC 9111 §4 (collapsing): 20 concurrent requests for one URL reach the origin once', async () => {
    const release = deferred<void>();
    collapsedWaiters = 0;
    onCollapse = () => {
      if (collapsedWaiters === 19) release.resolve();
    };
    at('/hot', async (_q, r) => {
      await release.promise;
      send(r, 200, { 'cache-control': 'max-age=60' }, 'hot');
    });
    const all = await Promise.all(Array.from({ length: 20 }, () => fetchVia('/hot')));
    onCollapse = () => undefined;
    assert.equal(hitsOf('/hot'), 1);
    assert.ok(all.every((r) => r.body === 'hot' && r.status === 200));
    assert.equal(all.filter((r) => r.cache === 'miss').length, 20);
  });

  test('purge: by surrogate key, the next request goes to the origin again', async () => {
    at('/tagged', (_q, r) => send(r, 200, { 'cache-control': 'max-age=600', 'surrogate-key': 'catalog item-9' }, 'item'));
    await fetchVia('/tagged');
    assert.equal((await fetchVia('/tagged')).cache, 'hit');
    assert.equal(cache.purgeKey('item-9'), 1);
    assert.equal((await fetchVia('/tagged')).cache, 'miss');
    assert.equal(hitsOf('/tagged'), 2);
  });

  test('RFC 9111 §3.5: responses to requests with Authorization are not shared without public', async () => {
    at('/account', (q, r) => send(r, 200, { 'cache-control': 'max-age=60' }, `account of ${String(q.headers.authorization)}`));
    assert.equal((await fetchVia('/account', { authorization: 'Bearer alice' })).body, 'account of Bearer alice');
    const bob = await fetchVia('/account', { authorization: 'Bearer bob' });
    assert.equal(bob.body, 'account of Bearer bob');
    assert.equal(bob.cache, 'miss');
    assert.equal(hitsOf('/account'), 2);
  });

  test('RFC 9111 §3 (Set-Cookie): a response that sets a cookie is not stored', async () => {
    at('/login', (_q, r) => send(r, 200, { 'cache-control': 'max-age=60', 'set-cookie': 'sid=secret' }, 'welcome'));
    const a = await fetchVia('/login');
    assert.equal(a.headers['set-cookie'], 'sid=secret');
    const b = await fetchVia('/login');
    assert.equal(b.cache, 'miss');
    assert.equal(hitsOf('/login'), 2);
  });

  test('RFC 9111 §5.2.2.5: a no-store response is never stored', async () => {
    at('/nostore', (_q, r) => send(r, 200, { 'cache-control': 'no-store' }, 'secret'));
    await fetchVia('/nostore');
    assert.equal((await fetchVia('/nostore')).cache, 'miss');
    assert.equal(hitsOf('/nostore'), 2);
  });

  test('RFC 9111 §3: HEAD is answered from the stored GET, with its Content-Length and no body', async () => {
    at('/doc', (_q, r) => send(r, 200, { 'cache-control': 'max-age=60', 'content-type': 'text/plain' }, 'twelve bytes'));
    await fetchVia('/doc');
    const head = await fetchVia('/doc', {}, 'HEAD');
    assert.equal(head.cache, 'hit');
    assert.equal(head.body, '');
    assert.equal(head.headers['content-length'], '12');
    assert.equal(hitsOf('/doc'), 1);
  });

  test('RFC 9111 §4.3.2: a client If-None-Match is answered 304 by the cache', async () => {
    at('/cond', (_q, r) => send(r, 200, { 'cache-control': 'max-age=60', etag: '"abc"' }, 'content'));
    await fetchVia('/cond');
    const r = await fetchVia('/cond', { 'if-none-match': '"abc"' });
    assert.equal(r.status, 304);
    assert.equal(r.cache, 'hit');
    assert.equal(r.body, '');
    assert.equal(hitsOf('/cond'), 1);
  });

  test('RFC 9111 §4.4: a POST through the proxy invalidates the stored GET', async () => {
    at('/items', (q, r) => (q.method === 'POST' ? send(r, 201, { location: '/items/1' }) : send(r, 200, { 'cache-control': 'max-age=600' }, 'list')));
    await fetchVia('/items');
    assert.equal((await fetchVia('/items')).cache, 'hit');
    const post = await fetchVia('/items', { 'content-type': 'application/json' }, 'POST');
    assert.equal(post.cache, 'bypass');
    assert.equal((await fetchVia('/items')).cache, 'miss');
  });

  // Last: it stops the origin.
  test('RFC 5861 §4: stale-if-error serves the stored response when the origin is down', async () => {
    at('/sie', (_q, r) => send(r, 200, { 'cache-control': 'max-age=5, stale-if-error=300' }, 'still here'));
    at('/plain', (_q, r) => send(r, 200, { 'cache-control': 'max-age=5' }, 'plain'));
    await fetchVia('/sie');
    await fetchVia('/plain');
    originServer.closeAllConnections();
    await new Promise<void>((r) => originServer.close(() => r()));
    originServer = createServer(); // after() closes it again
    clock.advance(60);
    const r = await fetchVia('/sie');
    assert.equal(r.status, 200);
    assert.equal(r.cache, 'stale');
    assert.equal(r.body, 'still here');
    assert.equal(r.age, '60');
    assert.equal((await fetchVia('/plain')).status, 504, 'no stale-if-error: the cache answers 504');
    assert.equal((await fetchVia('/never')).status, 502, 'nothing stored: the error reaches the proxy');
  });
});
