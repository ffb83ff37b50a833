// Purge by URL, by surrogate key, and everything.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Clock, deferred, get, newCache, origin, settle, type Reply } from './fixtures.js';

function tagged(clock: Clock) {
  return origin((req) => {
    const headers: Record<string, string> = { date: clock.date(), 'cache-control': 'max-age=600' };
    if (req.path.startsWith('/product')) headers['surrogate-key'] = 'products  product-7 shop';
    if (req.path.startsWith('/cart')) headers['cache-tag'] = 'carts, shop';
    return { headers };
  });
}

test('purge: Surrogate-Key (space-separated) removes every response that carries the key', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = tagged(clock);
  for (const p of ['/product/7', '/product/7?tab=reviews', '/cart', '/about']) await get(cache, up, p);
  assert.equal(cache.purgeKey('product-7'), 2);
  assert.equal((await get(cache, up, '/product/7')).status, 'miss');
  assert.equal((await get(cache, up, '/about')).status, 'hit');
});

test('purge: Cache-Tag (comma-separated) keys are purged the same way; one key may span both fields', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = tagged(clock);
  for (const p of ['/product/7', '/cart', '/about']) await get(cache, up, p);
  assert.equal(cache.purgeKey('carts'), 1);
  assert.equal(cache.purgeKey('shop'), 1, 'the product was tagged shop through Surrogate-Key');
  assert.equal(cache.purgeKey('shop'), 0);
  assert.equal(cache.stats().entries, 1);
});

test('purge: purgeUrl normalises host and path like the cache key, and reports what it removed', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = tagged(clock);
  await get(cache, up, '/%7Ea');
  assert.equal(cache.purgeUrl('SHOP.example.test:80', '/~a#frag'), 1);
  assert.equal(cache.purgeUrl('shop.example.test', '/~a'), 0);
});

test('purge: purgeAll empties the cache', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = tagged(clock);
  for (const p of ['/a', '/b', '/c']) await get(cache, up, p);
  assert.equal(cache.purgeAll(), 3);
  assert.equal(cache.stats().entries, 0);
});

test('purge: a response fetched while a purge ran is not stored', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const held = deferred<Reply>();
  const up = origin(() => held.promise);
  const pending = get(cache, up, '/product/7');
  await settle();
  cache.purgeKey('product-7');
  held.resolve({ headers: { date: clock.date(), 'cache-control': 'max-age=600', 'surrogate-key': 'product-7' } });
  await pending;
  assert.equal(cache.stats().entries, 0);
});
