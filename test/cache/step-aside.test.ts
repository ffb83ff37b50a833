// HttpCache.stepAside: requests the cache can neither answer nor learn from go upstream
// without its miss path, and what it must still do afterwards (§4.4 invalidation, storing a
// hit-for-miss key's response once it may be stored) is done.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Clock, get, newCache, origin } from './fixtures.js';

const host = 'shop.example.test';

test('stepAside: a key in the hit-for-miss list with nothing stored is stepped aside for; not with a validator, Cache-Control or something stored', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'no-store' } }));
  assert.equal(cache.stepAside({ method: 'GET', path: '/a', host, headers: {} }), null, 'not before a response said so');
  await get(cache, up, '/a');
  assert.equal(cache.stepAside({ method: 'GET', path: '/a', host, headers: {} })?.kind, 'hit-for-miss');
  assert.equal(cache.stepAside({ method: 'GET', path: '/a', host, headers: { 'if-none-match': '"x"' } }), null);
  assert.equal(cache.stepAside({ method: 'GET', path: '/a', host, headers: { 'cache-control': 'only-if-cached' } }), null);
  assert.equal(cache.stepAside({ method: 'GET', path: '/a', host, headers: { range: 'bytes=0-1' } })?.kind, 'bypass');
  clock.advance(121);
  assert.equal(cache.stepAside({ method: 'GET', path: '/a', host, headers: {} }), null, 'the hit-for-miss time is over');
  up.answer(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=60' } }));
  await get(cache, up, '/b');
  assert.equal(cache.stepAside({ method: 'GET', path: '/b', host, headers: {} }), null, 'a stored response is served by handle()');
});

test('afterStepAside: an unsafe method\'s 2xx invalidates the stored response (RFC 9111 §4.4); a 4xx does not', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=60' } }));
  await get(cache, up, '/a');
  const s = cache.stepAside({ method: 'POST', path: '/a', host, headers: {} });
  assert.equal(s?.kind, 'unsafe');
  if (s === null) return;
  assert.equal(cache.afterStepAside(s, 404, {}, true), false);
  assert.equal((await get(cache, up, '/a')).status, 'hit');
  cache.afterStepAside(s, 204, {}, true);
  assert.equal((await get(cache, up, '/a')).status, 'miss');
});

test('afterStepAside: a hit-for-miss key\'s response that may be stored is wanted, and stored through handle()', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'private' } }));
  await get(cache, up, '/a');
  const s = cache.stepAside({ method: 'GET', path: '/a', host, headers: {} });
  assert.equal(s?.kind, 'hit-for-miss');
  if (s === null) return;
  assert.equal(cache.afterStepAside(s, 200, { 'cache-control': 'no-store' }, true), false);
  assert.equal(cache.afterStepAside(s, 200, { 'cache-control': 'max-age=60' }, false), false, 'refused by the caller (residency)');
  assert.equal(cache.afterStepAside(s, 200, {}, true), false, 'never reusable: no freshness, no validator');
  assert.equal(cache.afterStepAside(s, 200, { 'cache-control': 'max-age=60' }, true), true);
  const prefetched = { status: 200, headers: { date: clock.date(), 'cache-control': 'max-age=60' }, body: Buffer.from('fetched'), requestTimeMs: clock.ms };
  const r = await cache.handle({ method: 'GET', path: '/a', host, headers: {} }, () => Promise.resolve(prefetched));
  assert.equal(r.status, 'miss');
  const hit = await get(cache, up, '/a');
  assert.equal(hit.status, 'hit');
  assert.equal(hit.response.body.toString(), 'fetched');
  assert.equal(up.calls.length, 1);
});
