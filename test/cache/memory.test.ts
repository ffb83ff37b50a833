// The memory bound: LRU eviction by bytes (headers + body), and the per-object bound.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HttpCache } from '../../src/cache/index.js';
import { Clock, get, newCache, origin } from './fixtures.js';

function sized(clock: Clock, bytes: number) {
  return origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=600' }, body: Buffer.alloc(bytes, 120) }));
}

test('memory bound: filling past maxBytes evicts least recently used first and keeps bytes ≤ maxBytes', async () => {
  const clock = new Clock();
  const evicted: string[] = [];
  const cache = newCache(clock, { maxBytes: 10_000, maxObjectBytes: 3_000, onEvent: (e) => e.kind === 'evict' && evicted.push(e.key) });
  const up = sized(clock, 2_000);
  for (const p of ['/1', '/2', '/3', '/4']) await get(cache, up, p);
  assert.equal(cache.stats().entries, 4);
  await get(cache, up, '/1'); // /1 is now the most recently used; /2 the least
  for (const p of ['/5', '/6']) {
    await get(cache, up, p);
    assert.ok(cache.stats().bytes <= 10_000);
  }
  assert.deepEqual(evicted, ['shop.example.test/2', 'shop.example.test/3']);
  assert.equal((await get(cache, up, '/1')).status, 'hit');
  assert.equal((await get(cache, up, '/2')).status, 'miss');
  const s = cache.stats();
  assert.ok(s.bytes <= s.maxBytes);
  assert.equal(s.maxBytes, 10_000);
  assert.ok(s.evictions >= 2);
});

test('memory bound: bytes count headers as well as the body', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = sized(clock, 1_000);
  await get(cache, up, '/a');
  const b = cache.stats().bytes;
  assert.ok(b > 1_000 + 'cache-control: max-age=600\r\n'.length, `${b}`);
  assert.ok(b < 1_200, `${b}`);
});

test('memory bound: an object over maxObjectBytes is served but not stored', async () => {
  const clock = new Clock();
  const kinds: string[] = [];
  const cache = newCache(clock, { maxBytes: 100_000, maxObjectBytes: 5_000, onEvent: (e) => kinds.push(e.kind) });
  const up = sized(clock, 6_000);
  const r = await get(cache, up, '/big');
  assert.equal(r.response.body.length, 6_000);
  assert.equal(cache.stats().entries, 0);
  assert.ok(kinds.includes('too-large'));
});

test('memory bound: maxObjectBytes defaults to min(maxBytes / 8, 8 MiB)', async () => {
  const clock = new Clock();
  const small = newCache(clock, { maxBytes: 80_000 });
  await get(small, sized(clock, 10_500), '/a');
  assert.equal(small.stats().entries, 0, 'over 10 000 bytes');
  await get(small, sized(clock, 9_000), '/b');
  assert.equal(small.stats().entries, 1);
  const big = new HttpCache({ maxBytes: 1024 * 1024 * 1024, now: clock.now });
  await get(big, sized(clock, 8 * 1024 * 1024 + 1), '/c');
  assert.equal(big.stats().entries, 0, 'capped at 8 MiB');
});

test('memory bound: purges and replacements give their bytes back', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = sized(clock, 1_000);
  await get(cache, up, '/a');
  await get(cache, up, '/b');
  clock.advance(601);
  await get(cache, up, '/a'); // replaced
  assert.equal(cache.stats().entries, 2);
  cache.purgeAll();
  assert.deepEqual({ entries: cache.stats().entries, bytes: cache.stats().bytes }, { entries: 0, bytes: 0 });
});

test('stats: hits, misses, stale, revalidated and bypass count each answer once', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin((req) => (req.headers['if-none-match'] !== undefined ? { status: 304, headers: { date: clock.date(), etag: '"e"' } } : { headers: { date: clock.date(), 'cache-control': 'max-age=10', etag: '"e"' } }));
  await get(cache, up, '/a'); // miss
  await get(cache, up, '/a'); // hit
  clock.advance(11);
  await get(cache, up, '/a', { 'cache-control': 'max-stale' }); // stale
  await get(cache, up, '/a'); // revalidated
  await get(cache, up, '/a', {}, 'POST'); // bypass
  const s = cache.stats();
  assert.deepEqual({ hits: s.hits, misses: s.misses, stale: s.stale, revalidated: s.revalidated, bypass: s.bypass }, { hits: 1, misses: 1, stale: 1, revalidated: 1, bypass: 1 });
});
