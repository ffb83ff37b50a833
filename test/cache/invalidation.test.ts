// Invalidation after unsafe methods (RFC 9111 §4.4).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cacheKey } from '../../src/cache/index.js';
import { invalidatedKeys } from '../../src/cache/invalidation.js';
import { Clock, deferred, get, newCache, origin, type Reply } from './fixtures.js';

function cacheable(clock: Clock) {
  return origin((req) => {
    if (req.method === 'GET') return { headers: { date: clock.date(), 'cache-control': 'max-age=600', vary: 'accept-language' } };
    return { status: 201, headers: { date: clock.date(), location: '/items/7', 'content-location': 'http://Shop.Example.Test:80/items/7/summary' } };
  });
}

test('RFC 9111 §4.4: a POST invalidates every stored variant of the target URI', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = cacheable(clock);
  await get(cache, up, '/items', { 'accept-language': 'en' });
  await get(cache, up, '/items', { 'accept-language': 'fr' });
  const post = await get(cache, up, '/items', {}, 'POST');
  assert.equal(post.status, 'bypass');
  assert.equal((await get(cache, up, '/items', { 'accept-language': 'en' })).status, 'miss');
  assert.equal((await get(cache, up, '/items', { 'accept-language': 'fr' })).status, 'miss');
});

test('RFC 9111 §4.4: PUT, DELETE and PATCH invalidate the target and the Location and Content-Location URIs', async () => {
  for (const method of ['PUT', 'DELETE', 'PATCH', 'PURGE-UNKNOWN']) {
    const clock = new Clock();
    const cache = newCache(clock);
    const up = cacheable(clock);
    for (const p of ['/items', '/items/7', '/items/7/summary', '/other']) await get(cache, up, p);
    assert.equal(cache.stats().entries, 4);
    await get(cache, up, '/items', {}, method);
    assert.equal(cache.stats().entries, 1, `${method}: only /other is left`);
    assert.equal((await get(cache, up, '/other')).status, 'hit');
  }
});

test('RFC 9111 §4.4: a Location on another origin is not invalidated', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin((req) => (req.method === 'GET' ? { headers: { date: clock.date(), 'cache-control': 'max-age=600' } } : { status: 303, headers: { location: 'http://other.example.test/x' } }));
  await get(cache, up, '/x', {}, 'GET', 'other.example.test');
  await get(cache, up, '/form', {}, 'POST');
  assert.equal((await get(cache, up, '/x', {}, 'GET', 'other.example.test')).status, 'hit');
});

test('RFC 9111 §4.4: an error response to an unsafe method invalidates nothing', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin((req) => (req.method === 'GET' ? { headers: { date: clock.date(), 'cache-control': 'max-age=600' } } : { status: 409 }));
  await get(cache, up, '/items');
  await get(cache, up, '/items', {}, 'POST');
  assert.equal((await get(cache, up, '/items')).status, 'hit');
});

test('RFC 9111 §4.4: unsafe requests are never answered from the cache and reach upstream as sent', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = cacheable(clock);
  await get(cache, up, '/items');
  const r = await get(cache, up, '/items', { 'content-type': 'application/json' }, 'POST');
  assert.equal(r.status, 'bypass');
  assert.equal(r.response.status, 201);
  assert.equal(up.calls[1]?.method, 'POST');
  assert.equal(up.calls[1]?.headers['content-type'], 'application/json');
});

test('RFC 9111 §4.4: a response fetched while the URI was invalidated is not stored', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const held = deferred<Reply>();
  const up = origin((req) => (req.method === 'GET' ? held.promise : { status: 204 }));
  const pending = get(cache, up, '/items');
  await get(cache, up, '/items', {}, 'DELETE');
  held.resolve({ headers: { date: clock.date(), 'cache-control': 'max-age=600' }, body: Buffer.from('before delete') });
  assert.equal((await pending).status, 'miss');
  assert.equal(cache.stats().entries, 0, 'the pre-delete body would otherwise be cached');
});

test('RFC 9110 §9.2.1: OPTIONS is safe: passed through without invalidating', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = cacheable(clock);
  await get(cache, up, '/items');
  assert.equal((await get(cache, up, '/items', {}, 'OPTIONS')).status, 'bypass');
  assert.equal((await get(cache, up, '/items')).status, 'hit');
});

test('RFC 9111 §4.4: relative Location values resolve against the target URI; other schemes are other origins', () => {
  const target = cacheKey('shop.example.test', '/items/list?page=2');
  const keys = (h: Record<string, string>) => invalidatedKeys(target, { status: 200, headers: h, body: Buffer.alloc(0) });
  assert.deepEqual(keys({ location: '../carts/1' }), ['shop.example.test/items/list?page=2', 'shop.example.test/carts/1']);
  assert.deepEqual(keys({ 'content-location': 'https://shop.example.test/items/1' }), ['shop.example.test/items/list?page=2']);
  assert.deepEqual(invalidatedKeys(target, { status: 500, headers: {}, body: Buffer.alloc(0) }), []);
});
