import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { request } from 'undici';
import type { RegionNode } from '../../src/node/index.js';
import { api, dataTopology, regionsOf, threeDataNodes } from './fixtures.js';

const octet = 44;
const { us, euWest, euCentral } = regionsOf(octet);

describe('data API on every node (three regions, eu strict)', () => {
  const t = dataTopology(octet);
  const nodes = threeDataNodes(t);
  const node = (id: string): RegionNode => nodes.find((n) => n.status().region === id) as RegionNode;

  it('refuses callers without the application token or a mesh signature (401)', async () => {
    const res = await request(`http://${us}:7070/data/v1/tables/prefs/rows/u1`);
    assert.equal(res.statusCode, 401);
    assert.equal(((await res.body.json()) as { error: string }).error, 'unauthenticated');
    const bad = await api(us, 'GET', '/tables/prefs/rows/u1', undefined, { authorization: 'Bearer wrong-token-0123456789' });
    assert.equal(bad.status, 401);
  });

  it('puts, gets, lists with a cursor and deletes a row of a global table, with versions', async () => {
    const put = await api(us, 'PUT', '/tables/prefs/rows/u1', { theme: 'dark' });
    assert.equal(put.status, 200);
    assert.deepEqual(put.body.value, { theme: 'dark' });
    assert.match(String(put.body.version), /^\d+\.\d+\.us-east-1$/);
    assert.equal(put.servedBy, 'us-east-1');
    const got = await api(us, 'GET', '/tables/prefs/rows/u1');
    assert.deepEqual(got.body, put.body);
    for (const k of ['list-a', 'list-b', 'list-c']) assert.equal((await api(us, 'PUT', `/tables/prefs/rows/${k}`, { k })).status, 200);
    const page1 = await api(us, 'GET', '/tables/prefs/rows?prefix=list-&limit=2');
    assert.deepEqual((page1.body.rows as { key: string }[]).map((r) => r.key), ['list-a', 'list-b']);
    const page2 = await api(us, 'GET', `/tables/prefs/rows?prefix=list-&limit=2&cursor=${String(page1.body.cursor)}`);
    assert.deepEqual((page2.body.rows as { key: string }[]).map((r) => r.key), ['list-c']);
    assert.equal(page2.body.cursor, null);
    const del = await api(us, 'DELETE', '/tables/prefs/rows/list-b');
    assert.equal(del.status, 200);
    assert.equal(del.body.deleted, true);
    assert.equal((await api(us, 'GET', '/tables/prefs/rows/list-b')).status, 404);
    assert.equal((await api(us, 'DELETE', '/tables/prefs/rows/never-there')).status, 404);
    assert.equal((await api(us, 'DELETE', '/tables/prefs/rows/list-b')).status, 404, 'deleted already');
  });

  it('conditional puts: if-match a version, if-none-match * (409 with the current version)', async () => {
    const a = await api(us, 'PUT', '/tables/prefs/rows/cond', { n: 1 }, { 'if-none-match': '*' });
    assert.equal(a.status, 200);
    const again = await api(us, 'PUT', '/tables/prefs/rows/cond', { n: 2 }, { 'if-none-match': '*' });
    assert.equal(again.status, 409);
    assert.equal(again.body.error, 'version_conflict');
    assert.equal(again.body.current, a.body.version);
    const b = await api(us, 'PUT', '/tables/prefs/rows/cond', { n: 3 }, { 'if-match': String(a.body.version) });
    assert.equal(b.status, 200);
    const stale = await api(us, 'PUT', '/tables/prefs/rows/cond', { n: 4 }, { 'if-match': String(a.body.version) });
    assert.equal(stale.status, 409);
    assert.deepEqual((await api(us, 'GET', '/tables/prefs/rows/cond')).body.value, { n: 3 });
    assert.equal((await api(us, 'PUT', '/tables/prefs/rows/cond', { n: 5 }, { 'if-match': 'yesterday' })).status, 400);
  });

  it('counters count increments; an idempotency key applies a retried increment once', async () => {
    const one = await api(us, 'POST', '/tables/views/rows/home/increment', { by: 2 }, { 'idempotency-key': 'inc-1' });
    assert.equal(one.status, 200);
    assert.equal(one.body.value, 2);
    const retry = await api(us, 'POST', '/tables/views/rows/home/increment', { by: 2 }, { 'idempotency-key': 'inc-1' });
    assert.deepEqual(retry.body, one.body, 'the same answer');
    const [x, y] = await Promise.all([
      api(us, 'POST', '/tables/views/rows/home/increment', { by: 1 }, { 'idempotency-key': 'inc-2' }),
      api(us, 'POST', '/tables/views/rows/home/increment', { by: 1 }, { 'idempotency-key': 'inc-2' }),
    ]);
    assert.deepEqual(x.body, y.body, 'a retry racing its original gets the original answer');
    assert.equal((await api(us, 'GET', '/tables/views/rows/home')).body.value, 3);
    assert.equal((await api(us, 'PUT', '/tables/views/rows/home', 5)).status, 400, 'counters take increments, not puts');
    assert.equal((await api(us, 'POST', '/tables/prefs/rows/u1/increment', { by: 1 })).status, 400);
  });

  it('writes: primary — a write received elsewhere is forwarded to the primary', async () => {
    const w = await api(euWest, 'PUT', '/tables/catalog/rows/sku-1', { name: 'kettle' });
    assert.equal(w.status, 200);
    assert.equal(w.servedBy, 'us-east-1');
    assert.equal(node('us-east-1').store.get('catalog', 'sku-1')?.value, '{"name":"kettle"}');
  });

  it('home tables: a write for a row homed elsewhere runs at its home; EU rows are never stored outside the EU', async () => {
    const w = await api(us, 'PUT', '/tables/accounts/rows/alice', { secret: 'EU-ONLY-VALUE-alice' }, { 'x-meridian-home': 'eu-west-1' });
    assert.equal(w.status, 200);
    assert.equal(w.servedBy, 'eu-west-1');
    assert.equal(w.body.home, 'eu-west-1');
    assert.equal(node('us-east-1').store.get('accounts', 'alice'), undefined, 'not stored in us-east-1');
    assert.ok(node('eu-west-1').store.get('accounts', 'alice'));
    // a read in us-east-1 without the home finds it in the EU (residency keeps it there)
    const r = await api(us, 'GET', '/tables/accounts/rows/alice');
    assert.equal(r.status, 200);
    assert.equal(r.servedBy, 'eu-west-1');
    // home_from: client — a new row written in a region is homed there
    const mine = await api(us, 'PUT', '/tables/accounts/rows/bob', { n: 1 });
    assert.equal(mine.body.home, 'us-east-1');
    // a later write to alice's row through us-east-1 without naming the home finds it
    const again = await api(us, 'PUT', '/tables/accounts/rows/alice', { secret: 'EU-ONLY-VALUE-alice-2' });
    assert.equal(again.servedBy, 'eu-west-1');
    assert.equal(again.body.home, 'eu-west-1');
    assert.equal(node('us-east-1').store.get('accounts', 'alice'), undefined);
  });

  it('home_from: field — the value names the home; missing or unknown is 400', async () => {
    const w = await api(us, 'PUT', '/tables/carts/rows/c1', { region: 'eu-central-1', items: ['tea'] });
    assert.equal(w.status, 200);
    assert.equal(w.servedBy, 'eu-central-1');
    assert.equal((await api(us, 'PUT', '/tables/carts/rows/c2', { items: [] })).status, 400);
    const unknown = await api(us, 'PUT', '/tables/carts/rows/c3', { region: 'mars-1' });
    assert.equal(unknown.status, 400);
    assert.match(String(unknown.body.reason), /mars-1/);
    assert.equal((await api(euCentral, 'GET', '/tables/carts/rows/c1')).status, 200);
  });

  it('consistency per read: strong needs a leader; max_staleness needs proof of freshness', async () => {
    const s = await api(us, 'GET', '/tables/prefs/rows/u1?consistency=strong');
    assert.equal(s.status, 400, 'no leader for a table written anywhere');
    assert.equal((await api(euWest, 'GET', '/tables/catalog/rows/sku-1?consistency=strong')).servedBy, 'us-east-1', 'primary tables: at the primary');
    assert.equal((await api(us, 'GET', '/tables/prefs/rows/u1?consistency=eventually')).status, 400);
    assert.equal((await api(us, 'GET', '/tables/prefs/rows/u1?consistency=max_staleness')).status, 400);
    assert.equal((await api(us, 'GET', '/tables/catalog/rows/sku-1?max_staleness_ms=1000')).status, 200, 'at the primary itself');
  });

  it('bad input: unknown table 404, bad JSON 400, oversized value 413, bad key 400, bad method 405', async () => {
    assert.equal((await api(us, 'GET', '/tables/nope/rows/x')).body.error, 'unknown_table');
    assert.equal((await api(us, 'PUT', '/tables/prefs/rows/x', '{not json')).status, 400);
    assert.equal((await api(us, 'PUT', '/tables/prefs/rows/x', { big: 'x'.repeat(1024 * 1024 + 10) })).status, 413);
    assert.equal((await api(us, 'GET', '/tables/prefs/rows/%zz')).status, 400);
    assert.equal((await api(us, 'POST', '/tables/prefs/rows/x')).status, 405);
    assert.equal((await api(us, 'GET', '/tables/prefs/rows?limit=5000')).status, 400);
  });
});
