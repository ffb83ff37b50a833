// Request collapsing: concurrent misses for one key share one upstream fetch.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Clock, deferred, get, header, newCache, origin, settle, text, type Reply } from './fixtures.js';

test('RFC 9111 §4 (collapsing): 10 concurrent misses for one key make one upstream call', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const held = deferred<Reply>();
  const up = origin(() => held.promise);
  const rs = Promise.all(Array.from({ length: 10 }, () => get(cache, up, '/a')));
  await settle();
  held.resolve({ headers: { date: clock.date(), 'cache-control': 'max-age=60' }, body: Buffer.from('one') });
  const results = await rs;
  assert.equal(up.calls.length, 1);
  assert.deepEqual(new Set(results.map(text)), new Set(['one']));
  assert.ok(results.every((r) => r.status === 'miss'));
  assert.equal(cache.stats().collapsed, 9);
  assert.equal(cache.stats().misses, 10);
});

test('RFC 9111 §4 (collapsing): when the response may not be stored, waiters never get it — each asks upstream itself', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const held = deferred<Reply>();
  const up = origin((req, n) => (n === 1 ? held.promise : { headers: { date: clock.date(), 'cache-control': 'private' }, body: Buffer.from(`for ${String(req.headers['x-user'])}`) }));
  const rs = Promise.all(['alice', 'bob', 'carol'].map((u) => get(cache, up, '/me', { 'x-user': u })));
  await settle();
  held.resolve({ headers: { date: clock.date(), 'cache-control': 'private' }, body: Buffer.from('for alice') });
  const [a, b, c] = await rs;
  assert.equal(text(a!), 'for alice');
  assert.equal(text(b!), 'for bob');
  assert.equal(text(c!), 'for carol');
  assert.equal(up.calls.length, 3);
  assert.equal(cache.stats().collapsed, 2);
});

test('RFC 9111 §4 (collapsing): after an uncacheable response the key stops collapsing for a while (hit-for-miss)', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'no-store' } }));
  await get(cache, up, '/a');
  await Promise.all([1, 2, 3].map(() => get(cache, up, '/a')));
  assert.equal(cache.stats().collapsed, 0, 'they went straight upstream, in parallel');
  clock.advance(121);
  up.answer(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=60' } }));
  await Promise.all([1, 2, 3].map(() => get(cache, up, '/a')));
  assert.equal(cache.stats().collapsed, 2, 'collapsing again after 120 s');
});

test('RFC 9111 §4 (collapsing): an upstream failure is shared by the waiters, not retried by each', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const held = deferred<Reply>();
  const up = origin(() => held.promise);
  const rs = Promise.allSettled(Array.from({ length: 5 }, () => get(cache, up, '/a')));
  await settle();
  held.resolve(new Error('ECONNREFUSED'));
  const results = await rs;
  assert.ok(results.every((r) => r.status === 'rejected'));
  assert.equal(up.calls.length, 1);
});

test('RFC 5861 §4 (collapsing): waiters on a failed revalidation are answered from stale-if-error', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=10, stale-if-error=60' }, body: Buffer.from('v1') }));
  await get(cache, up, '/a');
  clock.advance(20);
  const held = deferred<Reply>();
  up.answer(() => held.promise);
  const rs = Promise.all(Array.from({ length: 5 }, () => get(cache, up, '/a')));
  await settle();
  held.resolve({ status: 503, headers: { date: clock.date() } });
  const results = await rs;
  assert.deepEqual(results.map((r) => r.status), ['stale', 'stale', 'stale', 'stale', 'stale']);
  assert.equal(up.calls.length, 2);
});

test('RFC 9111 §4.1 (collapsing): a waiter whose Vary fields differ from the fetched response gets its own fetch', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const held = deferred<Reply>();
  const up = origin((req, n) => (n === 1 ? held.promise : { headers: { date: clock.date(), 'cache-control': 'max-age=60', vary: 'accept-language' }, body: Buffer.from(`lang=${String(req.headers['accept-language'])}`) }));
  const en = get(cache, up, '/a', { 'accept-language': 'en' });
  const fr = get(cache, up, '/a', { 'accept-language': 'fr' });
  await settle();
  held.resolve({ headers: { date: clock.date(), 'cache-control': 'max-age=60', vary: 'accept-language' }, body: Buffer.from('lang=en') });
  assert.equal(text(await en), 'lang=en');
  assert.equal(text(await fr), 'lang=fr');
  assert.equal(up.calls.length, 2);
});

test('RFC 9111 §4.3 (collapsing): concurrent requests for a stale must-revalidate response make one revalidation', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=10, must-revalidate', etag: '"v1"' } }));
  await get(cache, up, '/a');
  clock.advance(11);
  const held = deferred<Reply>();
  up.answer(() => held.promise);
  const rs = Promise.all(Array.from({ length: 4 }, () => get(cache, up, '/a')));
  await settle();
  held.resolve({ status: 304, headers: { date: clock.date(), etag: '"v1"' } });
  const results = await rs;
  assert.deepEqual(results.map((r) => r.status), ['revalidated', 'revalidated', 'revalidated', 'revalidated']);
  assert.ok(results.every((r) => header(r, 'age') === '0'));
  assert.equal(up.calls.length, 2);
});

test('RFC 9111 §4 (collapsing): a waiter with Authorization is not handed a response it may not reuse (§3.5)', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const held = deferred<Reply>();
  const up = origin((_req, n) => (n === 1 ? held.promise : { headers: { date: clock.date(), 'cache-control': 'max-age=60' }, body: Buffer.from('for the authorized') }));
  const anon = get(cache, up, '/a');
  const authed = get(cache, up, '/a', { authorization: 'Bearer x' });
  await settle();
  held.resolve({ headers: { date: clock.date(), 'cache-control': 'max-age=60' }, body: Buffer.from('anonymous') });
  assert.equal(text(await anon), 'anonymous');
  assert.equal(text(await authed), 'for the authorized');
});
