import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HttpCache, PassThroughSignal, type CacheRequest } from '../../src/cache/index.js';

const req: CacheRequest = { method: 'GET', path: '/asset', host: 'shop.example.test', headers: {} };

describe('pass-through responses (too large for the cache)', () => {
  it('go back to the caller as they are: no stale-if-error, even with a stale copy stored', async () => {
    let now = 1_800_000_000_000;
    const cache = new HttpCache({ maxBytes: 1e6, now: () => now });
    const date = (): string => new Date(now).toUTCString();
    await cache.handle(req, async () => ({ status: 200, headers: { date: date(), 'cache-control': 'max-age=10, stale-if-error=600' }, body: Buffer.from('small') }));
    now += 60_000; // stale, but within stale-if-error
    const signal = new PassThroughSignal(() => undefined);
    await assert.rejects(cache.handle(req, async () => { throw signal; }), (e) => e === signal);
  });
  it('let collapsed waiters fetch for themselves instead of sharing a failure', async () => {
    const cache = new HttpCache({ maxBytes: 1e6 });
    let calls = 0;
    const upstream = async (): Promise<never> => {
      calls++;
      await new Promise((r) => setTimeout(r, 20));
      throw new PassThroughSignal(() => undefined);
    };
    const results = await Promise.allSettled([cache.handle(req, upstream), cache.handle(req, upstream), cache.handle(req, upstream)]);
    assert.ok(results.every((r) => r.status === 'rejected' && r.reason instanceof PassThroughSignal));
    assert.equal(calls, 3, 'each request got its own (streamed) response');
  });
});
