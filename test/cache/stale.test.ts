// Serving stale (RFC 5861; RFC 9111 §4.2.4).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Clock, deferred, get, header, newCache, origin, settle, text, type Reply } from './fixtures.js';

test('RFC 5861 §3: stale-while-revalidate serves the stale response and revalidates in the background', async () => {
  const clock = new Clock();
  const events: string[] = [];
  const cache = newCache(clock, { onEvent: (e) => events.push(e.kind) });
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=10, stale-while-revalidate=30' }, body: Buffer.from('v1') }));
  await get(cache, up, '/a');
  clock.advance(15);
  up.answer(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=10, stale-while-revalidate=30' }, body: Buffer.from('v2') }));
  const r = await get(cache, up, '/a');
  assert.equal(r.status, 'stale');
  assert.equal(text(r), 'v1');
  assert.equal(header(r, 'age'), '15');
  await settle();
  assert.equal(up.calls.length, 2, 'one background fetch');
  assert.ok(events.includes('background-revalidate'));
  const next = await get(cache, up, '/a');
  assert.equal(next.status, 'hit');
  assert.equal(text(next), 'v2');
});

test('RFC 5861 §3: only one background revalidation per key at a time', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=10, stale-while-revalidate=30' } }));
  await get(cache, up, '/a');
  clock.advance(15);
  const held = deferred<Reply>();
  up.answer(() => held.promise);
  const rs = await Promise.all([1, 2, 3, 4, 5].map(() => get(cache, up, '/a')));
  assert.deepEqual(rs.map((r) => r.status), ['stale', 'stale', 'stale', 'stale', 'stale']);
  assert.equal(up.calls.length, 2);
  held.resolve({ headers: { date: clock.date(), 'cache-control': 'max-age=10, stale-while-revalidate=30' } });
  await settle();
  assert.equal((await get(cache, up, '/a')).status, 'hit');
  assert.equal(up.calls.length, 2);
});

test('RFC 5861 §3: beyond the stale-while-revalidate window the cache validates before answering', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=10, stale-while-revalidate=30' } }));
  await get(cache, up, '/a');
  clock.advance(40);
  assert.equal((await get(cache, up, '/a')).status, 'stale', 'stale by exactly 30 s: inside');
  await settle();
  clock.advance(41);
  const r = await get(cache, up, '/a');
  assert.equal(r.status, 'miss', 'stale by 31 s: outside');
});

test('RFC 5861 §3 with RFC 9111 §5.2.2.10: s-maxage with stale-while-revalidate still serves stale (explicit permission)', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 's-maxage=10, stale-while-revalidate=30' } }));
  await get(cache, up, '/a');
  clock.advance(20);
  assert.equal((await get(cache, up, '/a')).status, 'stale');
});

test('RFC 9111 §4.2.4: must-revalidate or no-cache overrides stale-while-revalidate', async () => {
  for (const cc of ['max-age=10, stale-while-revalidate=30, must-revalidate', 'max-age=10, stale-while-revalidate=30, no-cache']) {
    const clock = new Clock();
    const cache = newCache(clock);
    const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': cc } }));
    await get(cache, up, '/a');
    clock.advance(15);
    assert.equal((await get(cache, up, '/a')).status, 'miss', cc);
  }
});

test('RFC 5861 §3: a failed background revalidation leaves the stale response in place', async () => {
  const clock = new Clock();
  const events: string[] = [];
  const cache = newCache(clock, { onEvent: (e) => events.push(e.kind) });
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=10, stale-while-revalidate=30' }, body: Buffer.from('v1') }));
  await get(cache, up, '/a');
  clock.advance(15);
  up.answer(() => new Error('ECONNREFUSED'));
  assert.equal((await get(cache, up, '/a')).status, 'stale');
  await settle();
  assert.ok(events.includes('background-revalidate-failed'));
  const again = await get(cache, up, '/a');
  assert.equal(again.status, 'stale');
  assert.equal(text(again), 'v1');
});

test('RFC 5861 §4: stale-if-error serves the stale response when upstream cannot be reached', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=10, stale-if-error=60' }, body: Buffer.from('v1') }));
  await get(cache, up, '/a');
  clock.advance(30);
  up.answer(() => new Error('ECONNREFUSED'));
  const r = await get(cache, up, '/a');
  assert.equal(r.status, 'stale');
  assert.equal(text(r), 'v1');
  assert.equal(header(r, 'age'), '30', 'visibly stale');
});

test('RFC 5861 §4: stale-if-error covers 500, 502, 503 and 504 but not other statuses', async () => {
  for (const status of [500, 502, 503, 504, 404]) {
    const clock = new Clock();
    const cache = newCache(clock);
    const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=10, stale-if-error=60' }, body: Buffer.from('v1') }));
    await get(cache, up, '/a');
    clock.advance(30);
    up.answer(() => ({ status, headers: { date: clock.date() }, body: Buffer.from('error') }));
    const r = await get(cache, up, '/a');
    if (status === 404) {
      assert.equal(r.response.status, 404, 'a 404 is an answer, not an error');
    } else {
      assert.equal(r.status, 'stale', `status ${status}`);
      assert.equal(r.response.status, 200);
      assert.equal(cache.stats().entries, 1, 'the stored response stays');
    }
  }
});

test('RFC 5861 §4: past the stale-if-error window the error goes through', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=10, stale-if-error=60' } }));
  await get(cache, up, '/a');
  clock.advance(71);
  up.answer(() => ({ status: 503, headers: { date: clock.date() } }));
  const r = await get(cache, up, '/a');
  assert.equal(r.response.status, 503);
  assert.equal(r.status, 'miss');
  up.answer(() => new Error('ECONNREFUSED'));
  assert.equal((await get(cache, up, '/a')).response.status, 504, 'stored but unusable and upstream unreachable: 504');
});

test('RFC 5861 §4: stale-if-error as a request directive', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=10' } }));
  await get(cache, up, '/a');
  clock.advance(30);
  up.answer(() => new Error('ETIMEDOUT'));
  assert.equal((await get(cache, up, '/a', { 'cache-control': 'stale-if-error=60' })).status, 'stale');
  assert.equal((await get(cache, up, '/a', { 'cache-control': 'stale-if-error=5' })).response.status, 504);
});

test('RFC 9111 §4.2.4: without stale-if-error a stale response is not served on error; a miss with no stored response rethrows', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=10' } }));
  await get(cache, up, '/a');
  clock.advance(30);
  up.answer(() => new Error('ECONNREFUSED'));
  assert.equal((await get(cache, up, '/a')).response.status, 504);
  await assert.rejects(get(cache, up, '/never-stored'), /ECONNREFUSED/);
});

test('RFC 9111 §5.2.1.4: a request with no-cache gets no stale-if-error fallback', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=10, stale-if-error=600' } }));
  await get(cache, up, '/a');
  up.answer(() => new Error('ECONNREFUSED'));
  assert.equal((await get(cache, up, '/a', { 'cache-control': 'no-cache' })).response.status, 504);
  assert.equal((await get(cache, up, '/a')).status, 'hit');
});
