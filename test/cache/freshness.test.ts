// Freshness (RFC 9111 §4.2): which lifetime applies, how age is computed, what is sent.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRules, ruleTtlMs } from '../../src/cache/rules.js';
import { Clock, get, header, newCache, origin, text } from './fixtures.js';

test('RFC 9111 §4.2.1: s-maxage overrides max-age for a shared cache', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=10, s-maxage=100' } }));
  assert.equal((await get(cache, up, '/a')).status, 'miss');
  clock.advance(50);
  assert.equal((await get(cache, up, '/a')).status, 'hit', 'fresh at 50 s: s-maxage=100, not max-age=10');
  clock.advance(51);
  assert.notEqual((await get(cache, up, '/a')).status, 'hit', 'stale after 100 s');
  assert.equal(up.calls.length, 2);
});

test('RFC 9111 §4.2.1: max-age overrides Expires', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), expires: clock.date(1000), 'cache-control': 'max-age=5' } }));
  await get(cache, up, '/a');
  clock.advance(6);
  assert.equal((await get(cache, up, '/a')).status, 'miss', 'stale after max-age although Expires is far');
});

test('RFC 9111 §4.2.1: without max-age the lifetime is Expires minus Date', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  // The origin's clock runs 1 h behind ours: Expires − Date still gives 60 s.
  const up = origin(() => ({ headers: { date: clock.date(-3600), expires: clock.date(-3600 + 60) } }));
  await get(cache, up, '/a');
  const r = await get(cache, up, '/a');
  assert.equal(r.status, 'miss', 'apparent age of 3600 s is beyond the 60 s lifetime');
  const clock2 = new Clock();
  const cache2 = newCache(clock2);
  const up2 = origin(() => ({ headers: { date: clock2.date(), expires: clock2.date(60) } }));
  await get(cache2, up2, '/a');
  clock2.advance(59);
  assert.equal((await get(cache2, up2, '/a')).status, 'hit');
  clock2.advance(1);
  assert.equal((await get(cache2, up2, '/a')).status, 'miss');
});

test('RFC 9111 §5.3: an invalid Expires, such as "0", means already expired', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), expires: '0', etag: '"v1"' } }));
  await get(cache, up, '/a');
  await get(cache, up, '/a');
  assert.equal(up.calls.length, 2, 'never served without validation');
  assert.equal(up.calls[1]?.headers['if-none-match'], '"v1"', 'stored (it has a validator) and revalidated');
});

test('RFC 9111 §4.2.1: max-age given twice with different values is treated as stale', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=600, max-age=60', etag: '"x"' } }));
  await get(cache, up, '/a');
  assert.equal((await get(cache, up, '/a')).status, 'miss');
  assert.equal(up.calls.length, 2);
});

test('RFC 9111 §5.2: directive names are case-insensitive and a quoted value is accepted', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'Public, MAX-AGE="30", ext="a, b"' } }));
  await get(cache, up, '/a');
  clock.advance(29);
  assert.equal((await get(cache, up, '/a')).status, 'hit');
});

test('RFC 9111 §4.2.2: heuristic freshness is 10% of Date minus Last-Modified', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'last-modified': clock.date(-1000) } }));
  await get(cache, up, '/a');
  clock.advance(99);
  assert.equal((await get(cache, up, '/a')).status, 'hit', 'fresh for 100 s');
  clock.advance(1);
  assert.notEqual((await get(cache, up, '/a')).status, 'hit');
});

test('RFC 9111 §4.2.2: heuristic freshness is capped at one day', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'last-modified': clock.date(-365 * 86_400) } }));
  await get(cache, up, '/a');
  clock.advance(86_399);
  assert.equal((await get(cache, up, '/a')).status, 'hit');
  clock.advance(1);
  assert.notEqual((await get(cache, up, '/a')).status, 'hit', '10% of a year would be 36.5 days');
});

test('RFC 9111 §4.2.2: no heuristic freshness for a status that is not heuristically cacheable (302)', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ status: 302, headers: { date: clock.date(), location: '/b', 'last-modified': clock.date(-1000) } }));
  await get(cache, up, '/a');
  await get(cache, up, '/a');
  assert.equal(up.calls.length, 2);
  assert.equal(cache.stats().entries, 0);
});

test('RFC 9111 §4.2.2: heuristic freshness applies to heuristically cacheable statuses such as 404 and 410', async () => {
  for (const status of [404, 410]) {
    const clock = new Clock();
    const cache = newCache(clock);
    const up = origin(() => ({ status, headers: { date: clock.date(), 'last-modified': clock.date(-1000) } }));
    await get(cache, up, '/gone');
    clock.advance(50);
    const r = await get(cache, up, '/gone');
    assert.equal(r.status, 'hit', `status ${status}`);
    assert.equal(r.response.status, status);
  }
});

test('RFC 9111 §4.2.2: a response marked public gets heuristic freshness even with a status that is not heuristically cacheable', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ status: 302, headers: { date: clock.date(), location: '/b', 'cache-control': 'public', 'last-modified': clock.date(-1000) } }));
  await get(cache, up, '/a');
  clock.advance(10);
  assert.equal((await get(cache, up, '/a')).status, 'hit');
});

test('RFC 9111 §4.2.2: a cache rule default_ttl is the lifetime of responses that state none', async () => {
  const clock = new Clock();
  const cache = newCache(clock, { rules: [{ match: '/static/**', defaultTtlMs: 3_600_000 }] });
  const up = origin(() => ({ headers: { date: clock.date() } }));
  await get(cache, up, '/static/css/site.css');
  clock.advance(3599);
  assert.equal((await get(cache, up, '/static/css/site.css')).status, 'hit');
  clock.advance(1);
  assert.equal((await get(cache, up, '/static/css/site.css')).status, 'miss');
  await get(cache, up, '/api/cart');
  await get(cache, up, '/api/cart');
  assert.equal(up.calls.filter((c) => c.path === '/api/cart').length, 2, 'no rule, no freshness, not stored');
});

test('RFC 9111 §4.2.2: a cache rule never overrides explicit freshness or applies to 5xx', async () => {
  const clock = new Clock();
  const cache = newCache(clock, { rules: [{ match: '/static/*', defaultTtlMs: 86_400_000 }] });
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=10' } }));
  await get(cache, up, '/static/a.js');
  clock.advance(11);
  assert.equal((await get(cache, up, '/static/a.js')).status, 'miss');
  up.answer(() => ({ status: 503, headers: { date: clock.date() } }));
  await get(cache, up, '/static/b.js');
  await get(cache, up, '/static/b.js');
  assert.equal(up.calls.filter((c) => c.path === '/static/b.js').length, 2);
});

test('RFC 9111 §4.2.2: rule patterns: * matches within one segment, ** across segments, query ignored', () => {
  const rules = compileRules([
    { match: '/static/*', defaultTtlMs: 1 },
    { match: '/img/**/*.png', defaultTtlMs: 2 },
    { match: '/v1.0/*', defaultTtlMs: 3 },
  ]);
  assert.equal(ruleTtlMs(rules, '/static/a.css'), 1);
  assert.equal(ruleTtlMs(rules, '/static/a/b.css'), null);
  assert.equal(ruleTtlMs(rules, '/img/x/y/z.png'), 2);
  assert.equal(ruleTtlMs(rules, '/img/x/y/z.jpg'), null);
  assert.equal(ruleTtlMs(rules, '/v1x0/a'), null, 'a dot is literal');
});

test('RFC 9111 §4.2.3: age includes the apparent age from Date', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(-40), 'cache-control': 'max-age=60' } }));
  await get(cache, up, '/a');
  clock.advance(10);
  const r = await get(cache, up, '/a');
  assert.equal(r.status, 'hit');
  assert.equal(header(r, 'age'), '50', 'apparent age 40 s + 10 s resident');
  clock.advance(10);
  assert.equal((await get(cache, up, '/a')).status, 'miss', 'stale at 60 s');
});

test('RFC 9111 §4.2.3: age adds the upstream Age and the response delay', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => {
    clock.advance(3); // the origin takes 3 s to answer
    return { headers: { date: clock.date(), age: '20', 'cache-control': 'max-age=60' } };
  });
  await get(cache, up, '/a');
  const r = await get(cache, up, '/a');
  assert.equal(header(r, 'age'), '23', 'corrected_age_value = 20 + 3 s response delay');
  assert.equal(r.ageSec, 23);
});

test('RFC 9111 §4.2.3: an upstream Age beyond max-age makes the response stale on arrival', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), age: '120', 'cache-control': 'max-age=60', etag: '"a"' } }));
  await get(cache, up, '/a');
  assert.notEqual((await get(cache, up, '/a')).status, 'hit');
});

test('RFC 9111 §5.1: every response from the cache carries Age in whole seconds; a miss does not get one', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=60' } }));
  const miss = await get(cache, up, '/a');
  assert.equal(header(miss, 'age'), undefined);
  assert.equal(miss.ageSec, null);
  clock.ms += 2500;
  const hit = await get(cache, up, '/a');
  assert.equal(header(hit, 'age'), '2');
  assert.equal(hit.ageSec, 2);
  assert.equal(text(hit), 'body 1');
});

test('RFC 9111 §4.2: fresh exactly while freshness_lifetime > current_age', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=10' } }));
  await get(cache, up, '/a');
  clock.ms += 9_999;
  assert.equal((await get(cache, up, '/a')).status, 'hit');
  clock.ms += 1;
  assert.equal((await get(cache, up, '/a')).status, 'miss', 'age 10 = lifetime 10: stale');
});

test('RFC 9110 §6.6.1: a response without Date is dated when received, and its age counts from then', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { 'cache-control': 'max-age=30' } }));
  const miss = await get(cache, up, '/a');
  assert.equal(header(miss, 'date'), clock.date());
  clock.advance(29);
  assert.equal((await get(cache, up, '/a')).status, 'hit');
});

test('RFC 9111 §5.1: an Age field that is not a non-negative integer is ignored', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), age: '-5, garbage', 'cache-control': 'max-age=60' } }));
  await get(cache, up, '/a');
  clock.advance(3);
  assert.equal(header(await get(cache, up, '/a'), 'age'), '3');
});
