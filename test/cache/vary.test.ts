// Secondary keys (RFC 9111 §4.1).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Clock, get, newCache, origin, text } from './fixtures.js';

function negotiating(clock: Clock, vary = 'Accept-Language') {
  return origin((req) => ({
    headers: { date: clock.date(), 'cache-control': 'max-age=60', vary },
    body: Buffer.from(`lang=${String(req.headers['accept-language'] ?? 'none')}`),
  }));
}

test('RFC 9111 §4.1: Vary selects the stored response by the nominated request fields', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = negotiating(clock);
  await get(cache, up, '/a', { 'accept-language': 'en' });
  const fr = await get(cache, up, '/a', { 'accept-language': 'fr' });
  assert.equal(fr.status, 'miss');
  assert.equal(text(fr), 'lang=fr');
  const en = await get(cache, up, '/a', { 'accept-language': 'en' });
  assert.equal(en.status, 'hit');
  assert.equal(text(en), 'lang=en');
});

test('RFC 9111 §4.1: several variants of one URL are stored side by side; a purge of the URL removes all', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = negotiating(clock);
  for (const l of ['en', 'fr', 'de']) await get(cache, up, '/a', { 'accept-language': l });
  assert.equal(cache.stats().entries, 3);
  for (const l of ['en', 'fr', 'de']) assert.equal(text(await get(cache, up, '/a', { 'accept-language': l })), `lang=${l}`);
  assert.equal(up.calls.length, 3);
  assert.equal(cache.purgeUrl('shop.example.test', '/a'), 3);
  assert.equal(cache.stats().entries, 0);
});

test('RFC 9111 §4.1: Vary: * never matches, so such a response is not stored', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = negotiating(clock, '*');
  await get(cache, up, '/a');
  assert.equal((await get(cache, up, '/a')).status, 'miss');
  assert.equal(cache.stats().entries, 0);
});

test('RFC 9111 §4.1: a field absent from the original request matches only a request without it', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = negotiating(clock);
  await get(cache, up, '/a');
  assert.equal((await get(cache, up, '/a', { 'accept-language': '' })).status, 'miss', 'empty is not absent');
  assert.equal((await get(cache, up, '/a')).status, 'hit');
});

test('RFC 9111 §4.1: field lines are combined and optional whitespace ignored before matching', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=60', vary: 'accept-encoding' } }));
  await cache.handle({ method: 'GET', path: '/a', host: 'shop.example.test', headers: { 'accept-encoding': ['gzip', 'br'] } }, up.fn);
  assert.equal((await get(cache, up, '/a', { 'accept-encoding': 'gzip ,  br' })).status, 'hit');
  assert.equal((await get(cache, up, '/a', { 'accept-encoding': 'br, gzip' })).status, 'miss', 'no field-specific reordering');
});

test('RFC 9111 §4.1: Vary names fields case-insensitively and may list several', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=60', vary: 'Accept-Language, X-Device' } }));
  await get(cache, up, '/a', { 'Accept-Language': 'en', 'x-device': 'mobile' });
  assert.equal((await get(cache, up, '/a', { 'accept-language': 'en', 'X-Device': 'mobile' })).status, 'hit');
  assert.equal((await get(cache, up, '/a', { 'accept-language': 'en', 'X-Device': 'desktop' })).status, 'miss');
});

test('RFC 9111 §4.1: a new response replaces only the variant the request selected', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = negotiating(clock);
  await get(cache, up, '/a', { 'accept-language': 'en' });
  await get(cache, up, '/a', { 'accept-language': 'fr' });
  clock.advance(61);
  await get(cache, up, '/a', { 'accept-language': 'en' });
  assert.equal(cache.stats().entries, 2);
  assert.equal(text(await get(cache, up, '/a', { 'accept-language': 'en' })), 'lang=en');
});
