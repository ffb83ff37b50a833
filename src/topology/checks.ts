// Cross-field checks: what the schema cannot see one key at a time. Each check returns
// problems with the path of the key to fix; none throws.

import type { RegionCatalog } from '../geo/index.js';
import { normaliseGeoKey } from './geo-keys.js';
import type { PathSegment } from './problem.js';
import type { TopologyFile } from './schema.js';
import { spansMachines } from './derived.js';

export interface RawProblem {
  readonly severity: 'error' | 'warning';
  readonly path: readonly PathSegment[];
  readonly message: string;
  readonly expected?: string;
}

type Check = (f: TopologyFile, catalog: RegionCatalog) => RawProblem[];

const error = (path: PathSegment[], message: string, expected?: string): RawProblem => ({
  severity: 'error', path, message, ...(expected !== undefined && { expected }),
});
const warning = (path: PathSegment[], message: string, expected?: string): RawProblem => ({
  severity: 'warning', path, message, ...(expected !== undefined && { expected }),
});

const uniqueRegions: Check = (f) => {
  const out: RawProblem[] = [];
  const seen = { id: new Map<string, number>(), public: new Map<string, number>(), mesh: new Map<string, number>() };
  f.regions.forEach((r, i) => {
    const keys = { id: r.id, public: r.public, mesh: `${r.mesh.host}:${r.mesh.port}` };
    for (const field of ['id', 'public', 'mesh'] as const) {
      const first = seen[field].get(keys[field]);
      if (first === undefined) seen[field].set(keys[field], i);
      else out.push(error(['regions', i, field], `duplicate ${field === 'id' ? 'region id' : `${field} address`} ${JSON.stringify(keys[field])}, already used by regions[${first}]`, `a value unique among regions`));
    }
  });
  return out;
};

const regionLocations: Check = (f, catalog) =>
  f.regions.flatMap((r, i) =>
    r.location === undefined && !catalog.regions.some((c) => c.id === r.id)
      ? [error(['regions', i, 'location'], `region ${r.id} is not in data/cloud-regions.json, so its location must be given`, '{ lat: <degrees>, lon: <degrees> }')]
      : [],
  );

const knownRegionRefs: Check = (f) => {
  const ids = new Set(f.regions.map((r) => r.id));
  const list = [...ids].join(', ');
  const unknown = (path: PathSegment[], id: string): RawProblem =>
    error(path, `unknown region ${JSON.stringify(id)}`, `one of the regions: ${list}`);
  const out: RawProblem[] = [];
  if (f.deployment.primary !== undefined && !ids.has(f.deployment.primary)) out.push(unknown(['deployment', 'primary'], f.deployment.primary));
  const seenFailover = new Set<string>();
  (f.deployment.failover ?? []).forEach((id, i) => {
    if (!ids.has(id)) out.push(unknown(['deployment', 'failover', i], id));
    else if (seenFailover.has(id)) out.push(error(['deployment', 'failover', i], `${id} is listed twice`, 'each region at most once'));
    seenFailover.add(id);
  });
  for (const field of ['weights', 'bias'] as const) {
    for (const id of Object.keys(f.routing[field])) if (!ids.has(id)) out.push(unknown(['routing', field, id], id));
  }
  for (const [key, id] of Object.entries(f.routing.geolocation)) if (!ids.has(id)) out.push(unknown(['routing', 'geolocation', key], id));
  f.gateway.home.paths.forEach((rule, i) => {
    if (!ids.has(rule.region)) out.push(unknown(['gateway', 'home', 'paths', i, 'region'], rule.region));
  });
  for (const pair of Object.keys(f.cost.prices_per_gb.pairs)) {
    const m = /^([a-z0-9-]+)->([a-z0-9-]+)$/.exec(pair);
    if (m === null) out.push(error(['cost', 'prices_per_gb', 'pairs', pair], `${JSON.stringify(pair)} is not a region pair`, 'from->to, like us-east-1->eu-west-1'));
    else for (const id of [m[1] as string, m[2] as string]) if (!ids.has(id)) out.push(unknown(['cost', 'prices_per_gb', 'pairs', pair], id));
  }
  return out;
};

const geolocationKeys: Check = (f) =>
  Object.keys(f.routing.geolocation).flatMap((k) => {
    const r = normaliseGeoKey(k);
    return r.ok ? [] : [error(['routing', 'geolocation', k], r.message, r.expected)];
  });

const policyNeeds: Check = (f) => {
  const out: RawProblem[] = [];
  const r = f.routing;
  if (r.policy === 'weighted') {
    const total = Object.values(r.weights).reduce((a, b) => a + b, 0);
    if (total === 0) out.push(error(['routing', 'weights'], 'policy weighted needs at least one region with a weight above 0', '{ <region>: <weight 1..255>, ... }'));
  }
  if (r.policy === 'geolocation') {
    if (Object.keys(r.geolocation).length === 0) out.push(error(['routing', 'geolocation'], 'policy geolocation needs a map of locations to regions', '{ EU: eu-west-1, default: us-east-1 }'));
    else if (!('default' in r.geolocation)) out.push(warning(['routing', 'geolocation'], 'no default: clients matching no key are sent by latency', 'a default: <region> entry'));
  }
  const g = f.gateway;
  if (g.replay_max_body > g.max_body_size) out.push(error(['gateway', 'replay_max_body'], `${g.replay_max_body} bytes is above max_body_size (${g.max_body_size})`, 'at most gateway.max_body_size'));
  if (g.header_timeout > g.request_timeout) out.push(error(['gateway', 'header_timeout'], 'longer than request_timeout', 'a header timeout at most the request timeout'));
  if (r.ttl > 86_400_000) out.push(warning(['routing', 'ttl'], 'a TTL over a day makes failover take as long', 'a few seconds to a few minutes'));
  const h = f.health;
  if (h.timeout >= h.interval) out.push(error(['health', 'timeout'], `timeout ${h.timeout}ms is not below interval ${h.interval}ms`, 'a timeout shorter than the interval'));
  return out;
};

const deploymentNeeds: Check = (f) => {
  const out: RawProblem[] = [];
  const d = f.deployment;
  if (d.model === 'active-passive' && d.primary === undefined) {
    out.push(error(['deployment', 'primary'], 'active-passive needs a primary: the region that serves while it is healthy', 'primary: <region id>'));
  }
  if (d.model === 'active-passive' && f.regions.length < 2) {
    out.push(error(['deployment', 'model'], 'active-passive needs at least two regions (a primary and a standby)', 'another region, or model: active-active'));
  }
  for (const [name, t] of Object.entries(f.data.tables)) {
    if (t.locality === 'global' && t.writes === 'primary' && d.primary === undefined) {
      out.push(error(['data', 'tables', name, 'writes'], 'writes: primary sends writes to deployment.primary, which is not set', 'deployment.primary: <region id>, or writes: anywhere'));
    }
  }
  return out;
};

const residency: Check = (f) => {
  const out: RawProblem[] = [];
  const jurisdictions = new Set(f.regions.map((r) => r.jurisdiction));
  for (const j of Object.keys(f.data.residency)) {
    if (!jurisdictions.has(j)) out.push(warning(['data', 'residency', j], `no region has jurisdiction ${JSON.stringify(j)}`, `one of: ${[...jurisdictions].join(', ')}`));
  }
  for (const [name, t] of Object.entries(f.data.tables)) {
    if (t.locality !== 'home' || t.survive !== 'region') continue;
    for (const r of f.regions) {
      const strict = f.data.residency[r.jurisdiction] === 'strict';
      const allowed = strict ? f.regions.filter((x) => x.jurisdiction === r.jurisdiction) : f.regions;
      if (allowed.length < 2) {
        out.push(error(['data', 'tables', name, 'survive'],
          `rows homed in ${r.id} may be stored only in ${strict ? `jurisdiction ${r.jurisdiction} (${allowed.map((x) => x.id).join(', ')})` : allowed.map((x) => x.id).join(', ')}, but survive: region needs a second allowed region`,
          'survive: zone, or another region in that jurisdiction'));
        break;
      }
    }
  }
  return out;
};

// The embedded coordinator lives in one process on one machine (the local world's
// supervisor): regions on several machines would share a single point of failure that
// none of them can reach across a partition. Refused, not warned: leases are the safety.
const coordPlacement: Check = (f) => {
  if (f.coord.kind !== 'embedded' || !spansMachines(f)) return [];
  return [error(['coord', 'kind'], 'embedded coordination runs on one machine (meridian dev\'s supervisor), but these regions are on several', 'coord: { kind: etcd, endpoints: [http://<member>:2379, ...] } with three or more members spread over regions')];
};

const records: Check = (f) => {
  const out: RawProblem[] = [];
  const hosts = new Set(f.service.hosts.map((h) => h.toLowerCase()));
  f.service.records.forEach((rec, i) => {
    const bad = recordValueProblem(rec.type, rec.value);
    if (bad !== null) out.push(error(['service', 'records', i, 'value'], `${JSON.stringify(rec.value)} is not ${rec.type} data`, bad));
    const name = rec.name.toLowerCase();
    if (hosts.has(name) && (rec.type === 'A' || rec.type === 'AAAA' || rec.type === 'CNAME')) {
      out.push(error(['service', 'records', i, 'name'], `${rec.name} is a service host, answered by the routing policy`, 'a name not in service.hosts'));
    }
    if (rec.type === 'CNAME' && (name === '@' || f.service.records.some((o, j) => j !== i && o.name.toLowerCase() === name))) {
      out.push(error(['service', 'records', i, 'name'], `a CNAME at ${rec.name} cannot share its name with other records (RFC 1034 §3.6.2)`, 'a name with no other records'));
    }
  });
  return out;
};

function recordValueProblem(type: string, value: string): string | null {
  const name = /^[A-Za-z0-9_*]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$/;
  switch (type) {
    case 'A':
      return /^(\d{1,3})(\.\d{1,3}){3}$/.test(value) && value.split('.').every((o) => Number(o) <= 255) ? null : 'an IPv4 address like 192.0.2.1';
    case 'AAAA':
      return value.includes(':') && /^[0-9a-fA-F:.]+$/.test(value) ? null : 'an IPv6 address like 2001:db8::1';
    case 'CNAME':
      return name.test(value) ? null : 'a domain name';
    case 'TXT':
      return value.length <= 4096 ? null : 'text of at most 4096 characters';
    case 'MX': {
      const [pref, host, ...rest] = value.split(/\s+/);
      return rest.length === 0 && /^\d+$/.test(pref ?? '') && Number(pref) <= 65535 && name.test(host ?? '') ? null : '"<preference> <host>", like "10 mail.shop.example.test."';
    }
    case 'SRV': {
      const parts = value.split(/\s+/);
      const nums = parts.slice(0, 3);
      return parts.length === 4 && nums.every((n) => /^\d+$/.test(n) && Number(n) <= 65535) && name.test(parts[3] as string) ? null : '"<priority> <weight> <port> <target>", like "10 5 5060 sip.shop.example.test."';
    }
    case 'CAA':
      return /^\d{1,3}\s+[a-zA-Z0-9]+\s+"[^"]*"$/.test(value) && Number(value.split(/\s+/)[0]) <= 255 ? null : '"<flags> <tag> \\"<value>\\"", like "0 issue \\"letsencrypt.org\\""';
    default:
      return 'a supported record type';
  }
}

export const checks: readonly Check[] = [
  uniqueRegions,
  regionLocations,
  knownRegionRefs,
  geolocationKeys,
  policyNeeds,
  deploymentNeeds,
  residency,
  records,
  coordPlacement,
];

export function crossCheck(f: TopologyFile, catalog: RegionCatalog): RawProblem[] {
  return checks.flatMap((c) => c(f, catalog));
}
