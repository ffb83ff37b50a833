// Validation (RFC 9111 §4.3): conditional requests, 304 handling, client conditionals.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Clock, get, header, newCache, origin, text } from './fixtures.js';

test('RFC 9111 §4.3.1: a stale response with an ETag is validated with If-None-Match', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin((req) => (req.headers['if-none-match'] === '"v1"' ? { status: 304, headers: { date: clock.date(), etag: '"v1"' } } : { headers: { date: clock.date(), 'cache-control': 'max-age=10', etag: '"v1"' } }));
  await get(cache, up, '/a');
  clock.advance(11);
  const r = await get(cache, up, '/a');
  assert.equal(r.status, 'revalidated');
  assert.equal(r.response.status, 200);
  assert.equal(text(r), 'body 1', 'the stored body');
  assert.equal(up.calls[1]?.headers['if-none-match'], '"v1"');
});

test('RFC 9111 §4.3.1: with only Last-Modified the cache sends If-Modified-Since', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const lm = clock.date(-3600);
  const up = origin((req) => (req.headers['if-modified-since'] === lm ? { status: 304, headers: { date: clock.date() } } : { headers: { date: clock.date(), 'cache-control': 'max-age=10', 'last-modified': lm } }));
  await get(cache, up, '/a');
  clock.advance(11);
  assert.equal((await get(cache, up, '/a')).status, 'revalidated');
  assert.equal(up.calls[1]?.headers['if-none-match'], undefined);
});

test('RFC 9111 §4.3.4: a 304 replaces stored fields, adds new ones (§3.2) and makes the response fresh again', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=10', etag: '"v1"', 'x-version': 'old', 'content-type': 'text/plain' } }));
  await get(cache, up, '/a');
  clock.advance(11);
  up.answer(() => ({ status: 304, headers: { date: clock.date(), etag: '"v1"', 'cache-control': 'max-age=100', 'x-version': 'new', 'x-added': 'yes' } }));
  const r = await get(cache, up, '/a');
  assert.equal(r.status, 'revalidated');
  assert.equal(header(r, 'x-version'), 'new');
  assert.equal(header(r, 'x-added'), 'yes', 'http-cache-semantics would drop a field the stored response lacked');
  assert.equal(header(r, 'content-type'), 'text/plain');
  assert.equal(header(r, 'age'), '0');
  clock.advance(90);
  const hit = await get(cache, up, '/a');
  assert.equal(hit.status, 'hit', 'fresh under the max-age=100 the 304 brought');
  assert.equal(header(hit, 'x-added'), 'yes');
  assert.equal(up.calls.length, 2);
});

test('RFC 9111 §3.2: a 304 does not change Content-Length or Content-Encoding of the stored body', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=10', etag: '"v1"', 'content-length': '6', 'content-encoding': 'identity' } }));
  await get(cache, up, '/a');
  clock.advance(11);
  up.answer(() => ({ status: 304, headers: { date: clock.date(), etag: '"v1"', 'content-length': '0', 'content-encoding': 'gzip' } }));
  const r = await get(cache, up, '/a');
  assert.equal(header(r, 'content-length'), '6');
  assert.equal(header(r, 'content-encoding'), 'identity');
});

test('RFC 9111 §4.3.4: a 304 with a weak ETag selects the stored response with the same weak ETag', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=10', etag: 'W/"v1"' } }));
  await get(cache, up, '/a');
  clock.advance(11);
  up.answer(() => ({ status: 304, headers: { date: clock.date(), etag: 'W/"v1"' } }));
  assert.equal((await get(cache, up, '/a')).status, 'revalidated');
  assert.equal(up.calls[1]?.headers['if-none-match'], 'W/"v1"', 'weak validators are fine in If-None-Match on GET');
});

test('RFC 9111 §4.3.4: a 304 whose validator selects nothing updates nothing; the cache asks again without conditions', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=10', etag: '"v1"' } }));
  await get(cache, up, '/a');
  clock.advance(11);
  up.answer((req) => (req.headers['if-none-match'] !== undefined ? { status: 304, headers: { date: clock.date(), etag: '"v2"' } } : { headers: { date: clock.date(), 'cache-control': 'max-age=10', etag: '"v2"' }, body: Buffer.from('v2') }));
  const r = await get(cache, up, '/a');
  assert.equal(r.status, 'miss');
  assert.equal(text(r), 'v2');
  assert.equal(up.calls.length, 3);
  assert.equal(up.calls[2]?.headers['if-none-match'], undefined);
  assert.equal(text(await get(cache, up, '/a')), 'v2');
});

test('RFC 9111 §4.3.4: a strong ETag in a 304 does not select a stored weak ETag', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=10', etag: 'W/"v1"' } }));
  await get(cache, up, '/a');
  clock.advance(11);
  up.answer((req) => (req.headers['if-none-match'] !== undefined ? { status: 304, headers: { date: clock.date(), etag: '"v1"' } } : { headers: { date: clock.date(), 'cache-control': 'max-age=10' }, body: Buffer.from('fresh') }));
  assert.equal(text(await get(cache, up, '/a')), 'fresh');
});

test('RFC 9111 §4.3.3: a full 200 on revalidation replaces the stored response', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=10', etag: '"v1"' }, body: Buffer.from('v1') }));
  await get(cache, up, '/a');
  clock.advance(11);
  up.answer(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=10', etag: '"v2"' }, body: Buffer.from('v2') }));
  const r = await get(cache, up, '/a');
  assert.equal(r.status, 'miss');
  assert.equal(text(r), 'v2');
  assert.equal(cache.stats().entries, 1);
  const hit = await get(cache, up, '/a');
  assert.equal(hit.status, 'hit');
  assert.equal(text(hit), 'v2');
});

test('RFC 9111 §4.3.3: a full response that may not be stored removes the one it supersedes', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=10', etag: '"v1"' } }));
  await get(cache, up, '/a');
  clock.advance(11);
  up.answer(() => ({ headers: { date: clock.date(), 'cache-control': 'no-store' } }));
  await get(cache, up, '/a');
  assert.equal(cache.stats().entries, 0);
});

test('RFC 9111 §4.3.2: the cache answers a client If-None-Match itself, with 304 from the stored response', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=60', etag: '"v1"', 'content-type': 'text/plain' } }));
  await get(cache, up, '/a');
  const r = await get(cache, up, '/a', { 'if-none-match': 'W/"v0", "v1"' });
  assert.equal(r.status, 'hit');
  assert.equal(r.response.status, 304);
  assert.equal(r.response.body.length, 0);
  assert.equal(header(r, 'etag'), '"v1"');
  assert.equal(header(r, 'content-type'), undefined);
  assert.equal(header(r, 'age'), '0');
  assert.equal((await get(cache, up, '/a', { 'if-none-match': '"other"' })).response.status, 200);
  assert.equal(up.calls.length, 1);
});

test('RFC 9111 §4.3.2: the cache answers a client If-Modified-Since from Last-Modified', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const lm = clock.date(-3600);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=60', 'last-modified': lm } }));
  await get(cache, up, '/a');
  const r = await get(cache, up, '/a', { 'if-modified-since': lm });
  assert.equal(r.response.status, 304);
  assert.equal(header(r, 'last-modified'), lm, 'no ETag: Last-Modified guides the client update');
  assert.equal((await get(cache, up, '/a', { 'if-modified-since': clock.date(-7200) })).response.status, 200);
});

test('RFC 9111 §4.3.2: on a miss the client conditionals are not forwarded; the cache evaluates them on the full response', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=60', etag: '"v1"' } }));
  const r = await get(cache, up, '/a', { 'if-none-match': '"v1"' });
  assert.equal(up.calls[0]?.headers['if-none-match'], undefined);
  assert.equal(r.status, 'miss');
  assert.equal(r.response.status, 304);
  assert.equal(text(await get(cache, up, '/a')), 'body 1', 'and the full response was stored');
});

test('RFC 9110 §13.1: If-Match, If-Unmodified-Since, If-Range and Range pass through the cache untouched', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=60' } }));
  await get(cache, up, '/a');
  for (const h of [{ 'if-match': '"v1"' }, { 'if-unmodified-since': clock.date() }, { range: 'bytes=0-1' }, { range: 'bytes=0-1', 'if-range': '"v1"' }]) {
    const r = await get(cache, up, '/a', h);
    assert.equal(r.status, 'bypass', JSON.stringify(h));
  }
  assert.equal(up.calls.length, 5);
  assert.equal(up.calls[4]?.headers.range, 'bytes=0-1');
});

test('RFC 9111 §5.2.1.5: a request with no-store that revalidates leaves the stored response as it was', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=10', etag: '"v1"' } }));
  await get(cache, up, '/a');
  clock.advance(11);
  up.answer(() => ({ status: 304, headers: { date: clock.date(), etag: '"v1"', 'cache-control': 'max-age=100' } }));
  const r = await get(cache, up, '/a', { 'cache-control': 'no-store' });
  assert.equal(r.status, 'revalidated');
  assert.equal(header(r, 'cache-control'), 'max-age=100', 'the client sees the merged response');
  assert.equal(cache.stats().entries, 1);
  assert.equal((await get(cache, up, '/a')).status, 'revalidated', 'the stored one was not freshened');
});

test('RFC 9111 §4.3.4: a 304 that brings no-store removes the stored response', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=10', etag: '"v1"' } }));
  await get(cache, up, '/a');
  clock.advance(11);
  up.answer(() => ({ status: 304, headers: { date: clock.date(), etag: '"v1"', 'cache-control': 'no-store' } }));
  const r = await get(cache, up, '/a');
  assert.equal(r.status, 'revalidated');
  assert.equal(text(r), 'body 1');
  assert.equal(cache.stats().entries, 0);
});

test('RFC 9111 §4.3.1: the client validators never reach upstream alongside the cache validators', async () => {
  const clock = new Clock();
  const cache = newCache(clock);
  const up = origin(() => ({ headers: { date: clock.date(), 'cache-control': 'max-age=10', etag: '"v1"' } }));
  await get(cache, up, '/a');
  clock.advance(11);
  await get(cache, up, '/a', { 'if-none-match': '"client-copy"', 'if-modified-since': clock.date(-5) });
  assert.equal(up.calls[1]?.headers['if-none-match'], '"v1"', 'only the stored ETag: a 304 can then only be about our copy');
  assert.equal(up.calls[1]?.headers['if-modified-since'], undefined);
});
