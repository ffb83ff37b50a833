// What a shared cache may store and reuse (RFC 9111 §3, §3.5, §5.2).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Clock, get, header, newCache, origin, text } from './fixtures.js';

test('RFC 9111 §3: HEAD is answered from a stored GET response, without a body', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=60', 'content-length': '6' }, body: Buffer.from('body 1') }));
  await get(cache, up, '/a');
  const head = await get(cache, up, '/a', {}, 'HEAD');
  assert.equal(head.status, 'hit');
  assert.equal(head.response.body.length, 0);
  assert.equal(header(head, 'content-length'), '6', 'the GET response fields');
  assert.equal(up.calls.length, 1);
});

test('RFC 9111 §3: a HEAD miss is fetched as GET so it fills the cache; the client gets no body', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=60' } }));
  const head = await get(cache, up, '/a', {}, 'HEAD');
  assert.equal(head.status, 'miss');
  assert.equal(head.response.body.length, 0);
  assert.equal(up.calls[0]?.method, 'GET');
  const r = await get(cache, up, '/a');
  assert.equal(r.status, 'hit');
  assert.equal(text(r), 'body 1');
});

test('RFC 9111 §5.2.2.5: a response with no-store is never stored', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'no-store, max-age=60' } }));
  await get(cache, up, '/a');
  assert.equal((await get(cache, up, '/a')).status, 'miss');
  assert.equal(cache.stats().entries, 0);
});

test('RFC 9111 §5.2.1.5: a request with no-store: its response is not stored', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=60' } }));
  await get(cache, up, '/a', { 'cache-control': 'no-store' });
  assert.equal(cache.stats().entries, 0);
  await get(cache, up, '/a');
  assert.equal((await get(cache, up, '/a', { 'cache-control': 'no-store' })).status, 'hit', 'a stored response may still answer it');
});

test('RFC 9111 §5.2.2.7: a private response is never stored by a shared cache, qualified or not', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin((req) => ({ headers: { date: clock.date(), 'cache-control': req.path === '/a' ? 'private, max-age=60' : 'private="x-user", max-age=60' } }));
  await get(cache, up, '/a');
  await get(cache, up, '/b');
  assert.equal(cache.stats().entries, 0);
});

test('RFC 9111 §3.5: a response to a request with Authorization is not stored without public, s-maxage or must-revalidate', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=60' } }));
  await get(cache, up, '/me', { authorization: 'Bearer alice' });
  const r = await get(cache, up, '/me', { authorization: 'Bearer bob' });
  assert.equal(r.status, 'miss');
  assert.equal(text(r), 'body 2', 'bob never sees alice');
  assert.equal(cache.stats().entries, 0);
});

test('RFC 9111 §3.5: with public, s-maxage or must-revalidate it is stored and reused for requests with Authorization', async () => {
  for (const cc of ['public, max-age=60', 's-maxage=60', 'must-revalidate, max-age=60']) {
    const clock = new Clock();
    const cache = newCache(clock);
    const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': cc } }));
    await get(cache, up, '/doc', { authorization: 'Bearer alice' });
    assert.equal((await get(cache, up, '/doc', { authorization: 'Bearer bob' })).status, 'hit', cc);
  }
});

test('RFC 9111 §3.5: a stored response that does not allow it never answers a request with Authorization', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=60' } }));
  await get(cache, up, '/doc');
  const r = await get(cache, up, '/doc', { authorization: 'Bearer alice' });
  assert.equal(r.status, 'miss');
  assert.equal(up.calls.length, 2);
  assert.equal((await get(cache, up, '/doc')).status, 'hit', 'the stored response still serves anonymous requests');
});

test('RFC 9111 §3 (Set-Cookie, our choice): a response with Set-Cookie is not stored unless Cache-Control: public', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 's-maxage=60', 'set-cookie': 'sid=alice' } }));
  await get(cache, up, '/a');
  const r = await get(cache, up, '/a');
  assert.equal(r.status, 'miss');
  assert.equal(cache.stats().entries, 0, 's-maxage alone does not opt in');
});

test('RFC 9111 §3 (Set-Cookie, our choice): with public it is stored without Set-Cookie; the first requester still gets it', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'public, max-age=60', 'set-cookie': ['sid=alice', 'theme=dark'] } }));
  const first = await get(cache, up, '/a');
  assert.deepEqual(first.response.headers['set-cookie'], ['sid=alice', 'theme=dark']);
  const hit = await get(cache, up, '/a');
  assert.equal(hit.status, 'hit');
  assert.equal(hit.response.headers['set-cookie'], undefined);
});

test('RFC 9111 §3: a status code the cache does not understand is not stored', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin((req) => ({ status: req.path === '/teapot' ? 418 : 206, headers: { date: clock.date(), 'cache-control': 'public, max-age=60' } }));
  await get(cache, up, '/teapot');
  await get(cache, up, '/partial');
  assert.equal(cache.stats().entries, 0);
});

test('RFC 9111 §5.2.2.3: must-understand lets an understood status be stored despite no-store', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin((req) => ({ status: req.path === '/ok' ? 200 : 418, headers: { date: clock.date(), 'cache-control': 'must-understand, no-store, max-age=60' } }));
  await get(cache, up, '/ok');
  assert.equal((await get(cache, up, '/ok')).status, 'hit');
  await get(cache, up, '/teapot');
  assert.equal((await get(cache, up, '/teapot')).status, 'miss', 'a status not understood is still not stored');
});

test('RFC 9111 §5.2.2.4: a no-cache response is stored but validated before every reuse', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin((req) => (req.headers['if-none-match'] === '"v1"' ? { status: 304, headers: { date: clock.date(), etag: '"v1"' } } : { headers: { date: clock.date(), 'cache-control': 'no-cache, max-age=600', etag: '"v1"' } }));
  await get(cache, up, '/a');
  const r = await get(cache, up, '/a');
  assert.equal(r.status, 'revalidated');
  assert.equal(text(r), 'body 1');
  assert.equal(up.calls.length, 2);
  assert.equal((await get(cache, up, '/a', { 'cache-control': 'max-stale' })).status, 'revalidated', 'max-stale does not loosen no-cache');
});

test('RFC 9111 §5.2.2.2: must-revalidate: a fresh response is served from the cache', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=60, must-revalidate' } }));
  await get(cache, up, '/a');
  clock.advance(30);
  assert.equal((await get(cache, up, '/a')).status, 'hit');
  assert.equal(up.calls.length, 1);
});

test('RFC 9111 §5.2.2.2: must-revalidate: once stale it is never served stale; 504 when upstream cannot be reached', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=60, must-revalidate, stale-if-error=600, stale-while-revalidate=600', etag: '"v1"' } }));
  await get(cache, up, '/a');
  clock.advance(61);
  up.answer(() => new Error('ECONNREFUSED'));
  assert.equal((await get(cache, up, '/a', { 'cache-control': 'max-stale=600' })).response.status, 504);
  up.answer(() => ({ status: 503, headers: { date: clock.date() } }));
  assert.equal((await get(cache, up, '/a')).response.status, 503, 'a 5xx answer is passed on, not replaced by stale');
});

test('RFC 9111 §5.2.2.8: proxy-revalidate: fresh responses are served, stale ones never (same as must-revalidate for a shared cache)', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=60, proxy-revalidate', etag: '"p"' } }));
  await get(cache, up, '/a');
  clock.advance(59);
  assert.equal((await get(cache, up, '/a')).status, 'hit', 'http-cache-semantics alone would give it a lifetime of 0');
  clock.advance(2);
  up.answer(() => new Error('ECONNRESET'));
  assert.equal((await get(cache, up, '/a', { 'cache-control': 'max-stale' })).response.status, 504);
});

test('RFC 9111 §5.2.1.4: a request with no-cache is validated with upstream', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin((req) => (req.headers['if-none-match'] !== undefined ? { status: 304, headers: { date: clock.date(), etag: '"v1"' } } : { headers: { date: clock.date(), 'cache-control': 'max-age=600', etag: '"v1"' } }));
  await get(cache, up, '/a');
  const r = await get(cache, up, '/a', { 'cache-control': 'no-cache' });
  assert.equal(r.status, 'revalidated');
  assert.equal(up.calls[1]?.headers['if-none-match'], '"v1"');
});

test('RFC 9111 §5.4: Pragma: no-cache in a request without Cache-Control is no-cache', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=600' } }));
  await get(cache, up, '/a');
  assert.equal((await get(cache, up, '/a', { pragma: 'no-cache' })).status, 'miss');
  assert.equal((await get(cache, up, '/a', { pragma: 'no-cache', 'cache-control': 'max-age=600' })).status, 'hit', 'Cache-Control present: Pragma ignored');
});

test('RFC 9111 §5.2.1.1: request max-age=0 requires validation once the response has any age', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=600' } }));
  await get(cache, up, '/a');
  clock.advance(1);
  assert.equal((await get(cache, up, '/a', { 'cache-control': 'max-age=0' })).status, 'miss');
  clock.advance(5);
  assert.equal((await get(cache, up, '/a', { 'cache-control': 'max-age=10' })).status, 'hit', 'age 5 s ≤ 10 s');
});

test('RFC 9111 §5.2.1.2: request max-stale=N accepts a response stale by at most N seconds', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=10' } }));
  await get(cache, up, '/a');
  clock.advance(15);
  const r = await get(cache, up, '/a', { 'cache-control': 'max-stale=5' });
  assert.equal(r.status, 'stale');
  assert.equal(header(r, 'age'), '15');
  clock.advance(1);
  assert.equal((await get(cache, up, '/a', { 'cache-control': 'max-stale=5' })).status, 'miss');
});

test('RFC 9111 §5.2.1.2: bare max-stale accepts any staleness', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=10' } }));
  await get(cache, up, '/a');
  clock.advance(86_400);
  assert.equal((await get(cache, up, '/a', { 'cache-control': 'max-stale' })).status, 'stale');
});

test('RFC 9111 §5.2.2.10: s-maxage implies proxy-revalidate: a client max-stale cannot get it stale', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 's-maxage=10' } }));
  await get(cache, up, '/a');
  clock.advance(15);
  assert.equal((await get(cache, up, '/a', { 'cache-control': 'max-stale' })).status, 'miss');
});

test('RFC 9111 §5.2.1.3: min-fresh requires that much freshness left', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=60' } }));
  await get(cache, up, '/a');
  clock.advance(40);
  assert.equal((await get(cache, up, '/a', { 'cache-control': 'min-fresh=20' })).status, 'hit', '20 s left');
  clock.advance(1);
  assert.equal((await get(cache, up, '/a', { 'cache-control': 'min-fresh=20' })).status, 'miss', '19 s left');
});

test('RFC 9111 §5.2.1.7: only-if-cached with nothing usable is a 504, and upstream is not contacted', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=10' } }));
  const r = await get(cache, up, '/a', { 'cache-control': 'only-if-cached' });
  assert.equal(r.response.status, 504);
  assert.equal(up.calls.length, 0);
  await get(cache, up, '/a');
  clock.advance(11);
  assert.equal((await get(cache, up, '/a', { 'cache-control': 'only-if-cached' })).response.status, 504, 'stale is not usable');
  assert.equal(up.calls.length, 1);
});

test('RFC 9111 §5.2.1.7: only-if-cached is answered from a usable stored response', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=10' } }));
  await get(cache, up, '/a');
  clock.advance(20);
  const r = await get(cache, up, '/a', { 'cache-control': 'only-if-cached, max-stale=15' });
  assert.equal(r.status, 'stale');
  assert.equal(r.response.status, 200);
});

test('RFC 9111 §3: a response that could never be reused (no freshness, no validator) is not stored', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date() } }));
  await get(cache, up, '/dynamic');
  assert.equal(cache.stats().entries, 0);
  assert.equal(cache.stats().bytes, 0);
});
