// The built-in world's topology: valid, with the example application's five tables.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadRegionCatalog } from '../../src/geo/index.js';
import { parseTopology } from '../../src/topology/index.js';
import { defaultWorldRegions, worldTopologyFile, yamlOf } from '../../src/world/index.js';

const catalog = loadRegionCatalog();

const surviveOf = (f: ReturnType<typeof tablesOf>): string | undefined => {
  const t = f.data.tables.accounts;
  return t?.locality === 'home' ? t.survive : undefined;
};

function tablesOf(ids: string[]) {
  const r = parseTopology(yamlOf(worldTopologyFile(ids, catalog)), catalog);
  assert.ok(r.ok, r.ok ? '' : r.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  return r.topology.file;
}

test('the default world declares the five table kinds and validates; accounts survive a zone, as eu-west-1 is alone in strict eu', () => {
  const f = tablesOf(defaultWorldRegions);
  assert.deepEqual(Object.keys(f.data.tables).sort(), ['accounts', 'carts', 'catalog', 'prefs', 'views']);
  assert.equal(surviveOf(f), 'zone');
  assert.equal(f.deployment.primary, 'us-east-1', 'catalog is written at the first region');
});

test('accounts survive a region when every home has a second allowed region', () => {
  assert.equal(surviveOf(tablesOf(['us-east-1', 'eu-west-1', 'eu-central-1'])), 'region');
  assert.equal(surviveOf(tablesOf(['us-east-1'])), 'zone');
});
