// The client SDK against a real HTTP server on 127.0.0.1 that plays the data API's
// contract in memory: typed calls, errors mapped, retries only when retryable, one
// idempotency key across a call's retries, timeouts.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { connect, MeridianDataError, type ConnectOptions, type RowVersion } from '../../src/data/client/index.js';
import { FakeDataApi, token, type Seen } from './client-fake-api.js';

type Shop = {
  carts: { region: string; items: string[] };
  prefs: { theme: 'dark' | 'light' };
  views: number;
};

const api = new FakeDataApi();
const open = (o: Partial<ConnectOptions> = {}) => connect<Shop>({ url: api.url, token, backoffBaseMs: 1, backoffMaxMs: 5, ...o });
const writes = (): Seen[] => api.seen.filter((s) => s.method !== 'GET');

async function rejects(p: Promise<unknown>, expect: Partial<Pick<MeridianDataError, 'status' | 'code' | 'retryable' | 'current'>>): Promise<MeridianDataError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof MeridianDataError, `a MeridianDataError, got ${String(e)}`);
    for (const [k, v] of Object.entries(expect)) assert.deepEqual(e[k as keyof MeridianDataError], v, `${k} of ${e.message}`);
    return e;
  }
  assert.fail('expected the call to fail');
}

describe('meridian/client against a data API on 127.0.0.1', () => {
  before(() => api.start());
  after(() => api.server.close());
  beforeEach(() => api.reset());

  it('puts, gets, lists and deletes typed rows, with versions and homes', async () => {
    const carts = open().table('carts');
    const put = await carts.put('c1', { region: 'eu-west-1', items: ['tea'] }, { home: 'eu-west-1' });
    assert.equal(put.home, 'eu-west-1');
    assert.match(put.version, /^\d+\.\d+\.eu-west-1$/);
    const got = await carts.get('c1');
    assert.deepEqual(got?.value.items, ['tea']);
    assert.equal(got?.version, put.version);
    assert.equal(got?.region, 'eu-west-1');
    assert.equal(await carts.get('nope'), null, 'a missing row is null, not an error');
    await carts.put('c2', { region: 'us-east-1', items: [] });
    await carts.put('d1', { region: 'us-east-1', items: [] });
    const page = await carts.list({ prefix: 'c', limit: 1 });
    assert.deepEqual(page.rows.map((r) => r.key), ['c1']);
    const next = await carts.list({ prefix: 'c', limit: 1, cursor: page.cursor as string });
    assert.deepEqual(next.rows.map((r) => r.key), ['c2']);
    const all: string[] = [];
    for await (const r of carts.rows({ limit: 1 })) all.push(r.key);
    assert.deepEqual(all, ['c1', 'c2', 'd1'], 'rows() walks every page');
    const del = await carts.delete('c1');
    assert.equal(del?.deleted, true);
    assert.equal(await carts.get('c1'), null);
    assert.equal(await carts.delete('c1'), null, 'deleting a missing row is null');
  });

  it('sends consistency, staleness and home as the contract says', async () => {
    const prefs = open().table('prefs');
    await prefs.get('u1', { consistency: 'local', home: 'us-east-1' });
    await prefs.get('u1', { consistency: { maxStalenessMs: 250 } });
    const urls = api.seen.map((s) => new URL(s.url, 'http://x'));
    assert.equal(urls[0]?.searchParams.get('consistency'), 'local');
    assert.equal(urls[0]?.searchParams.get('home'), 'us-east-1');
    assert.equal(urls[1]?.searchParams.get('max_staleness_ms'), '250');
    assert.equal(urls[1]?.searchParams.get('consistency'), null);
    await rejects(prefs.get('u1', { consistency: 'strong' }), { status: 501, code: 'not_implemented', retryable: false });
  });

  it('makes conditional writes: ifVersion is a compare-and-set, ifAbsent a create', async () => {
    const prefs = open().table('prefs');
    const first = await prefs.put('u1', { theme: 'dark' }, { ifAbsent: true });
    assert.equal(api.seen.at(-1)?.headers['if-none-match'], '*');
    await rejects(prefs.put('u1', { theme: 'light' }, { ifAbsent: true }), { status: 409, code: 'version_conflict', current: first.version });
    const second = await prefs.put('u1', { theme: 'light' }, { ifVersion: first.version });
    assert.equal(api.seen.at(-1)?.headers['if-match'], first.version);
    const e = await rejects(prefs.put('u1', { theme: 'dark' }, { ifVersion: first.version }), { status: 409, code: 'version_conflict', retryable: false });
    assert.equal(e.current, second.version, 'the conflict says where the row is now');
    assert.equal(e.servedBy, 'eu-west-1');
    await rejects(prefs.delete('u1', { ifVersion: 'x' as RowVersion }), { status: 409, code: 'version_conflict' });
    assert.equal((await prefs.get('u1'))?.value.theme, 'light');
  });

  it('maps errors: 401 without the right token, unknown tables, never retried', async () => {
    await rejects(open({ token: 'wrong' }).table('prefs').get('u1'), { status: 401, code: 'unauthenticated', retryable: false });
    assert.equal(api.seen.length, 1, 'a 4xx is not retried');
    await rejects(connect<Record<string, unknown>>({ url: api.url, token }).table('nope').put('k', 1), { status: 404, code: 'unknown_table' });
    assert.equal(api.seen.length, 2);
  });

  it('counts with counters', async () => {
    const views = open().counter('views');
    assert.equal(await views.get('home'), 0, 'a key never incremented counts 0');
    assert.equal(await views.increment('home'), 1);
    assert.equal(await views.increment('home', 5), 6);
    assert.equal(await views.get('home'), 6);
    assert.deepEqual(JSON.parse(writes().at(-1)?.body ?? ''), { by: 5 });
    await assert.rejects(views.increment('home', 1.5), RangeError);
    // @ts-expect-error carts rows are not numbers: not a counter table
    open().counter('carts');
  });

  it('retries 502, 503 and 504 with backoff, and answers once the node does', async () => {
    api.failNext = [503, 502, 504];
    const row = await open().table('prefs').put('u1', { theme: 'dark' });
    assert.equal(row.value.theme, 'dark');
    assert.equal(api.seen.length, 4);
    const keys = new Set(api.seen.map((s) => s.headers['idempotency-key']));
    assert.equal(keys.size, 1, 'every attempt of one write carries the same idempotency key');
    assert.equal(api.applied, 1);
  });

  it('gives up after `retries` and says the failure is retryable; 500 is not retried', async () => {
    api.failNext = [503, 503, 503];
    await rejects(open({ retries: 2 }).table('prefs').get('u1'), { status: 503, code: 'leader_unreachable', retryable: true });
    assert.equal(api.seen.length, 3, 'one attempt and two retries');
    api.reset();
    api.failNext = [500];
    await rejects(open().table('prefs').get('u1'), { status: 500, retryable: false });
    assert.equal(api.seen.length, 1);
  });

  it('applies a write once when its answer is lost and the retry repeats its idempotency key', async () => {
    const db = open();
    api.cutAfterApply = 1;
    const row = await db.table('carts').put('c9', { region: 'sa-east-1', items: ['mate'] });
    assert.equal(row.value.items[0], 'mate');
    assert.equal(writes().length, 2, 'the write was sent again after the socket closed');
    assert.equal(writes()[0]?.headers['idempotency-key'], writes()[1]?.headers['idempotency-key']);
    assert.equal(api.applied, 1, 'and applied once');

    api.cutAfterApply = 1;
    assert.equal(await db.counter('views').increment('p', 3), 3, 'a retried increment counts once');
    assert.equal(await db.counter('views').get('p'), 3);

    api.cutAfterApply = 1;
    assert.equal((await db.table('carts').delete('c9'))?.deleted, true, 'a retried delete answers as the first did, not 404');

    const before = writes().length;
    await db.table('prefs').put('u1', { theme: 'dark' });
    await db.table('prefs').put('u1', { theme: 'dark' });
    const [a, b] = writes().slice(before);
    assert.notEqual(a?.headers['idempotency-key'], b?.headers['idempotency-key'], 'two calls are two writes');
    await db.table('prefs').put('u2', { theme: 'dark' }, { idempotencyKey: 'order-17' });
    assert.equal(writes().at(-1)?.headers['idempotency-key'], 'order-17', 'a caller may bring its own key');
  });

  it('times out each attempt after timeoutMs and retries it', async () => {
    api.delayMs = 300;
    const t0 = performance.now();
    await rejects(open({ timeoutMs: 80, retries: 1 }).table('prefs').get('u1'), { status: 0, code: 'timeout', retryable: true });
    const took = performance.now() - t0;
    assert.ok(took >= 150 && took < 550, `two attempts of 80 ms each, then the error (${took.toFixed(0)} ms)`);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(api.seen.length, 2);
  });

  it('reports an unreachable node as a retryable network error after its retries', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    let calls = 0;
    const counting: typeof fetch = (input, init) => {
      calls++;
      return fetch(input, init);
    };
    await rejects(connect<Shop>({ url: `http://127.0.0.1:${port}`, token, retries: 2, backoffBaseMs: 1, fetch: counting }).table('prefs').get('u1'), { status: 0, code: 'network', retryable: true });
    assert.equal(calls, 3);
  });

  it('stops when the caller aborts, without retrying', async () => {
    api.delayMs = 200;
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 30);
    await rejects(open({ timeoutMs: 1000 }).table('prefs').get('u1', { signal: ac.signal }), { code: 'aborted', retryable: false });
    assert.equal(api.seen.length, 1);
  });

  it('refuses bad arguments at once', async () => {
    assert.throws(() => connect({ url: 'not a url', token }), TypeError);
    assert.throws(() => connect({ url: api.url, token: '' }), TypeError);
    assert.throws(() => connect({ url: api.url, token, retries: 100 }), RangeError);
    const prefs = connect<Record<string, unknown>>({ url: api.url, token }).table('prefs');
    await assert.rejects(prefs.put('u1', undefined), TypeError);
    await assert.rejects(prefs.list({ limit: 0 }), RangeError);
    await assert.rejects(prefs.get('u1', { consistency: { maxStalenessMs: -1 } }), RangeError);
    assert.equal(api.seen.length, 0, 'nothing was sent');
  });
});
