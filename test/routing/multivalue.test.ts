import { test } from 'node:test';
import assert from 'node:assert/strict';
import { regionId } from '../../src/lib/index.js';
import { multivalueMax, route } from '../../src/routing/index.js';
import { clientAt, down, london, query, reasonOf, subnetFor, table } from './fixtures.js';

const ten = ['us-east-1', 'us-east-2', 'us-west-2', 'eu-west-1', 'eu-west-2', 'eu-central-1', 'ap-southeast-1', 'ap-northeast-1', 'sa-east-1', 'ca-central-1'];
const twelve = [...ten, 'af-south-1', 'me-south-1'];

test('multivalue: answers every healthy region up to 8', () => {
  const few = route(table(['us-east-1', 'eu-west-1', 'ap-southeast-1'], { policy: 'multivalue' }), query(london));
  assert.equal(few.answer.length, 3);
  assert.deepEqual([...few.answer].sort(), ['ap-southeast-1', 'eu-west-1', 'us-east-1']);

  const many = route(table(twelve, { policy: 'multivalue' }), query(london));
  assert.equal(many.answer.length, multivalueMax);
  const unanswered = many.ranked.filter((r) => !many.answer.includes(r.region));
  assert.equal(unanswered.length, 4);
  for (const r of unanswered) assert.match(r.reason, /healthy but not answered: at most 8 records$/);
});

test('multivalue: answers only healthy regions', () => {
  const d = route(table(ten, { policy: 'multivalue' }), query(london, down('eu-west-1', 'us-east-1', 'sa-east-1')));
  assert.equal(d.answer.length, 7);
  for (const r of d.answer) assert.ok(!['eu-west-1', 'us-east-1', 'sa-east-1'].includes(r), `${r} is down`);
  assert.equal(d.allDown, false);
  assert.match(reasonOf(d, d.answer[0]!), /^multivalue: first healthy in the stable shuffle for client subnet 81\.2\.69\.0\/24$/);
});

test('multivalue: the shuffle is stable per subnet and spreads first picks across subnets', () => {
  const t = table(['us-east-1', 'eu-west-1', 'ap-southeast-1', 'sa-east-1'], { policy: 'multivalue' });
  const firsts = new Map<string, number>();
  for (let i = 0; i < 2000; i++) {
    const c = clientAt(51.5, -0.1, 'GB', 'EU', subnetFor(i));
    const a = route(t, query(c));
    assert.deepEqual(route(t, query(c)).answer, a.answer);
    firsts.set(a.answer[0]!, (firsts.get(a.answer[0]!) ?? 0) + 1);
  }
  assert.equal(firsts.size, 4);
  for (const [region, n] of firsts) assert.ok(Math.abs(n / 2000 - 0.25) <= 0.04, `${region} first for ${n} of 2000`);
});

test('multivalue under active-passive answers only the primary: standbys take no traffic', () => {
  const d = route(table(['us-east-1', 'eu-west-1'], { policy: 'multivalue', model: 'active-passive', primary: regionId('us-east-1') }), query(london));
  assert.deepEqual(d.answer, ['us-east-1']);
});
