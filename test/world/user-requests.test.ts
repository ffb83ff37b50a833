// The simulated users' request mix: mostly reads, each table kind exercised, a user's
// writes homed in its own region, the same requests for the same seed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mulberry32, regionId } from '../../src/lib/index.js';
import { catalogItems, catalogSkus, nextUserRequest } from '../../src/world/index.js';

const user = { id: 7, city: 'Dublin', country: 'IE' };
const home = regionId('eu-west-1');

test('the mix is mostly reads, with counter increments and writes to every writable table', () => {
  const rand = mulberry32(3);
  const n = 20_000;
  const byOp = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const r = nextUserRequest(user, home, rand);
    byOp.set(r.op, (byOp.get(r.op) ?? 0) + 1);
  }
  const share = (pred: (op: string) => boolean): number => [...byOp].filter(([op]) => pred(op)).reduce((a, [, c]) => a + c, 0) / n;
  const reads = share((op) => op === 'page' || op.startsWith('read '));
  assert.ok(Math.abs(reads - 0.79) < 0.02, `reads ${reads}`);
  assert.ok(Math.abs(share((op) => op === 'increment views') - 0.11) < 0.01);
  assert.ok(Math.abs(share((op) => op.startsWith('write ')) - 0.10) < 0.01);
  assert.deepEqual([...byOp.keys()].sort(), [
    'increment views', 'page', 'read accounts', 'read carts', 'read catalog', 'read prefs', 'read views', 'write accounts', 'write carts', 'write prefs',
  ], 'catalog is read, never written, by users (it is written at the primary)');
});

test('a user writes its own rows, homed in its region, with bodies the app accepts', () => {
  const rand = mulberry32(9);
  const seen = new Map<string, { method: string; path: string; body?: string }>();
  for (let i = 0; i < 2000; i++) {
    const r = nextUserRequest(user, home, rand);
    seen.set(r.op, r);
  }
  assert.deepEqual(seen.get('write accounts'), { op: 'write accounts', method: 'PUT', path: '/api/accounts/u7?home=eu-west-1', body: '{"city":"Dublin","country":"IE"}' });
  const cart = seen.get('write carts');
  assert.equal(cart?.path, '/api/carts/c7');
  assert.equal((JSON.parse(cart?.body ?? '{}') as { region: string }).region, 'eu-west-1', 'a cart is homed by its region field');
  assert.equal(seen.get('read accounts')?.path, '/api/accounts/u7?home=eu-west-1');
  assert.equal(seen.get('increment views')?.method, 'POST');
  assert.match(seen.get('read catalog')?.path ?? '', /^\/api\/catalog\/sku-(\d+)$/);
  const sku = Number(/sku-(\d+)/.exec(seen.get('read catalog')?.path ?? '')?.[1]);
  assert.ok(sku >= 1 && sku <= catalogSkus && catalogItems().some((i) => i.sku === `sku-${sku}`), 'users read what the world seeds');
});

test('the same seed gives the same requests', () => {
  const a = mulberry32(5);
  const b = mulberry32(5);
  const xs = Array.from({ length: 200 }, () => nextUserRequest(user, home, a));
  assert.deepEqual(Array.from({ length: 200 }, () => nextUserRequest(user, home, b)), xs);
});
