import { test } from 'node:test';
import assert from 'node:assert/strict';
import { regionId } from '../../src/lib/index.js';
import { route } from '../../src/routing/index.js';
import { down, london, order, paris, query, reasonOf, sydney, table, tokyo, unlocated } from './fixtures.js';

const regions = ['us-east-1', 'eu-west-1', 'eu-central-1', 'ap-southeast-1'];
const geo = {
  'country:GB': regionId('eu-west-1'),
  'continent:EU': regionId('eu-central-1'),
  default: regionId('us-east-1'),
};
const geoTable = table(regions, { policy: 'geolocation', geolocation: geo });

test('geolocation: a country key beats the continent key', () => {
  const d = route(geoTable, query(london));
  assert.deepEqual(d.answer, ['eu-west-1']);
  assert.equal(reasonOf(d, 'eu-west-1'), 'geolocation match country:GB (client in GB (EU))');
  assert.match(d.summary, /^geolocation policy → eu-west-1: geolocation match country:GB/);
});

test('geolocation: a continent key beats default', () => {
  const d = route(geoTable, query(paris));
  assert.deepEqual(d.answer, ['eu-central-1']);
  assert.equal(reasonOf(d, 'eu-central-1'), 'geolocation match continent:EU (client in FR (EU))');
});

test('geolocation: default catches the rest, even when another region is much nearer', () => {
  const d = route(geoTable, query(tokyo));
  assert.deepEqual(d.answer, ['us-east-1']);
  assert.equal(reasonOf(d, 'us-east-1'), 'geolocation match default (client in JP (AS))');
  // The others follow by latency from Tokyo: Singapore first.
  assert.deepEqual(order(d), ['us-east-1', 'ap-southeast-1', 'eu-west-1', 'eu-central-1']);
  assert.match(reasonOf(d, 'ap-southeast-1'), /^not a geolocation match; measured RTT: [\d.]+ ms/);
});

test('geolocation: an unlocated client gets default', () => {
  const d = route(geoTable, query(unlocated));
  assert.deepEqual(d.answer, ['us-east-1']);
  assert.equal(reasonOf(d, 'us-east-1'), 'geolocation match default (client location unknown)');
});

test('geolocation: the country match down, the continent match serves next, then default', () => {
  const d = route(geoTable, query(london, down('eu-west-1')));
  assert.deepEqual(d.answer, ['eu-central-1']);
  assert.equal(reasonOf(d, 'eu-central-1'), 'geolocation fallback continent:EU: country:GB → eu-west-1 down');
  const both = route(geoTable, query(london, down('eu-west-1', 'eu-central-1')));
  assert.deepEqual(both.answer, ['us-east-1']);
  assert.match(reasonOf(both, 'us-east-1'), /^geolocation fallback default: country:GB → eu-west-1, continent:EU → eu-central-1 down$/);
});

test('geolocation: every match down, the nearest healthy region serves', () => {
  const d = route(geoTable, query(london, down('eu-west-1', 'eu-central-1', 'us-east-1')));
  assert.deepEqual(d.answer, ['ap-southeast-1']);
  assert.match(reasonOf(d, 'ap-southeast-1'), /^every geolocation match is down \(.*\); nearest healthy by measured RTT/);
});

test('geolocation: no match and no default orders by latency and says "no geolocation match"', () => {
  const noDefault = table(regions, { policy: 'geolocation', geolocation: { 'country:GB': regionId('eu-west-1') } });
  const d = route(noDefault, query(sydney));
  assert.deepEqual(d.answer, ['ap-southeast-1']);
  assert.match(reasonOf(d, 'ap-southeast-1'), /^no geolocation match for client in AU \(OC\); nearest healthy by measured RTT: [\d.]+ ms/);
  assert.match(d.summary, /no geolocation match/);
});
