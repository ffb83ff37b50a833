// Who may store what in a simulated world: asked of the real topology code
// (allowedRegionsForHome), from a topology parsed the way `meridian validate` parses one.
// Two jurisdictions: eu (strict) and us (not).

import { regionId } from '../../src/lib/index.js';
import { allowedRegionsForHome, parseTopology, type Topology } from '../../src/topology/index.js';

const allRegions = [
  { id: 'eu-west-1', jurisdiction: 'eu' },
  { id: 'us-east-1', jurisdiction: 'us' },
  { id: 'eu-central-1', jurisdiction: 'eu' },
  { id: 'us-west-2', jurisdiction: 'us' },
] as const;

export interface Residency {
  readonly regions: readonly string[];
  readonly jurisdictionOf: ReadonlyMap<string, string>;
  /** May `region` store a row of a table homed in `home` (null: global or counter)? */
  mayStoreAt(region: string, table: string, home: string | null): boolean;
  allowedFor(home: string): readonly string[];
}

const cache = new Map<number, Residency>();

/** The world of `n` regions (3 or 4), built once per size: parsing is slower than a run. */
export function residencyFor(n: number): Residency {
  const hit = cache.get(n);
  if (hit !== undefined) return hit;
  const picked = allRegions.slice(0, n);
  const yaml = [
    'service: { name: sim, zone: sim.example.test, hosts: [www] }',
    'regions:',
    ...picked.map((r, i) => `  - { id: ${r.id}, jurisdiction: ${r.jurisdiction}, public: 127.0.${i + 1}.1, mesh: "127.0.${i + 1}.1:7070", app: "http://127.0.${i + 1}.1:9000" }`),
    `deployment: { model: active-active, primary: ${picked[1]?.id ?? ''} }`,
    'data:',
    '  residency: { eu: strict }',
    '  tables:',
    '    accounts: { locality: home, survive: region }',
    '    profiles: { locality: global, writes: anywhere }',
    '    likes: { locality: global, writes: anywhere, type: counter }',
  ].join('\n');
  const loaded = parseTopology(yaml);
  if (!loaded.ok) throw new Error(`the simulator's topology is invalid: ${JSON.stringify(loaded.problems)}`);
  const t: Topology = loaded.topology;
  const allowed = new Map(picked.map((r) => [r.id as string, allowedRegionsForHome(t, regionId(r.id)).map(String)]));
  const r: Residency = {
    regions: picked.map((x) => x.id),
    jurisdictionOf: new Map(picked.map((x) => [x.id as string, x.jurisdiction as string])),
    mayStoreAt: (region, _table, home) => home === null || (allowed.get(home)?.includes(region) ?? false),
    allowedFor: (home) => allowed.get(home) ?? [],
  };
  cache.set(n, r);
  return r;
}
