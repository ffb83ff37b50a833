// The RFC-named cache cases again, over real sockets THROUGH THE REAL GATEWAY: a RegionNode
// (roles ['gateway'], one region, 127.37.1.1:8080) whose application is a scriptable
// origin (127.37.1.1:9000), its cache on a fake clock the origin dates its responses with.
// Each case asserts what a client sees — status, body, x-meridian-cache (the gateway says
// `miss` for the cache's `bypass`), Age — and how often the origin was asked.


import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { CacheGateway, held, host, sleep, until, upstreamTimeoutMs, type GatewayResponse, type OriginAnswer } from './gateway-fixtures.js';


const g = new CacheGateway();
const { clock, origin } = g;
/** Every case gets its own path prefix: scripts, hit counts and cache keys never mix. */
let base = '';
let caseNo = 0;
const p = (s: string): string => `${base}${s}`;
const send = g.send.bind(g);

function all(n: number, f: (i: number) => Promise<GatewayResponse>): Promise<GatewayResponse[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => f(i)));
}

/** Waits until `n` more requests have been collapsed behind a fetch in flight than `from`. */
async function collapsed(from: number, n: number): Promise<void> {
  await until(() => g.stats().collapsed - from >= n, `${n} collapsed requests`);
}

describe('RFC 9111 / RFC 5861 through the real gateway (RegionNode on 127.37.1.1:8080)', { timeout: 60_000 }, () => {
  before(() => g.start());
  after(() => g.stop());
  beforeEach(async () => {
    base = `/c${++caseNo}`;
    // Whole seconds, as in a fresh Clock: the origin's Date header has no finer resolution.
    clock.ms = Math.ceil(clock.ms / 1000) * 1000;
    origin.reset();
    const r = await g.purge({ all: true });
    assert.equal(r.status, 200);
  });

  describe('freshness (§4.2)', () => {
    test('RFC 9111 §4.2.1: s-maxage overrides max-age for a shared cache', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'max-age=10, s-maxage=100' } }));
      assert.equal((await send(p('/a'))).cache, 'miss');
      clock.advance(50);
      const r = await send(p('/a'));
      assert.equal(r.cache, 'hit', 'fresh at 50 s: s-maxage=100, not max-age=10');
      assert.equal(r.age, '50');
      assert.equal(r.h('x-meridian-route'), 'cache hit (age 50s)');
      clock.advance(51);
      assert.notEqual((await send(p('/a'))).cache, 'hit', 'stale after 100 s');
      assert.equal(origin.hits(p('/a')), 2);
    });

    test('RFC 9111 §4.2.1: max-age overrides Expires', async () => {
      origin.on(p('/a'), () => ({ headers: { expires: clock.date(1000), 'cache-control': 'max-age=5' } }));
      await send(p('/a'));
      clock.advance(6);
      assert.equal((await send(p('/a'))).cache, 'miss', 'stale after max-age although Expires is far');
      assert.equal(origin.hits(p('/a')), 2);
    });

    test('RFC 9111 §4.2.1: without max-age the lifetime is Expires minus Date', async () => {
      // The origin's clock runs 1 h behind ours: Expires − Date still gives 60 s.
      origin.on(p('/behind'), () => ({ headers: { date: clock.date(-3600), expires: clock.date(-3600 + 60) } }));
      await send(p('/behind'));
      assert.equal((await send(p('/behind'))).cache, 'miss', 'apparent age of 3600 s is beyond the 60 s lifetime');
      origin.on(p('/a'), () => ({ headers: { expires: clock.date(60) } }));
      await send(p('/a'));
      clock.advance(59);
      assert.equal((await send(p('/a'))).cache, 'hit');
      clock.advance(1);
      assert.equal((await send(p('/a'))).cache, 'miss');
    });

    test('RFC 9111 §5.3: an invalid Expires, such as "0", means already expired', async () => {
      origin.on(p('/a'), () => ({ headers: { expires: '0', etag: '"v1"' } }));
      await send(p('/a'));
      await send(p('/a'));
      assert.equal(origin.hits(p('/a')), 2, 'never served without validation');
      assert.equal(origin.requests(p('/a'))[1]?.headers['if-none-match'], '"v1"', 'stored (it has a validator) and revalidated');
    });

    test('RFC 9111 §4.2.1: max-age given twice with different values is treated as stale', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'max-age=600, max-age=60', etag: '"x"' } }));
      await send(p('/a'));
      assert.equal((await send(p('/a'))).cache, 'miss');
      assert.equal(origin.hits(p('/a')), 2);
    });

    test('RFC 9111 §5.2: directive names are case-insensitive and a quoted value is accepted', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'Public, MAX-AGE="30", ext="a, b"' } }));
      await send(p('/a'));
      clock.advance(29);
      assert.equal((await send(p('/a'))).cache, 'hit');
    });

    test('RFC 9111 §4.2.2: heuristic freshness is 10% of Date minus Last-Modified', async () => {
      origin.on(p('/a'), () => ({ headers: { 'last-modified': clock.date(-1000) } }));
      await send(p('/a'));
      clock.advance(99);
      assert.equal((await send(p('/a'))).cache, 'hit', 'fresh for 100 s');
      clock.advance(1);
      assert.notEqual((await send(p('/a'))).cache, 'hit');
    });

    test('RFC 9111 §4.2.2: heuristic freshness is capped at one day', async () => {
      origin.on(p('/a'), () => ({ headers: { 'last-modified': clock.date(-365 * 86_400) } }));
      await send(p('/a'));
      clock.advance(86_399);
      assert.equal((await send(p('/a'))).cache, 'hit');
      clock.advance(1);
      assert.notEqual((await send(p('/a'))).cache, 'hit', '10% of a year would be 36.5 days');
    });

    test('RFC 9111 §4.2.2: no heuristic freshness for a status that is not heuristically cacheable (302)', async () => {
      origin.on(p('/a'), () => ({ status: 302, headers: { location: '/b', 'last-modified': clock.date(-1000) } }));
      assert.equal((await send(p('/a'))).status, 302);
      await send(p('/a'));
      assert.equal(origin.hits(p('/a')), 2);
      assert.equal(g.stats().entries, 0);
    });

    test('RFC 9111 §4.2.2: heuristic freshness applies to heuristically cacheable statuses such as 404 and 410', async () => {
      for (const status of [404, 410]) {
        origin.on(p(`/gone-${status}`), () => ({ status, headers: { 'last-modified': clock.date(-1000) } }));
        await send(p(`/gone-${status}`));
        clock.advance(50);
        const r = await send(p(`/gone-${status}`));
        assert.equal(r.cache, 'hit', `status ${status}`);
        assert.equal(r.status, status);
        assert.equal(origin.hits(p(`/gone-${status}`)), 1);
      }
    });

    test('RFC 9111 §4.2.2: a response marked public gets heuristic freshness even with a status that is not heuristically cacheable', async () => {
      origin.on(p('/a'), () => ({ status: 302, headers: { location: '/b', 'cache-control': 'public', 'last-modified': clock.date(-1000) } }));
      await send(p('/a'));
      clock.advance(10);
      const r = await send(p('/a'));
      assert.equal(r.cache, 'hit');
      assert.equal(r.status, 302);
    });

    test('RFC 9111 §4.2.2: a cache rule default_ttl is the lifetime of responses that state none', async () => {
      // The node's topology has cache.rules: [{ match: '/static/**', default_ttl: 1h }].
      const css = `/static${base}/css/site.css`;
      origin.on(css, () => ({}));
      origin.on(p('/api/cart'), () => ({}));
      await send(css);
      clock.advance(3599);
      assert.equal((await send(css)).cache, 'hit');
      clock.advance(1);
      assert.equal((await send(css)).cache, 'miss');
      await send(p('/api/cart'));
      await send(p('/api/cart'));
      assert.equal(origin.hits(p('/api/cart')), 2, 'no rule, no freshness, not stored');
    });

    test('RFC 9111 §4.2.2: a cache rule never overrides explicit freshness or applies to 5xx', async () => {
      const a = `/static${base}/a.js`;
      const b = `/static${base}/b.js`;
      origin.on(a, () => ({ headers: { 'cache-control': 'max-age=10' } }));
      origin.on(b, () => ({ status: 503 }));
      await send(a);
      clock.advance(11);
      assert.equal((await send(a)).cache, 'miss');
      assert.equal((await send(b)).status, 503);
      await send(b);
      assert.equal(origin.hits(b), 2);
    });

    test('RFC 9111 §4.2.3: age includes the apparent age from Date', async () => {
      origin.on(p('/a'), () => ({ headers: { date: clock.date(-40), 'cache-control': 'max-age=60' } }));
      await send(p('/a'));
      clock.advance(10);
      const r = await send(p('/a'));
      assert.equal(r.cache, 'hit');
      assert.equal(r.age, '50', 'apparent age 40 s + 10 s resident');
      clock.advance(10);
      assert.equal((await send(p('/a'))).cache, 'miss', 'stale at 60 s');
    });

    test('RFC 9111 §4.2.3: age adds the upstream Age and the response delay', async () => {
      origin.on(p('/a'), () => {
        clock.advance(3); // the origin takes 3 s to answer
        return { headers: { date: clock.date(), age: '20', 'cache-control': 'max-age=60' } };
      });
      await send(p('/a'));
      const r = await send(p('/a'));
      assert.equal(r.cache, 'hit');
      assert.equal(r.age, '23', 'corrected_age_value = 20 + 3 s response delay');
    });

    test('RFC 9111 §4.2.3: an upstream Age beyond max-age makes the response stale on arrival', async () => {
      origin.on(p('/a'), () => ({ headers: { age: '120', 'cache-control': 'max-age=60', etag: '"a"' } }));
      await send(p('/a'));
      assert.notEqual((await send(p('/a'))).cache, 'hit');
      assert.equal(origin.hits(p('/a')), 2);
    });

    test('RFC 9111 §5.1: every response from the cache carries Age in whole seconds; a miss does not get one', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'max-age=60' } }));
      const miss = await send(p('/a'));
      assert.equal(miss.cache, 'miss');
      assert.equal(miss.age, undefined);
      clock.ms += 2500;
      const hit = await send(p('/a'));
      assert.equal(hit.age, '2');
      assert.equal(hit.text, 'body 1');
    });

    test('RFC 9111 §4.2: fresh exactly while freshness_lifetime > current_age', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'max-age=10' } }));
      await send(p('/a'));
      clock.ms += 9_999;
      assert.equal((await send(p('/a'))).cache, 'hit');
      clock.ms += 1;
      assert.equal((await send(p('/a'))).cache, 'miss', 'age 10 = lifetime 10: stale');
    });

    test('RFC 9110 §6.6.1: a response without Date is dated when received, and its age counts from then', async () => {
      origin.on(p('/a'), () => ({ headers: { date: undefined, 'cache-control': 'max-age=30' } }));
      const miss = await send(p('/a'));
      assert.equal(miss.h('date'), clock.date());
      clock.advance(29);
      const hit = await send(p('/a'));
      assert.equal(hit.cache, 'hit');
      assert.equal(hit.age, '29');
    });

    test('RFC 9111 §5.1: an Age field that is not a non-negative integer is ignored', async () => {
      origin.on(p('/a'), () => ({ headers: { age: '-5, garbage', 'cache-control': 'max-age=60' } }));
      await send(p('/a'));
      clock.advance(3);
      assert.equal((await send(p('/a'))).age, '3');
    });
  });

  describe('storing and reuse (§3, §3.5, §5.2)', () => {
    test('RFC 9111 §3: HEAD is answered from a stored GET response, without a body', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'max-age=60' }, body: 'body 1' }));
      await send(p('/a'));
      const head = await send(p('/a'), { method: 'HEAD' });
      assert.equal(head.cache, 'hit');
      assert.equal(head.bytes, 0);
      assert.equal(head.h('content-length'), '6', 'the GET response fields');
      assert.equal(origin.hits(p('/a')), 1);
    });

    test('RFC 9111 §3: a HEAD miss is fetched as GET so it fills the cache; the client gets no body', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'max-age=60' } }));
      const head = await send(p('/a'), { method: 'HEAD' });
      assert.equal(head.cache, 'miss');
      assert.equal(head.bytes, 0);
      assert.equal(origin.requests(p('/a'))[0]?.method, 'GET');
      const r = await send(p('/a'));
      assert.equal(r.cache, 'hit');
      assert.equal(r.text, 'body 1');
    });

    test('RFC 9111 §5.2.2.5: a response with no-store is never stored', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'no-store, max-age=60' } }));
      await send(p('/a'));
      assert.equal((await send(p('/a'))).cache, 'miss');
      assert.equal(g.stats().entries, 0);
    });

    test('RFC 9111 §5.2.1.5: a request with no-store: its response is not stored', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'max-age=60' } }));
      await send(p('/a'), { headers: { 'cache-control': 'no-store' } });
      assert.equal(g.stats().entries, 0);
      await send(p('/a'));
      assert.equal((await send(p('/a'), { headers: { 'cache-control': 'no-store' } })).cache, 'hit', 'a stored response may still answer it');
      assert.equal(origin.hits(p('/a')), 2);
    });

    test('RFC 9111 §5.2.2.7: a private response is never stored by a shared cache, qualified or not', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'private, max-age=60' } }));
      origin.on(p('/b'), () => ({ headers: { 'cache-control': 'private="x-user", max-age=60' } }));
      await send(p('/a'));
      await send(p('/b'));
      assert.equal(g.stats().entries, 0);
      assert.equal((await send(p('/a'))).cache, 'miss');
    });

    test('RFC 9111 §3.5: a response to a request with Authorization is not stored without public, s-maxage or must-revalidate', async () => {
      origin.on(p('/me'), () => ({ headers: { 'cache-control': 'max-age=60' } }));
      await send(p('/me'), { headers: { authorization: 'Bearer alice' } });
      const r = await send(p('/me'), { headers: { authorization: 'Bearer bob' } });
      assert.equal(r.cache, 'miss');
      assert.equal(r.text, 'body 2', 'bob never sees alice');
      assert.equal(g.stats().entries, 0);
    });

    test('RFC 9111 §3.5: with public, s-maxage or must-revalidate it is stored and reused for requests with Authorization', async () => {
      for (const [i, cc] of ['public, max-age=60', 's-maxage=60', 'must-revalidate, max-age=60'].entries()) {
        origin.on(p(`/doc${i}`), () => ({ headers: { 'cache-control': cc } }));
        await send(p(`/doc${i}`), { headers: { authorization: 'Bearer alice' } });
        const r = await send(p(`/doc${i}`), { headers: { authorization: 'Bearer bob' } });
        assert.equal(r.cache, 'hit', cc);
        assert.equal(origin.hits(p(`/doc${i}`)), 1, cc);
      }
    });

    test('RFC 9111 §3.5: a stored response that does not allow it never answers a request with Authorization', async () => {
      origin.on(p('/doc'), () => ({ headers: { 'cache-control': 'max-age=60' } }));
      await send(p('/doc'));
      const r = await send(p('/doc'), { headers: { authorization: 'Bearer alice' } });
      assert.equal(r.cache, 'miss');
      assert.equal(origin.hits(p('/doc')), 2);
      assert.equal((await send(p('/doc'))).cache, 'hit', 'the stored response still serves anonymous requests');
    });

    test('RFC 9111 §3 (Set-Cookie, our choice): a response with Set-Cookie is not stored unless Cache-Control: public', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 's-maxage=60', 'set-cookie': 'sid=alice' } }));
      await send(p('/a'));
      const r = await send(p('/a'));
      assert.equal(r.cache, 'miss');
      assert.equal(r.h('set-cookie'), 'sid=alice');
      assert.equal(g.stats().entries, 0, 's-maxage alone does not opt in');
    });

    test('RFC 9111 §3 (Set-Cookie, our choice): with public it is stored without Set-Cookie; the first requester still gets it', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'public, max-age=60', 'set-cookie': ['sid=alice', 'theme=dark'] } }));
      const first = await send(p('/a'));
      assert.deepEqual(first.headers['set-cookie'], ['sid=alice', 'theme=dark']);
      const hit = await send(p('/a'));
      assert.equal(hit.cache, 'hit');
      assert.equal(hit.headers['set-cookie'], undefined);
    });

    test('RFC 9111 §3: a status code the cache does not understand is not stored', async () => {
      origin.on(p('/teapot'), () => ({ status: 418, headers: { 'cache-control': 'public, max-age=60' } }));
      origin.on(p('/partial'), () => ({ status: 206, headers: { 'cache-control': 'public, max-age=60', 'content-range': 'bytes 0-5/10' } }));
      assert.equal((await send(p('/teapot'))).status, 418);
      assert.equal((await send(p('/partial'))).status, 206);
      assert.equal(g.stats().entries, 0);
    });

    test('RFC 9111 §5.2.2.3: must-understand lets an understood status be stored despite no-store', async () => {
      origin.on(p('/ok'), () => ({ headers: { 'cache-control': 'must-understand, no-store, max-age=60' } }));
      origin.on(p('/teapot'), () => ({ status: 418, headers: { 'cache-control': 'must-understand, no-store, max-age=60' } }));
      await send(p('/ok'));
      assert.equal((await send(p('/ok'))).cache, 'hit');
      await send(p('/teapot'));
      assert.equal((await send(p('/teapot'))).cache, 'miss', 'a status not understood is still not stored');
    });

    test('RFC 9111 §5.2.2.4: a no-cache response is stored but validated before every reuse', async () => {
      origin.on(p('/a'), (req) => (req.headers['if-none-match'] === '"v1"' ? { status: 304, headers: { etag: '"v1"' } } : { headers: { 'cache-control': 'no-cache, max-age=600', etag: '"v1"' } }));
      await send(p('/a'));
      const r = await send(p('/a'));
      assert.equal(r.cache, 'revalidated');
      assert.equal(r.text, 'body 1');
      assert.equal(origin.hits(p('/a')), 2);
      assert.equal((await send(p('/a'), { headers: { 'cache-control': 'max-stale' } })).cache, 'revalidated', 'max-stale does not loosen no-cache');
    });

    test('RFC 9111 §5.2.2.2: must-revalidate: a fresh response is served from the cache', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'max-age=60, must-revalidate' } }));
      await send(p('/a'));
      clock.advance(30);
      assert.equal((await send(p('/a'))).cache, 'hit');
      assert.equal(origin.hits(p('/a')), 1);
    });

    test('RFC 9111 §5.2.2.2: must-revalidate: once stale it is never served stale; 504 when upstream cannot be reached', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'max-age=60, must-revalidate, stale-if-error=600, stale-while-revalidate=600', etag: '"v1"' } }));
      await send(p('/a'));
      clock.advance(61);
      origin.on(p('/a'), () => 'reset');
      const down = await send(p('/a'), { headers: { 'cache-control': 'max-stale=600' } });
      assert.notEqual(down.text, 'body 1', 'never the stale body');
      assert.equal(down.status, 504);
      origin.on(p('/a'), () => ({ status: 503 }));
      assert.equal((await send(p('/a'))).status, 503, 'a 5xx answer is passed on, not replaced by stale');
    });

    test('RFC 9111 §5.2.2.8: proxy-revalidate: fresh responses are served, stale ones never (same as must-revalidate for a shared cache)', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'max-age=60, proxy-revalidate', etag: '"p"' } }));
      await send(p('/a'));
      clock.advance(59);
      assert.equal((await send(p('/a'))).cache, 'hit', 'http-cache-semantics alone would give it a lifetime of 0');
      clock.advance(2);
      origin.on(p('/a'), () => 'reset');
      const r = await send(p('/a'), { headers: { 'cache-control': 'max-stale' } });
      assert.notEqual(r.text, 'body 1', 'never the stale body');
      assert.equal(r.status, 504);
    });

    test('RFC 9111 §5.2.1.4: a request with no-cache is validated with upstream', async () => {
      origin.on(p('/a'), (req) => (req.headers['if-none-match'] !== undefined ? { status: 304, headers: { etag: '"v1"' } } : { headers: { 'cache-control': 'max-age=600', etag: '"v1"' } }));
      await send(p('/a'));
      const r = await send(p('/a'), { headers: { 'cache-control': 'no-cache' } });
      assert.equal(r.cache, 'revalidated');
      assert.equal(origin.requests(p('/a'))[1]?.headers['if-none-match'], '"v1"');
    });

    test('RFC 9111 §5.4: Pragma: no-cache in a request without Cache-Control is no-cache', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'max-age=600' } }));
      await send(p('/a'));
      assert.equal((await send(p('/a'), { headers: { pragma: 'no-cache' } })).cache, 'miss');
      assert.equal((await send(p('/a'), { headers: { pragma: 'no-cache', 'cache-control': 'max-age=600' } })).cache, 'hit', 'Cache-Control present: Pragma ignored');
      assert.equal(origin.hits(p('/a')), 2);
    });

    test('RFC 9111 §5.2.1.1: request max-age=0 requires validation once the response has any age', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'max-age=600' } }));
      await send(p('/a'));
      clock.advance(1);
      assert.equal((await send(p('/a'), { headers: { 'cache-control': 'max-age=0' } })).cache, 'miss');
      clock.advance(5);
      assert.equal((await send(p('/a'), { headers: { 'cache-control': 'max-age=10' } })).cache, 'hit', 'age 5 s ≤ 10 s');
    });

    test('RFC 9111 §5.2.1.2: request max-stale=N accepts a response stale by at most N seconds', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'max-age=10' } }));
      await send(p('/a'));
      clock.advance(15);
      const r = await send(p('/a'), { headers: { 'cache-control': 'max-stale=5' } });
      assert.equal(r.cache, 'stale');
      assert.equal(r.age, '15');
      assert.equal(r.text, 'body 1');
      clock.advance(1);
      assert.equal((await send(p('/a'), { headers: { 'cache-control': 'max-stale=5' } })).cache, 'miss');
    });

    test('RFC 9111 §5.2.1.2: bare max-stale accepts any staleness', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'max-age=10' } }));
      await send(p('/a'));
      clock.advance(86_400);
      assert.equal((await send(p('/a'), { headers: { 'cache-control': 'max-stale' } })).cache, 'stale');
      assert.equal(origin.hits(p('/a')), 1);
    });

    test('RFC 9111 §5.2.2.10: s-maxage implies proxy-revalidate: a client max-stale cannot get it stale', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 's-maxage=10' } }));
      await send(p('/a'));
      clock.advance(15);
      assert.equal((await send(p('/a'), { headers: { 'cache-control': 'max-stale' } })).cache, 'miss');
    });

    test('RFC 9111 §5.2.1.3: min-fresh requires that much freshness left', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'max-age=60' } }));
      await send(p('/a'));
      clock.advance(40);
      assert.equal((await send(p('/a'), { headers: { 'cache-control': 'min-fresh=20' } })).cache, 'hit', '20 s left');
      clock.advance(1);
      assert.equal((await send(p('/a'), { headers: { 'cache-control': 'min-fresh=20' } })).cache, 'miss', '19 s left');
    });

    test('RFC 9111 §5.2.1.7: only-if-cached with nothing usable is a 504, and upstream is not contacted', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'max-age=10' } }));
      const r = await send(p('/a'), { headers: { 'cache-control': 'only-if-cached' } });
      assert.equal(r.status, 504);
      assert.equal(JSON.parse(r.text).error, 'gateway_timeout');
      assert.equal(origin.hits(p('/a')), 0);
      await send(p('/a'));
      clock.advance(11);
      assert.equal((await send(p('/a'), { headers: { 'cache-control': 'only-if-cached' } })).status, 504, 'stale is not usable');
      assert.equal(origin.hits(p('/a')), 1);
    });

    test('RFC 9111 §5.2.1.7: only-if-cached is answered from a usable stored response', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'max-age=10' } }));
      await send(p('/a'));
      clock.advance(20);
      const r = await send(p('/a'), { headers: { 'cache-control': 'only-if-cached, max-stale=15' } });
      assert.equal(r.cache, 'stale');
      assert.equal(r.status, 200);
      assert.equal(r.age, '20');
    });

    test('RFC 9111 §3: a response that could never be reused (no freshness, no validator) is not stored', async () => {
      origin.on(p('/dynamic'), () => ({}));
      await send(p('/dynamic'));
      assert.equal(g.stats().entries, 0);
      assert.equal(g.stats().bytes, 0);
    });
  });

  describe('validation (§4.3)', () => {
    test('RFC 9111 §4.3.1: a stale response with an ETag is validated with If-None-Match', async () => {
      origin.on(p('/a'), (req) => (req.headers['if-none-match'] === '"v1"' ? { status: 304, headers: { etag: '"v1"' } } : { headers: { 'cache-control': 'max-age=10', etag: '"v1"' } }));
      await send(p('/a'));
      clock.advance(11);
      const r = await send(p('/a'));
      assert.equal(r.cache, 'revalidated');
      assert.equal(r.status, 200);
      assert.equal(r.text, 'body 1', 'the stored body');
      assert.equal(origin.requests(p('/a'))[1]?.headers['if-none-match'], '"v1"');
    });

    test('RFC 9111 §4.3.1: with only Last-Modified the cache sends If-Modified-Since', async () => {
      const lm = clock.date(-3600);
      origin.on(p('/a'), (req) => (req.headers['if-modified-since'] === lm ? { status: 304 } : { headers: { 'cache-control': 'max-age=10', 'last-modified': lm } }));
      await send(p('/a'));
      clock.advance(11);
      assert.equal((await send(p('/a'))).cache, 'revalidated');
      assert.equal(origin.requests(p('/a'))[1]?.headers['if-none-match'], undefined);
    });

    test('RFC 9111 §4.3.4: a 304 replaces stored fields, adds new ones (§3.2) and makes the response fresh again', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'max-age=10', etag: '"v1"', 'x-version': 'old', 'content-type': 'text/plain' } }));
      await send(p('/a'));
      clock.advance(11);
      origin.on(p('/a'), () => ({ status: 304, headers: { etag: '"v1"', 'cache-control': 'max-age=100', 'x-version': 'new', 'x-added': 'yes' } }));
      const r = await send(p('/a'));
      assert.equal(r.cache, 'revalidated');
      assert.equal(r.status, 200);
      assert.equal(r.text, 'body 1');
      assert.equal(r.h('x-version'), 'new');
      assert.equal(r.h('x-added'), 'yes', 'http-cache-semantics would drop a field the stored response lacked');
      assert.equal(r.h('content-type'), 'text/plain');
      assert.equal(r.age, '0');
      clock.advance(90);
      const hit = await send(p('/a'));
      assert.equal(hit.cache, 'hit', 'fresh under the max-age=100 the 304 brought');
      assert.equal(hit.h('x-added'), 'yes');
      assert.equal(origin.hits(p('/a')), 2);
    });

    test('RFC 9111 §3.2: a 304 does not change Content-Length or Content-Encoding of the stored body', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'max-age=10', etag: '"v1"', 'content-encoding': 'identity' } }));
      await send(p('/a'));
      clock.advance(11);
      origin.on(p('/a'), () => ({ status: 304, headers: { etag: '"v1"', 'content-length': '0', 'content-encoding': 'gzip' } }));
      const r = await send(p('/a'));
      assert.equal(r.cache, 'revalidated');
      assert.equal(r.h('content-length'), '6');
      assert.equal(r.h('content-encoding'), 'identity');
      assert.equal(r.text, 'body 1');
    });

    test('RFC 9111 §4.3.4: a 304 with a weak ETag selects the stored response with the same weak ETag', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'max-age=10', etag: 'W/"v1"' } }));
      await send(p('/a'));
      clock.advance(11);
      origin.on(p('/a'), () => ({ status: 304, headers: { etag: 'W/"v1"' } }));
      assert.equal((await send(p('/a'))).cache, 'revalidated');
      assert.equal(origin.requests(p('/a'))[1]?.headers['if-none-match'], 'W/"v1"', 'weak validators are fine in If-None-Match on GET');
    });

    test('RFC 9111 §4.3.4: a 304 whose validator selects nothing updates nothing; the cache asks again without conditions', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'max-age=10', etag: '"v1"' } }));
      await send(p('/a'));
      clock.advance(11);
      origin.on(p('/a'), (req) => (req.headers['if-none-match'] !== undefined ? { status: 304, headers: { etag: '"v2"' } } : { headers: { 'cache-control': 'max-age=10', etag: '"v2"' }, body: 'v2' }));
      const r = await send(p('/a'));
      assert.equal(r.cache, 'miss');
      assert.equal(r.text, 'v2');
      assert.equal(origin.hits(p('/a')), 3);
      assert.equal(origin.requests(p('/a'))[2]?.headers['if-none-match'], undefined);
      assert.equal((await send(p('/a'))).text, 'v2');
    });

    test('RFC 9111 §4.3.4: a strong ETag in a 304 does not select a stored weak ETag', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'max-age=10', etag: 'W/"v1"' } }));
      await send(p('/a'));
      clock.advance(11);
      origin.on(p('/a'), (req) => (req.headers['if-none-match'] !== undefined ? { status: 304, headers: { etag: '"v1"' } } : { headers: { 'cache-control': 'max-age=10' }, body: 'fresh' }));
      assert.equal((await send(p('/a'))).text, 'fresh');
    });

    test('RFC 9111 §4.3.3: a full 200 on revalidation replaces the stored response', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'max-age=10', etag: '"v1"' }, body: 'v1' }));
      await send(p('/a'));
      clock.advance(11);
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'max-age=10', etag: '"v2"' }, body: 'v2' }));
      const r = await send(p('/a'));
      assert.equal(r.cache, 'miss');
      assert.equal(r.text, 'v2');
      assert.equal(g.stats().entries, 1);
      const hit = await send(p('/a'));
      assert.equal(hit.cache, 'hit');
      assert.equal(hit.text, 'v2');
    });

    test('RFC 9111 §4.3.3: a full response that may not be stored removes the one it supersedes', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'max-age=10', etag: '"v1"' } }));
      await send(p('/a'));
      assert.equal(g.stats().entries, 1);
      clock.advance(11);
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'no-store' } }));
      await send(p('/a'));
      assert.equal(g.stats().entries, 0);
    });

    test('RFC 9111 §4.3.2: the cache answers a client If-None-Match itself, with 304 from the stored response', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'max-age=60', etag: '"v1"', 'content-type': 'text/plain' } }));
      await send(p('/a'));
      const r = await send(p('/a'), { headers: { 'if-none-match': 'W/"v0", "v1"' } });
      assert.equal(r.cache, 'hit');
      assert.equal(r.status, 304);
      assert.equal(r.bytes, 0);
      assert.equal(r.h('etag'), '"v1"');
      assert.equal(r.h('content-type'), undefined);
      assert.equal(r.age, '0');
      assert.equal((await send(p('/a'), { headers: { 'if-none-match': '"other"' } })).status, 200);
      assert.equal(origin.hits(p('/a')), 1);
    });

    test('RFC 9111 §4.3.2: the cache answers a client If-Modified-Since from Last-Modified', async () => {
      const lm = clock.date(-3600);
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'max-age=60', 'last-modified': lm } }));
      await send(p('/a'));
      const r = await send(p('/a'), { headers: { 'if-modified-since': lm } });
      assert.equal(r.status, 304);
      assert.equal(r.h('last-modified'), lm, 'no ETag: Last-Modified guides the client update');
      assert.equal((await send(p('/a'), { headers: { 'if-modified-since': clock.date(-7200) } })).status, 200);
      assert.equal(origin.hits(p('/a')), 1);
    });

    test('RFC 9111 §4.3.2: on a miss the client conditionals are not forwarded; the cache evaluates them on the full response', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'max-age=60', etag: '"v1"' } }));
      const r = await send(p('/a'), { headers: { 'if-none-match': '"v1"' } });
      assert.equal(origin.requests(p('/a'))[0]?.headers['if-none-match'], undefined);
      assert.equal(r.cache, 'miss');
      assert.equal(r.status, 304);
      assert.equal((await send(p('/a'))).text, 'body 1', 'and the full response was stored');
    });

    test('RFC 9110 §13.1: If-Match, If-Unmodified-Since, If-Range and Range pass through the cache untouched', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'max-age=60' } }));
      await send(p('/a'));
      const preconditions: Record<string, string>[] = [{ 'if-match': '"v1"' }, { 'if-unmodified-since': clock.date() }, { range: 'bytes=0-1' }, { range: 'bytes=0-1', 'if-range': '"v1"' }];
      for (const h of preconditions) {
        const r = await send(p('/a'), { headers: h });
        assert.equal(r.cache, 'miss', `${JSON.stringify(h)}: bypass is reported as miss`);
        assert.equal(r.age, undefined, JSON.stringify(h));
      }
      assert.equal(origin.hits(p('/a')), 5);
      assert.equal(origin.requests(p('/a'))[4]?.headers.range, 'bytes=0-1');
      assert.equal(origin.requests(p('/a'))[4]?.headers['if-range'], '"v1"');
    });

    test('RFC 9111 §5.2.1.5: a request with no-store that revalidates leaves the stored response as it was', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'max-age=10', etag: '"v1"' } }));
      await send(p('/a'));
      clock.advance(11);
      origin.on(p('/a'), () => ({ status: 304, headers: { etag: '"v1"', 'cache-control': 'max-age=100' } }));
      const r = await send(p('/a'), { headers: { 'cache-control': 'no-store' } });
      assert.equal(r.cache, 'revalidated');
      assert.equal(r.h('cache-control'), 'max-age=100', 'the client sees the merged response');
      assert.equal(g.stats().entries, 1);
      assert.equal((await send(p('/a'))).cache, 'revalidated', 'the stored one was not freshened');
    });

    test('RFC 9111 §4.3.4: a 304 that brings no-store removes the stored response', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'max-age=10', etag: '"v1"' } }));
      await send(p('/a'));
      clock.advance(11);
      origin.on(p('/a'), () => ({ status: 304, headers: { etag: '"v1"', 'cache-control': 'no-store' } }));
      const r = await send(p('/a'));
      assert.equal(r.cache, 'revalidated');
      assert.equal(r.text, 'body 1');
      assert.equal(g.stats().entries, 0);
    });

    test('RFC 9111 §4.3.1: the client validators never reach upstream alongside the cache validators', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'max-age=10', etag: '"v1"' } }));
      await send(p('/a'));
      clock.advance(11);
      await send(p('/a'), { headers: { 'if-none-match': '"client-copy"', 'if-modified-since': clock.date(-5) } });
      assert.equal(origin.requests(p('/a'))[1]?.headers['if-none-match'], '"v1"', 'only the stored ETag: a 304 can then only be about our copy');
      assert.equal(origin.requests(p('/a'))[1]?.headers['if-modified-since'], undefined);
    });
  });

  describe('serving stale (RFC 5861, §4.2.4)', () => {
    test('RFC 5861 §3: stale-while-revalidate serves the stale response and revalidates in the background', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'max-age=10, stale-while-revalidate=30' }, body: 'v1' }));
      await send(p('/a'));
      clock.advance(15);
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'max-age=10, stale-while-revalidate=30' }, body: 'v2' }));
      const r = await send(p('/a'));
      assert.equal(r.cache, 'stale');
      assert.equal(r.text, 'v1');
      assert.equal(r.age, '15');
      await g.answered(p('/a'), 2);
      assert.equal(origin.hits(p('/a')), 2, 'one background fetch');
      const next = await send(p('/a'));
      assert.equal(next.cache, 'hit');
      assert.equal(next.text, 'v2');
    });

    test('RFC 5861 §3: only one background revalidation per key at a time', async () => {
      const h = held<OriginAnswer>();
      origin.on(p('/a'), (req) => (req.n === 1 ? { headers: { 'cache-control': 'max-age=10, stale-while-revalidate=30' } } : h.promise));
      await send(p('/a'));
      clock.advance(15);
      const rs = await all(5, () => send(p('/a')));
      assert.deepEqual(rs.map((r) => r.cache), ['stale', 'stale', 'stale', 'stale', 'stale']);
      await until(() => origin.hits(p('/a')) >= 2, 'the background fetch');
      await sleep(20);
      assert.equal(origin.hits(p('/a')), 2);
      h.resolve({ headers: { 'cache-control': 'max-age=10, stale-while-revalidate=30' } });
      await g.answered(p('/a'), 2);
      assert.equal((await send(p('/a'))).cache, 'hit');
      assert.equal(origin.hits(p('/a')), 2);
    });

    test('RFC 5861 §3: beyond the stale-while-revalidate window the cache validates before answering', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'max-age=10, stale-while-revalidate=30' } }));
      await send(p('/a'));
      clock.advance(40);
      assert.equal((await send(p('/a'))).cache, 'stale', 'stale by exactly 30 s: inside');
      await g.answered(p('/a'), 2);
      clock.advance(41);
      const r = await send(p('/a'));
      assert.equal(r.cache, 'miss', 'stale by 31 s: outside');
      assert.equal(r.text, 'body 3');
    });

    test('RFC 5861 §3 with RFC 9111 §5.2.2.10: s-maxage with stale-while-revalidate still serves stale (explicit permission)', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 's-maxage=10, stale-while-revalidate=30' } }));
      await send(p('/a'));
      clock.advance(20);
      assert.equal((await send(p('/a'))).cache, 'stale');
      await g.answered(p('/a'), 2);
    });

    test('RFC 9111 §4.2.4: must-revalidate or no-cache overrides stale-while-revalidate', async () => {
      for (const [i, cc] of ['max-age=10, stale-while-revalidate=30, must-revalidate', 'max-age=10, stale-while-revalidate=30, no-cache'].entries()) {
        origin.on(p(`/a${i}`), () => ({ headers: { 'cache-control': cc } }));
        await send(p(`/a${i}`));
        clock.advance(15);
        const r = await send(p(`/a${i}`));
        assert.equal(r.cache, 'miss', cc);
        assert.equal(r.text, 'body 2', cc);
      }
    });

    test('RFC 5861 §3: a failed background revalidation leaves the stale response in place', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'max-age=10, stale-while-revalidate=30' }, body: 'v1' }));
      await send(p('/a'));
      clock.advance(15);
      origin.on(p('/a'), () => 'reset');
      assert.equal((await send(p('/a'))).cache, 'stale');
      await until(() => origin.hits(p('/a')) >= 2, 'the background fetch');
      await sleep(25);
      const again = await send(p('/a'));
      assert.equal(again.cache, 'stale');
      assert.equal(again.text, 'v1');
      assert.equal(g.stats().entries, 1);
    });

    test('RFC 5861 §4: stale-if-error serves the stale response when upstream cannot be reached', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'max-age=10, stale-if-error=60' }, body: 'v1' }));
      await send(p('/a'));
      clock.advance(30);
      origin.on(p('/a'), () => 'reset');
      const r = await send(p('/a'));
      assert.equal(r.cache, 'stale');
      assert.equal(r.status, 200);
      assert.equal(r.text, 'v1');
      assert.equal(r.age, '30', 'visibly stale');
      assert.equal(origin.hits(p('/a')), 2);
    });

    test('RFC 5861 §4: stale-if-error covers 500, 502, 503 and 504 but not other statuses', async () => {
      for (const status of [500, 502, 503, 504, 404]) {
        await g.purge({ all: true });
        const path = p(`/s${status}`);
        origin.on(path, () => ({ headers: { 'cache-control': 'max-age=10, stale-if-error=60' }, body: 'v1' }));
        await send(path);
        clock.advance(30);
        origin.on(path, () => ({ status, body: 'error' }));
        const r = await send(path);
        if (status === 404) {
          assert.equal(r.status, 404, 'a 404 is an answer, not an error');
          assert.equal(r.text, 'error');
        } else {
          assert.equal(r.cache, 'stale', `status ${status}`);
          assert.equal(r.status, 200);
          assert.equal(r.text, 'v1');
          assert.equal(g.stats().entries, 1, 'the stored response stays');
        }
      }
    });

    test('RFC 5861 §4: past the stale-if-error window the error goes through', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'max-age=10, stale-if-error=60' } }));
      await send(p('/a'));
      clock.advance(71);
      origin.on(p('/a'), () => ({ status: 503 }));
      const r = await send(p('/a'));
      assert.equal(r.status, 503);
      assert.equal(r.cache, 'miss');
      origin.on(p('/a'), () => 'reset');
      assert.equal((await send(p('/a'))).status, 504, 'stored but unusable and upstream unreachable: 504');
    });

    test('RFC 5861 §4: stale-if-error as a request directive', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'max-age=10' } }));
      await send(p('/a'));
      clock.advance(30);
      origin.on(p('/a'), () => 'hang'); // ETIMEDOUT: the gateway gives up after upstream_timeout
      const t0 = Date.now();
      const r = await send(p('/a'), { headers: { 'cache-control': 'stale-if-error=60' } });
      assert.equal(r.cache, 'stale');
      assert.equal(r.text, 'body 1');
      assert.ok(Date.now() - t0 >= upstreamTimeoutMs - 50);
      assert.equal((await send(p('/a'), { headers: { 'cache-control': 'stale-if-error=5' } })).status, 504);
    });

    test('RFC 9111 §4.2.4: without stale-if-error a stale response is not served on error; a miss with no stored response rethrows', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'max-age=10' } }));
      await send(p('/a'));
      clock.advance(30);
      origin.on(p('/a'), () => 'reset');
      origin.on(p('/never-stored'), () => 'reset');
      const r = await send(p('/a'));
      assert.notEqual(r.text, 'body 1');
      // Nothing stored: the upstream failure goes to the client as the gateway's error.
      const none = await send(p('/never-stored'));
      assert.equal(none.status, 503);
      assert.equal(JSON.parse(none.text).error, 'no_healthy_region');
      assert.equal(r.status, 504);
    });

    test('RFC 9111 §5.2.1.4: a request with no-cache gets no stale-if-error fallback', async () => {
      origin.on(p('/a'), (req) => (req.n === 1 ? { headers: { 'cache-control': 'max-age=10, stale-if-error=600' } } : 'reset'));
      await send(p('/a'));
      const r = await send(p('/a'), { headers: { 'cache-control': 'no-cache' } });
      assert.notEqual(r.text, 'body 1');
      assert.equal((await send(p('/a'))).cache, 'hit');
      assert.equal(r.status, 504);
    });
  });

  describe('Vary (§4.1)', () => {
    const negotiating = (path: string, vary = 'Accept-Language'): void =>
      origin.on(path, (req) => ({ headers: { 'cache-control': 'max-age=60', vary }, body: `lang=${String(req.headers['accept-language'] ?? 'none')}` }));

    test('RFC 9111 §4.1: Vary selects the stored response by the nominated request fields', async () => {
      negotiating(p('/a'));
      await send(p('/a'), { headers: { 'accept-language': 'en' } });
      const fr = await send(p('/a'), { headers: { 'accept-language': 'fr' } });
      assert.equal(fr.cache, 'miss');
      assert.equal(fr.text, 'lang=fr');
      const en = await send(p('/a'), { headers: { 'accept-language': 'en' } });
      assert.equal(en.cache, 'hit');
      assert.equal(en.text, 'lang=en');
      assert.equal(origin.hits(p('/a')), 2);
    });

    test('RFC 9111 §4.1: several variants of one URL are stored side by side; a purge of the URL removes all', async () => {
      negotiating(p('/a'));
      for (const l of ['en', 'fr', 'de']) await send(p('/a'), { headers: { 'accept-language': l } });
      assert.equal(g.stats().entries, 3);
      for (const l of ['en', 'fr', 'de']) {
        const r = await send(p('/a'), { headers: { 'accept-language': l } });
        assert.equal(r.text, `lang=${l}`);
        assert.equal(r.cache, 'hit');
      }
      assert.equal(origin.hits(p('/a')), 3);
      const purged = await g.purge({ url: `http://${host}:8080${p('/a')}` });
      assert.equal(purged.status, 200);
      assert.equal(purged.json.removed, 3);
      assert.equal(g.stats().entries, 0);
    });

    test('RFC 9111 §4.1: Vary: * never matches, so such a response is not stored', async () => {
      negotiating(p('/a'), '*');
      await send(p('/a'));
      assert.equal((await send(p('/a'))).cache, 'miss');
      assert.equal(g.stats().entries, 0);
    });

    test('RFC 9111 §4.1: a field absent from the original request matches only a request without it', async () => {
      negotiating(p('/a'));
      await send(p('/a'));
      assert.equal((await send(p('/a'), { headers: { 'accept-language': '' } })).cache, 'miss', 'empty is not absent');
      assert.equal((await send(p('/a'))).cache, 'hit');
    });

    test('RFC 9111 §4.1: field lines are combined and optional whitespace ignored before matching', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'max-age=60', vary: 'accept-encoding' } }));
      await send(p('/a'), { headers: { 'accept-encoding': ['gzip', 'br'] } }); // two field lines
      assert.equal((await send(p('/a'), { headers: { 'accept-encoding': 'gzip ,  br' } })).cache, 'hit');
      assert.equal((await send(p('/a'), { headers: { 'accept-encoding': 'br, gzip' } })).cache, 'miss', 'no field-specific reordering');
    });

    test('RFC 9111 §4.1: Vary names fields case-insensitively and may list several', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'max-age=60', vary: 'Accept-Language, X-Device' } }));
      await send(p('/a'), { headers: { 'Accept-Language': 'en', 'x-device': 'mobile' } });
      assert.equal((await send(p('/a'), { headers: { 'accept-language': 'en', 'X-Device': 'mobile' } })).cache, 'hit');
      assert.equal((await send(p('/a'), { headers: { 'accept-language': 'en', 'X-Device': 'desktop' } })).cache, 'miss');
    });

    test('RFC 9111 §4.1: a new response replaces only the variant the request selected', async () => {
      negotiating(p('/a'));
      await send(p('/a'), { headers: { 'accept-language': 'en' } });
      await send(p('/a'), { headers: { 'accept-language': 'fr' } });
      clock.advance(61);
      await send(p('/a'), { headers: { 'accept-language': 'en' } });
      assert.equal(g.stats().entries, 2);
      const en = await send(p('/a'), { headers: { 'accept-language': 'en' } });
      assert.equal(en.text, 'lang=en');
      assert.equal(en.cache, 'hit');
    });
  });

  describe('invalidation (§4.4)', () => {
    /** GETs are cacheable (varying on Accept-Language); anything else answers 201 with Location and Content-Location. */
    const cacheable = (prefix: string): void =>
      origin.on(`${prefix}*`, (req) => (req.method === 'GET'
        ? { headers: { 'cache-control': 'max-age=600', vary: 'accept-language' } }
        : { status: 201, headers: { location: `${prefix}/items/7`, 'content-location': `http://Shop.Example.Test:80${prefix}/items/7/summary` } }));
    const shop = { host: 'shop.example.test' };

    test('RFC 9111 §4.4: a POST invalidates every stored variant of the target URI', async () => {
      cacheable(base);
      await send(p('/items'), { headers: { 'accept-language': 'en' } });
      await send(p('/items'), { headers: { 'accept-language': 'fr' } });
      const post = await send(p('/items'), { method: 'POST', body: 'x' });
      assert.equal(post.status, 201);
      assert.equal(post.cache, 'miss', 'bypass');
      assert.equal((await send(p('/items'), { headers: { 'accept-language': 'en' } })).cache, 'miss');
      assert.equal((await send(p('/items'), { headers: { 'accept-language': 'fr' } })).cache, 'miss');
    });

    test('RFC 9111 §4.4: PUT, DELETE and PATCH invalidate the target and the Location and Content-Location URIs', async () => {
      // An unknown method is unsafe too; PURGE is one Node's parser accepts.
      for (const method of ['PUT', 'DELETE', 'PATCH', 'PURGE']) {
        await g.purge({ all: true });
        const prefix = p(`/${method.toLowerCase()}`);
        cacheable(prefix);
        for (const s of ['/items', '/items/7', '/items/7/summary', '/other']) await send(`${prefix}${s}`, { headers: shop });
        assert.equal(g.stats().entries, 4);
        const r = await send(`${prefix}/items`, { method, headers: shop });
        assert.equal(r.status, 201, method);
        assert.equal(g.stats().entries, 1, `${method}: only /other is left`);
        assert.equal((await send(`${prefix}/other`, { headers: shop })).cache, 'hit');
        assert.equal((await send(`${prefix}/items/7`, { headers: shop })).cache, 'miss');
      }
    });

    test('RFC 9111 §4.4: a Location on another origin is not invalidated', async () => {
      origin.on(p('/x'), () => ({ headers: { 'cache-control': 'max-age=600' } }));
      origin.on(p('/form'), () => ({ status: 303, headers: { location: `http://other.example.test${p('/x')}` } }));
      await send(p('/x'), { headers: { host: 'other.example.test' } });
      assert.equal((await send(p('/form'), { method: 'POST', body: 'a=1' })).status, 303);
      assert.equal((await send(p('/x'), { headers: { host: 'other.example.test' } })).cache, 'hit');
    });

    test('RFC 9111 §4.4: an error response to an unsafe method invalidates nothing', async () => {
      origin.on(p('/items'), (req) => (req.method === 'GET' ? { headers: { 'cache-control': 'max-age=600' } } : { status: 409 }));
      await send(p('/items'));
      assert.equal((await send(p('/items'), { method: 'POST', body: 'x' })).status, 409);
      assert.equal((await send(p('/items'))).cache, 'hit');
    });

    test('RFC 9111 §4.4: unsafe requests are never answered from the cache and reach upstream as sent', async () => {
      cacheable(base);
      await send(p('/items'));
      const r = await send(p('/items'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n":1}' });
      assert.equal(r.cache, 'miss');
      assert.equal(r.status, 201);
      const seen = origin.requests(p('/items'))[1];
      assert.equal(seen?.method, 'POST');
      assert.equal(seen?.headers['content-type'], 'application/json');
      assert.equal(seen?.body, '{"n":1}');
    });

    test('RFC 9111 §4.4: a response fetched while the URI was invalidated is not stored', async () => {
      const h = held<OriginAnswer>();
      origin.on(p('/items'), (req) => (req.method === 'GET' ? h.promise : { status: 204 }));
      const pending = send(p('/items'));
      await until(() => origin.hits(p('/items')) === 1, 'the GET at the origin');
      assert.equal((await send(p('/items'), { method: 'DELETE' })).status, 204);
      h.resolve({ headers: { 'cache-control': 'max-age=600' }, body: 'before delete' });
      const r = await pending;
      assert.equal(r.cache, 'miss');
      assert.equal(r.text, 'before delete');
      assert.equal(g.stats().entries, 0, 'the pre-delete body would otherwise be cached');
    });

    test('RFC 9110 §9.2.1: OPTIONS is safe: passed through without invalidating', async () => {
      cacheable(base);
      await send(p('/items'));
      const o = await send(p('/items'), { method: 'OPTIONS' });
      assert.equal(o.cache, 'miss', 'bypass');
      assert.equal(origin.requests(p('/items'))[1]?.method, 'OPTIONS');
      assert.equal((await send(p('/items'))).cache, 'hit');
    });
  });

  describe('the cache key (§2, §4; RFC 3986 §6.2.2)', () => {
    test('RFC 3986 §6.2.2.1: the host is case-insensitive, a trailing dot and the default port are dropped', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'max-age=60' } }));
      await send(p('/a'), { headers: { host: 'SHOP.example.test:80' } });
      assert.equal((await send(p('/a'), { headers: { host: 'shop.example.test' } })).cache, 'hit');
      assert.equal((await send(p('/a'), { headers: { host: 'shop.example.test.' } })).cache, 'hit');
      assert.equal((await send(p('/a'), { headers: { host: 'shop.example.test:8080' } })).cache, 'miss', 'another port is another origin');
      assert.equal(origin.hits(p('/a')), 2);
    });

    test('RFC 3986 §6.2.2.1-2: percent-encodings get upper-case hex and unreserved characters are decoded; reserved stay encoded', async () => {
      origin.on(`${base}/*`, () => ({ headers: { 'cache-control': 'max-age=60' } }));
      await send(p('/%7Euser/file%2etxt'));
      assert.equal((await send(p('/~user/file.txt'))).cache, 'hit');
      assert.equal(origin.seen[0]?.url, p('/%7Euser/file%2etxt'), 'upstream gets the target as received');
      await send(p('/a%2fb'));
      assert.equal((await send(p('/a%2Fb'))).cache, 'hit', 'hex case does not matter');
      assert.equal((await send(p('/a/b'))).cache, 'miss', '%2F is not /');
    });

    test('RFC 9111 §4: query parameters keep their order (not sorted: order can matter to the application)', async () => {
      origin.on(p('/s'), (req) => ({ headers: { 'cache-control': 'max-age=60' }, body: req.url }));
      await send(p('/s?a=1&b=2'));
      const swapped = await send(p('/s?b=2&a=1'));
      assert.equal(swapped.cache, 'miss');
      assert.equal(swapped.text, p('/s?b=2&a=1'));
      assert.equal((await send(p('/s?a=1&b=2'))).text, p('/s?a=1&b=2'));
      assert.equal(origin.hits(p('/s')), 2);
    });

    test('RFC 3986 §3.5: the fragment is not part of the key', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'max-age=60' } }));
      await send(p('/a?x=1'));
      const reply = await g.raw(`GET ${p('/a?x=1#top')} HTTP/1.1\r\nHost: ${host}:8080\r\nConnection: close\r\n\r\n`);
      assert.match(reply, /^HTTP\/1\.1 200 /);
      assert.match(reply, /\r\nx-meridian-cache: hit\r\n/i);
      assert.equal(origin.hits(p('/a')), 1);
    });

    test('RFC 9112 §3.2.2: an absolute-form target supplies the host', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'max-age=60' } }));
      await send(p('/a?b'), { headers: { host: 'shop.example.test' } });
      const reply = await g.raw(`GET http://Shop.Example.Test:80${p('/a?b')} HTTP/1.1\r\nHost: ignored.test\r\nConnection: close\r\n\r\n`);
      assert.match(reply, /^HTTP\/1\.1 200 /);
      assert.match(reply, /\r\nx-meridian-cache: hit\r\n/i);
      assert.equal(origin.hits(p('/a')), 1);
    });

    test('RFC 9111 §2: GET and HEAD share one key; the method is not stored separately', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'max-age=60' } }));
      await send(p('/a'), { method: 'HEAD' });
      const r = await send(p('/a'));
      assert.equal(r.cache, 'hit');
      assert.equal(r.text, 'body 1');
      // RFC 9110 §9.1: methods are case-sensitive; Node's parser refuses `get` before the cache sees it.
      const lower = await g.raw(`get ${p('/a')} HTTP/1.1\r\nHost: ${host}:8080\r\nConnection: close\r\n\r\n`);
      assert.match(lower, /^HTTP\/1\.1 400 /);
      assert.equal(origin.hits(p('/a')), 1);
    });
  });

  describe('request collapsing', () => {
    test('RFC 9111 §4 (collapsing): 10 concurrent misses for one key make one upstream call', async () => {
      const h = held<OriginAnswer>();
      origin.on(p('/a'), () => h.promise);
      const c0 = g.stats().collapsed;
      const rs = all(10, () => send(p('/a')));
      await collapsed(c0, 9);
      h.resolve({ headers: { 'cache-control': 'max-age=60' }, body: 'one' });
      const results = await rs;
      assert.equal(origin.hits(p('/a')), 1);
      assert.deepEqual(new Set(results.map((r) => r.text)), new Set(['one']));
      assert.ok(results.every((r) => r.cache === 'miss'));
      assert.equal(g.stats().collapsed - c0, 9);
    });

    test('RFC 9111 §4 (collapsing): when the response may not be stored, waiters never get it — each asks upstream itself', async () => {
      const h = held<undefined>();
      const mine = (req: { headers: Record<string, unknown> }): OriginAnswer => ({ headers: { 'cache-control': 'private' }, body: `for ${String(req.headers['x-user'])}` });
      origin.on(p('/me'), async (req) => {
        if (req.n === 1) await h.promise;
        return mine(req);
      });
      const c0 = g.stats().collapsed;
      const rs = Promise.all(['alice', 'bob', 'carol'].map((u) => send(p('/me'), { headers: { 'x-user': u } })));
      await collapsed(c0, 2);
      h.resolve(undefined);
      const [a, b, c] = await rs;
      assert.equal(a?.text, 'for alice');
      assert.equal(b?.text, 'for bob');
      assert.equal(c?.text, 'for carol');
      assert.equal(origin.hits(p('/me')), 3);
      assert.equal(g.stats().collapsed - c0, 2);
    });

    test('RFC 9111 §4 (collapsing): after an uncacheable response the key stops collapsing for a while (hit-for-miss)', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'no-store' } }));
      await send(p('/a'));
      // Held at the origin until all three are there: they went upstream side by side.
      const h = held<undefined>();
      origin.on(p('/a'), async () => {
        await h.promise;
        return { headers: { 'cache-control': 'no-store' } };
      });
      const c0 = g.stats().collapsed;
      const parallel = all(3, () => send(p('/a')));
      await until(() => origin.hits(p('/a')) === 4, 'three requests at the origin at once');
      h.resolve(undefined);
      await parallel;
      assert.equal(g.stats().collapsed - c0, 0, 'they went straight upstream, in parallel');
      clock.advance(121);
      const h2 = held<undefined>();
      origin.on(p('/a'), async () => {
        await h2.promise;
        return { headers: { 'cache-control': 'max-age=60' } };
      });
      const again = all(3, () => send(p('/a')));
      await collapsed(c0, 2);
      h2.resolve(undefined);
      await again;
      assert.equal(g.stats().collapsed - c0, 2, 'collapsing again after 120 s');
      assert.equal(origin.hits(p('/a')), 5);
    });

    test('RFC 9111 §4 (collapsing): an upstream failure is shared by the waiters, not retried by each', async () => {
      const h = held<OriginAnswer>();
      origin.on(p('/a'), () => h.promise);
      const c0 = g.stats().collapsed;
      const rs = all(5, () => send(p('/a')));
      await collapsed(c0, 4);
      origin.on(p('/a'), () => 'reset');
      h.resolve('reset');
      const results = await rs;
      assert.ok(results.every((r) => r.status >= 500), results.map((r) => r.status).join());
      assert.equal(origin.hits(p('/a')), 1);
    });

    test('RFC 5861 §4 (collapsing): waiters on a failed revalidation are answered from stale-if-error', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'max-age=10, stale-if-error=60' }, body: 'v1' }));
      await send(p('/a'));
      clock.advance(20);
      const h = held<OriginAnswer>();
      origin.on(p('/a'), () => h.promise);
      const c0 = g.stats().collapsed;
      const rs = all(5, () => send(p('/a')));
      await collapsed(c0, 4);
      h.resolve({ status: 503 });
      const results = await rs;
      assert.deepEqual(results.map((r) => r.cache), ['stale', 'stale', 'stale', 'stale', 'stale']);
      assert.ok(results.every((r) => r.text === 'v1' && r.age === '20'));
      assert.equal(origin.hits(p('/a')), 2);
    });

    test('RFC 9111 §4.1 (collapsing): a waiter whose Vary fields differ from the fetched response gets its own fetch', async () => {
      const h = held<undefined>();
      origin.on(p('/a'), async (req) => {
        if (req.n === 1) await h.promise;
        return { headers: { 'cache-control': 'max-age=60', vary: 'accept-language' }, body: `lang=${String(req.headers['accept-language'])}` };
      });
      const c0 = g.stats().collapsed;
      const en = send(p('/a'), { headers: { 'accept-language': 'en' } });
      const fr = send(p('/a'), { headers: { 'accept-language': 'fr' } });
      await collapsed(c0, 1);
      h.resolve(undefined);
      assert.equal((await en).text, 'lang=en');
      assert.equal((await fr).text, 'lang=fr');
      assert.equal(origin.hits(p('/a')), 2);
    });

    test('RFC 9111 §4.3 (collapsing): concurrent requests for a stale must-revalidate response make one revalidation', async () => {
      origin.on(p('/a'), () => ({ headers: { 'cache-control': 'max-age=10, must-revalidate', etag: '"v1"' } }));
      await send(p('/a'));
      clock.advance(11);
      const h = held<OriginAnswer>();
      origin.on(p('/a'), () => h.promise);
      const c0 = g.stats().collapsed;
      const rs = all(4, () => send(p('/a')));
      await collapsed(c0, 3);
      h.resolve({ status: 304, headers: { etag: '"v1"' } });
      const results = await rs;
      assert.deepEqual(results.map((r) => r.cache), ['revalidated', 'revalidated', 'revalidated', 'revalidated']);
      assert.ok(results.every((r) => r.age === '0' && r.text === 'body 1'));
      assert.equal(origin.hits(p('/a')), 2);
    });

    test('RFC 9111 §4 (collapsing): a waiter with Authorization is not handed a response it may not reuse (§3.5)', async () => {
      const h = held<undefined>();
      origin.on(p('/a'), async (req) => {
        if (req.n === 1) await h.promise;
        return { headers: { 'cache-control': 'max-age=60' }, body: req.headers.authorization === undefined ? 'anonymous' : 'for the authorized' };
      });
      const c0 = g.stats().collapsed;
      const anon = send(p('/a'));
      const authed = send(p('/a'), { headers: { authorization: 'Bearer x' } });
      await collapsed(c0, 1);
      h.resolve(undefined);
      assert.equal((await anon).text, 'anonymous');
      assert.equal((await authed).text, 'for the authorized');
      assert.equal(origin.hits(p('/a')), 2);
    });
  });

  describe('purge through the admin endpoint (POST /cache/purge)', () => {
    const tagged = (prefix: string): void =>
      origin.on(`${prefix}*`, (req) => {
        const headers: Record<string, string> = { 'cache-control': 'max-age=600' };
        if (req.path.startsWith(`${prefix}/product`)) headers['surrogate-key'] = 'products  product-7 shop';
        if (req.path.startsWith(`${prefix}/cart`)) headers['cache-tag'] = 'carts, shop';
        return { headers };
      });

    test('purge: Surrogate-Key (space-separated) removes every response that carries the key', async () => {
      tagged(base);
      for (const s of ['/product/7', '/product/7?tab=reviews', '/cart', '/about']) await send(p(s));
      const r = await g.purge({ key: 'product-7' });
      assert.deepEqual(r.json, { region: 'us-east-1', removed: 2, peers: {} });
      assert.equal((await send(p('/product/7'))).cache, 'miss');
      assert.equal((await send(p('/about'))).cache, 'hit');
    });

    test('purge: Cache-Tag (comma-separated) keys are purged the same way; one key may span both fields', async () => {
      tagged(base);
      for (const s of ['/product/7', '/cart', '/about']) await send(p(s));
      assert.equal((await g.purge({ key: 'carts' })).json.removed, 1);
      assert.equal((await g.purge({ key: 'shop' })).json.removed, 1, 'the product was tagged shop through Surrogate-Key');
      assert.equal((await g.purge({ key: 'shop' })).json.removed, 0);
      assert.equal(g.stats().entries, 1);
    });

    test('purge: a purge URL is normalised like the cache key, and reports what it removed', async () => {
      tagged(base);
      await send(p('/%7Ea'), { headers: { host: 'shop.example.test' } });
      assert.equal((await g.purge({ url: `http://SHOP.example.test:80${p('/~a')}#frag` })).json.removed, 1);
      assert.equal((await g.purge({ url: `http://shop.example.test${p('/~a')}` })).json.removed, 0);
      assert.equal((await send(p('/~a'), { headers: { host: 'shop.example.test' } })).cache, 'miss');
    });

    test('purge: {"all": true} empties the cache; a bad purge request is a 400 with a reason', async () => {
      tagged(base);
      for (const s of ['/a', '/b', '/c']) await send(p(s));
      assert.equal((await g.purge({ all: true })).json.removed, 3);
      assert.equal(g.stats().entries, 0);
      const bad = await g.purge({ url: 'not a url', key: 'x' });
      assert.equal(bad.status, 400);
      assert.match(String(bad.json.reason), /exactly one/);
    });

    test('purge: a response fetched while a purge ran is not stored', async () => {
      const h = held<OriginAnswer>();
      origin.on(p('/product/7'), () => h.promise);
      const pending = send(p('/product/7'));
      await until(() => origin.hits(p('/product/7')) === 1, 'the fetch at the origin');
      await g.purge({ key: 'product-7' });
      h.resolve({ headers: { 'cache-control': 'max-age=600', 'surrogate-key': 'product-7' } });
      assert.equal((await pending).cache, 'miss');
      assert.equal(g.stats().entries, 0);
    });
  });
});
