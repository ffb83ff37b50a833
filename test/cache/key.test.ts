// The primary cache key (RFC 9111 §2, §4; RFC 3986 §6.2.2).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cacheKey } from '../../src/cache/index.js';
import { Clock, get, newCache, origin } from './fixtures.js';

test('RFC 3986 §6.2.2.1: the host is case-insensitive, a trailing dot and the default port are dropped', async () => {
  assert.equal(cacheKey('Shop.Example.TEST:80', '/a').key, 'shop.example.test/a');
  assert.equal(cacheKey('shop.example.test.', '/a').key, 'shop.example.test/a');
  assert.equal(cacheKey('shop.example.test:8080', '/a').key, 'shop.example.test:8080/a', 'another port is another origin');
  assert.equal(cacheKey('[2001:DB8::1]:80', '/a').key, '[2001:db8::1]/a');
  assert.equal(cacheKey('[2001:db8::1]', '/a').key, '[2001:db8::1]/a');
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=60' } }));
  await get(cache, up, '/a', {}, 'GET', 'SHOP.example.test:80');
  assert.equal((await get(cache, up, '/a', {}, 'GET', 'shop.example.test')).status, 'hit');
});

test('RFC 3986 §6.2.2.1-2: percent-encodings get upper-case hex and unreserved characters are decoded; reserved stay encoded', async () => {
  assert.equal(cacheKey('h', '/%7euser/%61%62c%2fd%3a?q=%7E%2b').target, '/~user/abc%2Fd%3A?q=~%2B');
  assert.notEqual(cacheKey('h', '/a%2Fb').key, cacheKey('h', '/a/b').key);
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=60' } }));
  await get(cache, up, '/%7Euser/file%2etxt');
  assert.equal((await get(cache, up, '/~user/file.txt')).status, 'hit');
  assert.equal(up.calls[0]?.path, '/%7Euser/file%2etxt', 'upstream gets the target as received');
});

test('RFC 9111 §4: query parameters keep their order (not sorted: order can matter to the application)', () => {
  assert.notEqual(cacheKey('h', '/s?a=1&b=2').key, cacheKey('h', '/s?b=2&a=1').key);
  assert.equal(cacheKey('h', '/s?a=1&b=2').target, '/s?a=1&b=2');
});

test('RFC 3986 §3.5: the fragment is not part of the key', () => {
  assert.equal(cacheKey('h', '/a?x=1#top').key, cacheKey('h', '/a?x=1').key);
});

test('RFC 9112 §3.2.2: an absolute-form target supplies the host', () => {
  assert.equal(cacheKey('ignored.test', 'http://Shop.Example.Test:80/a?b').key, 'shop.example.test/a?b');
  assert.equal(cacheKey('ignored.test', 'http://user@shop.example.test').key, 'shop.example.test/');
});

test('RFC 9111 §2: GET and HEAD share one key; the method is not stored separately', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=60' } }));
  await get(cache, up, '/a', {}, 'HEAD');
  assert.equal((await get(cache, up, '/a', {}, 'GET')).status, 'hit');
  assert.equal((await get(cache, up, '/a', {}, 'get')).status, 'bypass', 'RFC 9110 §9.1: methods are case-sensitive; `get` is unknown, so unsafe');
  assert.equal(cache.stats().entries, 0, 'and an unknown method invalidates (RFC 9111 §4.4)');
});
