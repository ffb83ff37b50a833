// The edge gateway over real sockets: cache, purge, home forwarding, replay, retries,
// limits, smuggling, upgrades, streaming.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { admin, get, raw, sleep, topology, twoRegions } from './fixtures.js';

const octet = 36;
const us = `127.${octet}.1.1`;
const eu = `127.${octet}.2.1`;

describe('edge gateway', { timeout: 60_000 }, () => {
  const t = topology(octet);
  const regions = twoRegions(t, octet);
  const { usLog, euLog } = regions;
  before(() => regions.start());
  after(() => regions.stop());

  describe('cache', () => {
    it('x-meridian-cache: miss, then hit with an Age, one upstream request', async () => {
      const before = usLog.filter((l) => l.url === '/cached/a').length;
      const a = await get(us, '/cached/a');
      const b = await get(us, '/cached/a');
      assert.equal(a.h('x-meridian-cache'), 'miss');
      assert.equal(b.h('x-meridian-cache'), 'hit');
      assert.equal(b.text, a.text);
      assert.match(b.h('age') ?? '', /^\d+$/);
      assert.equal(b.h('x-meridian-region'), 'us-east-1');
      assert.equal(usLog.filter((l) => l.url === '/cached/a').length - before, 1);
    });
    it('a HEAD hit has the GET\'s fields and no body; a request with a conditional gets its 304 from the cache', async () => {
      const a = await get(us, '/cached/head');
      const head = await get(us, '/cached/head', { method: 'HEAD' });
      assert.equal(head.h('x-meridian-cache'), 'hit');
      assert.equal(head.bytes, 0);
      assert.equal(head.h('content-length'), String(a.bytes));
      const cond = await get(us, '/cached/head', { headers: { 'if-none-match': '*' } });
      assert.equal(cond.status, 304);
      assert.equal(cond.h('x-meridian-cache'), 'hit');
    });
    it('a config rule gives freshness to responses that state none', async () => {
      await get(us, '/rule/x');
      assert.equal((await get(us, '/rule/x')).h('x-meridian-cache'), 'hit');
    });
    it('private responses are never stored', async () => {
      await get(us, '/private/x');
      assert.equal((await get(us, '/private/x')).h('x-meridian-cache'), 'miss');
    });
    it('a POST invalidates the cached URL (RFC 9111 §4.4)', async () => {
      await get(us, '/cached/post');
      assert.equal((await get(us, '/cached/post')).h('x-meridian-cache'), 'hit');
      await get(us, '/cached/post', { method: 'POST', body: 'x' });
      assert.equal((await get(us, '/cached/post')).h('x-meridian-cache'), 'miss');
    });
    it('purge by surrogate key through the admin API reaches every region', async () => {
      await get(us, '/cached/k');
      await get(eu, '/cached/k');
      assert.equal((await get(eu, '/cached/k')).h('x-meridian-cache'), 'hit');
      const r = await admin(us, '/cache/purge', { key: 'item-1' });
      assert.equal(r.status, 200);
      assert.ok((r.json.removed as number) >= 1);
      assert.ok(((r.json.peers as Record<string, { removed: number }>)['eu-west-1']?.removed ?? 0) >= 1);
      assert.equal((await get(us, '/cached/k')).h('x-meridian-cache'), 'miss');
      assert.equal((await get(eu, '/cached/k')).h('x-meridian-cache'), 'miss');
    });
    it('purge by URL, and bad purge requests get 400 with a reason', async () => {
      await get(us, '/cached/u');
      const r = await admin(us, '/cache/purge', { url: `http://${us}:8080/cached/u` });
      assert.equal(r.json.removed, 1);
      assert.equal((await get(us, '/cached/u')).h('x-meridian-cache'), 'miss');
      const bad = await admin(us, '/cache/purge', { url: 'not a url', key: 'x' });
      assert.equal(bad.status, 400);
      assert.match(String(bad.json.reason), /exactly one/);
    });
    it('a large response streams through and is not stored', async () => {
      const r = await get(us, '/big');
      assert.equal(r.status, 200);
      assert.equal(r.bytes, 6 * 1024 * 1024);
      assert.equal((await get(us, '/big')).h('x-meridian-cache'), 'miss');
    });
  });

  describe('routing of requests', () => {
    it('home-region forwarding by header, cookie and path rule', async () => {
      const byHeader = await get(us, '/api/h', { headers: { 'x-meridian-home': 'eu-west-1' } });
      assert.equal(byHeader.h('x-meridian-region'), 'eu-west-1');
      assert.match(byHeader.h('x-meridian-route') ?? '', /^home: data homed in eu-west-1 \(by header\)/);
      assert.match(byHeader.h('server-timing') ?? '', /forward;dur=[\d.]+;desc="eu-west-1"/);
      const byCookie = await get(us, '/api/c', { headers: { cookie: 'a=1; meridian-home=eu-west-1' } });
      assert.equal(byCookie.h('x-meridian-region'), 'eu-west-1');
      const byPath = await get(us, '/eu/orders/1');
      assert.equal(byPath.h('x-meridian-region'), 'eu-west-1');
      const here = await get(eu, '/eu/orders/2');
      assert.match(here.h('x-meridian-route') ?? '', /home eu-west-1 \(by path\) is here; local: app up/);
      const euSaw = euLog.find((l) => l.url === '/api/h');
      assert.equal(euSaw?.headers['x-meridian-sig'], undefined, 'mesh credentials never reach the app');
      assert.equal(euSaw?.headers['x-meridian-forwarded-from'], undefined);
    });
    it('an unknown home region is a 400 with a reason', async () => {
      const r = await get(us, '/api/x', { headers: { 'x-meridian-home': 'mars-1' } });
      assert.equal(r.status, 400);
      assert.equal(JSON.parse(r.text).error, 'unknown_home_region');
    });
    it('replay: the app asks for eu-west-1 and the original POST, body included, is served there', async () => {
      const r = await get(us, '/replay-to-eu', { method: 'POST', body: 'order=42' });
      assert.equal(r.status, 200);
      assert.equal(r.text, 'eu got POST order=42');
      assert.equal(r.h('x-meridian-region'), 'eu-west-1');
      assert.match(r.h('x-meridian-route') ?? '', /^replay: the application in us-east-1 asked for eu-west-1/);
    });
    it('replay never loops', async () => {
      const r = await get(us, '/replay-loop', { method: 'POST', body: 'x' });
      assert.equal(r.status, 508);
      assert.equal(JSON.parse(r.text).error, 'replay_loop');
    });
    it('replay of a body over replay_max_body is refused, not half-sent', async () => {
      const r = await get(us, '/replay-to-eu', { method: 'POST', body: Buffer.alloc(32 * 1024, 97) });
      assert.equal(r.status, 502);
      assert.equal(JSON.parse(r.text).error, 'replay_body_too_large');
    });
    it('a GET that fails after reaching the app is retried elsewhere; a POST is not', async () => {
      const g = await get(us, '/reset/get');
      assert.equal(g.status, 200);
      assert.equal(g.h('x-meridian-region'), 'eu-west-1');
      assert.match(g.h('x-meridian-route') ?? '', /failover: local app failed/);
      const before = euLog.filter((l) => l.url === '/reset/post').length;
      const p = await get(us, '/reset/post', { method: 'POST', body: 'pay=1' });
      assert.equal(p.status, 502);
      assert.equal(euLog.filter((l) => l.url === '/reset/post').length, before, 'the POST went nowhere else');
    });
  });

  describe('limits', () => {
    it('an upstream that does not answer gets a JSON 504', async () => {
      const r = await get(us, '/hang');
      assert.equal(r.status, 504);
      assert.equal(JSON.parse(r.text).error, 'gateway_timeout');
    });
    it('headers over max_header_size get 431 JSON', async () => {
      const r = await get(us, '/api/x', { headers: { 'x-big': 'a'.repeat(10 * 1024) } }).catch(() => null);
      const text = r === null ? await raw(us, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(10 * 1024)}\r\n\r\n`) : '';
      if (r !== null) {
        assert.equal(r.status, 431);
        assert.equal(JSON.parse(r.text).error, 'headers_too_large');
      } else assert.match(text, /^HTTP\/1\.1 431 .*"headers_too_large"/s);
    });
    it('bodies over max_body_size get 413 JSON, declared or chunked', async () => {
      const r = await get(us, '/api/x', { method: 'POST', body: Buffer.alloc(300 * 1024) });
      assert.equal(r.status, 413);
      assert.equal(JSON.parse(r.text).error, 'body_too_large');
      const chunked = await raw(us, `POST /api/chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${'40000\r\n' + 'a'.repeat(0x40000) + '\r\n'}${'10000\r\n' + 'b'.repeat(0x10000) + '\r\n'}0\r\n\r\n`);
      assert.match(chunked, /^HTTP\/1\.1 413/);
      assert.equal(usLog.some((l) => l.url === '/api/chunked'), false, 'the app never got it');
    });
    it('a client that sends headers too slowly (slowloris) is cut off with 408', async () => {
      const text = await new Promise<string>((resolve) => {
        const c = connect(8080, us, () => c.write('GET / HTTP/1.1\r\nHost: x\r\n'));
        let d = '';
        const iv = setInterval(() => c.write('X-Slow: 1\r\n'), 300);
        c.on('data', (x) => (d += x.toString()));
        c.on('close', () => { clearInterval(iv); resolve(d); });
        c.on('error', () => undefined);
        setTimeout(() => { clearInterval(iv); c.destroy(); }, 5000);
      });
      assert.match(text, /^HTTP\/1\.1 408 /);
    });
  });

  describe('request smuggling', () => {
    it('Content-Length with Transfer-Encoding is refused; the smuggled request never reaches the app', async () => {
      const text = await raw(us, 'POST /api/front HTTP/1.1\r\nHost: x\r\nContent-Length: 44\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n');
      assert.match(text, /^HTTP\/1\.1 400 .*"bad_framing"/s);
      await sleep(100);
      assert.equal(usLog.some((l) => l.url === '/smuggled' || l.url === '/api/front'), false);
    });
    it('two Content-Length values are refused', async () => {
      assert.match(await raw(us, 'POST /api/x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde'), /^HTTP\/1\.1 400 /);
    });
    it('bad chunking is refused', async () => {
      assert.match(await raw(us, 'POST /api/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n'), /^HTTP\/1\.1 400 .*"bad_chunking"/s);
    });
  });

  describe('upgrades', () => {
    it('an Upgrade request passes through to the app and bytes flow both ways', async () => {
      const text = await new Promise<string>((resolve) => {
        const c = connect(8080, us, () => c.write('GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n'));
        let d = '';
        c.on('data', (x) => {
          d += x.toString();
          if (d.includes('\r\n\r\n') && !d.includes('HELLO')) c.write('hello');
          if (d.includes('HELLO')) { c.destroy(); resolve(d); }
        });
        setTimeout(() => { c.destroy(); resolve(d); }, 3000);
      });
      assert.match(text, /^HTTP\/1\.1 101 /);
      assert.match(text, /HELLO$/);
      const seen = usLog.find((l) => l.method === 'UPGRADE');
      assert.equal(seen?.headers['x-forwarded-for'], '127.0.0.1');
    });
  });
});
