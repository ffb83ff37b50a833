import { test } from 'node:test';
import assert from 'node:assert/strict';
import { route } from '../../src/routing/index.js';
import { clientAt, down, london, query, reasonOf, subnetFor, table } from './fixtures.js';

const weighted = table(['us-east-1', 'eu-west-1', 'ap-southeast-1'], {
  policy: 'weighted',
  weights: { 'us-east-1': 3, 'eu-west-1': 1 },
});
const clients = Array.from({ length: 4000 }, (_, i) => clientAt(51.5, -0.1, 'GB', 'EU', subnetFor(i)));

test('weighted: weights 3:1 send ~75% ± 3% of 4000 subnets to the weight-3 region', () => {
  let east = 0;
  for (const c of clients) {
    const first = route(weighted, query(c)).answer[0];
    assert.notEqual(first, 'ap-southeast-1', 'a weight-0 region is never first while a weighted one is up');
    if (first === 'us-east-1') east++;
  }
  const share = east / clients.length;
  assert.ok(Math.abs(share - 0.75) <= 0.03, `us-east-1 share ${share}`);
});

test('weighted: the same subnet always gets the same ranking', () => {
  for (const c of clients.slice(0, 200)) {
    assert.deepEqual(route(weighted, query(c)), route(weighted, query({ ...c })));
  }
});

test('weighted: when a region goes down only its own clients move', () => {
  // Rendezvous hashing: clients of us-east-1 keep it when eu-west-1 fails.
  for (const c of clients.slice(0, 500)) {
    const before = route(weighted, query(c)).answer[0];
    const after = route(weighted, query(c, down('eu-west-1'))).answer[0];
    if (before === 'us-east-1') assert.equal(after, 'us-east-1');
    else assert.equal(after, 'us-east-1', 'the only other weighted region takes them');
  }
});

test('weighted: the reason gives weight and share', () => {
  const d = route(weighted, query(london));
  const first = d.answer[0]!;
  assert.equal(reasonOf(d, first), first === 'us-east-1' ? 'weighted pick for client subnet 81.2.69.0/24: weight 3 of 4 (75%)' : 'weighted pick for client subnet 81.2.69.0/24: weight 1 of 4 (25%)');
  assert.equal(reasonOf(d, 'ap-southeast-1'), 'weight 0: serves only when every weighted region is down');
  assert.deepEqual(d.ranked.map((r) => r.region).at(-1), 'ap-southeast-1');
});

test('weighted: a weight-0 region serves when every weighted region is down', () => {
  const d = route(weighted, query(london, down('us-east-1', 'eu-west-1')));
  assert.deepEqual(d.answer, ['ap-southeast-1']);
  assert.match(reasonOf(d, 'ap-southeast-1'), /^weight 0, and no weighted region is healthy: picked by hash of client subnet 81\.2\.69\.0\/24$/);
});

test('weighted: equal weights split evenly across three regions', () => {
  const even = table(['us-east-1', 'eu-west-1', 'ap-southeast-1'], { policy: 'weighted', weights: { 'us-east-1': 1, 'eu-west-1': 1, 'ap-southeast-1': 1 } });
  const counts = new Map<string, number>();
  for (const c of clients.slice(0, 3000)) {
    const first = route(even, query(c)).answer[0]!;
    counts.set(first, (counts.get(first) ?? 0) + 1);
  }
  for (const [region, n] of counts) assert.ok(Math.abs(n / 3000 - 1 / 3) <= 0.03, `${region}: ${n}`);
  assert.equal(counts.size, 3);
});
