// compileZone(): the server options checked once and turned into maps, so a query is a
// couple of lookups and a bad config fails at construction with a reason, not at the
// first query in production.

import { isIP } from 'node:net';
import type { Answer } from 'dns-packet';
import { MeridianError } from '../lib/index.js';
import { isWithin, parseName } from './names.js';
import { parseRecordValue, type RecordValue } from './records.js';
import type { DnsServerOptions, DnsStaticRecord, DnsZone, RRset, ZoneNode } from './types.js';
import { qtype } from './wire.js';

/** TTL of the zone's own records (SOA, NS, glue, the RFC 8482 HINFO): they change only
 *  with the config, so an hour, the common default for infrastructure records. */
export const zoneRecordTtlSec = 3600;
/** The longest CNAME chain inside the zone we follow (BIND follows 16, resolvers about 8):
 *  the config is checked against it, so a query never loops. */
export const maxCnameChain = 8;

const uint32Max = 0xffff_ffff;
/** A TTL is a signed 32-bit number in practice (RFC 2181 §8). */
const maxTtlSec = 0x7fff_ffff;

type ZoneOptions = Pick<DnsServerOptions, 'zone' | 'hosts' | 'nameservers' | 'soa' | 'records'>;

interface Building {
  policyHost?: string;
  isApex: boolean;
  /** Holds a nameserver's glue: its addresses come from the nameservers list only. */
  isNameserver: boolean;
  /** By qtype: the records in config order, by data key, and the TTL they share. */
  rrsets: Map<number, { ttlSec: number; values: Map<string, RecordValue> }>;
}

function configError(message: string, hint: string): MeridianError {
  return new MeridianError('dns-config', message, hint);
}

function nameOrThrow(text: string, what: string): string[] {
  const labels = parseName(text);
  if (labels === null) throw configError(`${what} ${JSON.stringify(text)} is not a valid domain name`, 'use letters, digits and hyphens, labels of 1-63 characters, at most 253 in all');
  return labels;
}

/** 'hostmaster@shop.example.test' -> 'hostmaster.shop.example.test' (the SOA RNAME form;
 *  dots in the local part are escaped so dns-packet's mail encoding keeps them in one label). */
function mailboxName(text: string): string {
  const at = text.indexOf('@');
  if (at < 0) return nameOrThrow(text, 'soa.rname').join('.');
  const local = text.slice(0, at);
  if (local === '' || local.length > 63) throw configError(`soa.rname ${JSON.stringify(text)} has an invalid local part`, 'write it as hostmaster.example.test or hostmaster@example.test');
  return `${local.replace(/\./g, '\\.')}.${nameOrThrow(text.slice(at + 1), 'soa.rname').join('.')}`;
}

export function compileZone(opts: ZoneOptions): DnsZone {
  const apexLabels = nameOrThrow(opts.zone, 'zone');
  const apex = apexLabels.join('.');
  const nodes = new Map<string, Building>();
  const nodeAt = (name: string): Building => {
    let node = nodes.get(name);
    if (node === undefined) {
      node = { isApex: name === apex, isNameserver: false, rrsets: new Map() };
      nodes.set(name, node);
    }
    return node;
  };
  nodeAt(apex); // the apex always exists: it holds the SOA and NS

  for (const host of opts.hosts) {
    const name = host.trim() === '@' ? apex : [...nameOrThrow(host, 'host'), ...apexLabels].join('.');
    const node = nodeAt(name);
    if (node.policyHost !== undefined) throw configError(`host ${JSON.stringify(host)} is listed twice`, 'list each host once');
    node.policyHost = host.trim() === '@' ? '@' : host.trim().toLowerCase().replace(/\.$/, '');
  }

  const nameservers = addNameservers(opts, apexLabels, nodeAt);
  for (const rec of opts.records ?? []) addRecord(rec, apexLabels, nodeAt);

  const soa = opts.soa;
  for (const key of ['serial', 'refreshSec', 'retrySec', 'expireSec', 'minimumSec'] as const) {
    const v = soa[key];
    if (!Number.isInteger(v) || v < 0 || v > uint32Max) throw configError(`soa.${key} is ${v}`, 'use a whole number from 0 to 4294967295');
  }

  const frozen = new Map<string, ZoneNode>();
  for (const [name, n] of nodes) frozen.set(name, freezeNode(name, n));
  checkCnameChains(frozen, apexLabels);
  return {
    apex,
    apexLabels,
    nodes: frozen,
    emptyNonTerminals: emptyNonTerminals(nodes.keys(), apexLabels.length),
    nameservers,
    soa: {
      mname: nameOrThrow(soa.mname, 'soa.mname').join('.'),
      rname: mailboxName(soa.rname),
      serial: soa.serial,
      refreshSec: soa.refreshSec,
      retrySec: soa.retrySec,
      expireSec: soa.expireSec,
      minimumSec: soa.minimumSec,
    },
    recordTtlSec: zoneRecordTtlSec,
  };
}

function addNameservers(opts: ZoneOptions, apexLabels: readonly string[], nodeAt: (name: string) => Building): string[] {
  if (opts.nameservers.length === 0) throw configError('no nameservers', 'list at least one nameserver with its address');
  const nameservers: string[] = [];
  for (const ns of opts.nameservers) {
    const labels = nameOrThrow(ns.name, 'nameserver');
    const name = labels.join('.');
    const family = isIP(ns.address.trim());
    if (family === 0) throw configError(`nameserver ${name} has an invalid address ${JSON.stringify(ns.address)}`, 'give an IPv4 or IPv6 address');
    if (!nameservers.includes(name)) nameservers.push(name);
    // Glue only for names inside the zone: for others we are not authoritative.
    if (!isWithin(labels, apexLabels)) continue;
    const node = nodeAt(name);
    if (node.policyHost !== undefined) throw configError(`nameserver ${name} is also a policy host`, 'give the nameservers their own names');
    node.isNameserver = true;
    const value = parseRecordValue(family === 4 ? 'A' : 'AAAA', ns.address);
    if (value.ok) put(node, family === 4 ? qtype.A : qtype.AAAA, value.value, zoneRecordTtlSec);
  }
  return nameservers;
}

const typeNumber = { A: qtype.A, AAAA: qtype.AAAA, CNAME: qtype.CNAME, TXT: qtype.TXT, MX: qtype.MX, SRV: qtype.SRV, CAA: qtype.CAA } as const;

function addRecord(rec: DnsStaticRecord, apexLabels: readonly string[], nodeAt: (name: string) => Building): void {
  const what = `record ${rec.name} ${rec.type}`;
  const name = recordOwner(rec.name, apexLabels, what);
  if (!Number.isInteger(rec.ttlSec) || rec.ttlSec < 0 || rec.ttlSec > maxTtlSec) throw configError(`${what} has TTL ${rec.ttlSec}`, `use whole seconds from 0 to ${maxTtlSec}`);
  const value = parseRecordValue(rec.type, rec.value);
  if (!value.ok) throw configError(`${what}: ${JSON.stringify(rec.value)} is not ${rec.type} data`, `write ${value.expected}`);
  const node = nodeAt(name);
  const isAddress = rec.type === 'A' || rec.type === 'AAAA';
  if (node.policyHost !== undefined && (isAddress || rec.type === 'CNAME')) throw configError(`${what}: ${name} is a service host, answered by the routing policy`, 'use a name not in service.hosts');
  if (node.isNameserver && (isAddress || rec.type === 'CNAME')) throw configError(`${what}: ${name} is a nameserver, its addresses come from the regions`, 'use a name that is not a nameserver');
  // RFC 1034 §3.6.2: an alias has no other data; the apex always has SOA and NS.
  const hasOther = node.isApex || node.policyHost !== undefined || [...node.rrsets.keys()].some((t) => t !== qtype.CNAME);
  if ((rec.type === 'CNAME' && hasOther) || (rec.type !== 'CNAME' && node.rrsets.has(qtype.CNAME))) {
    throw configError(`${what}: a CNAME cannot share its name with other data`, 'give the alias a name of its own');
  }
  if (rec.type === 'CNAME' && node.rrsets.has(qtype.CNAME) && !node.rrsets.get(qtype.CNAME)!.values.has(value.value.key)) {
    throw configError(`${what}: a name has at most one CNAME`, 'keep one CNAME per name');
  }
  put(node, typeNumber[rec.type], value.value, rec.ttlSec);
}

/** '@' is the apex; other names are relative to it unless they end with a dot. */
function recordOwner(text: string, apexLabels: readonly string[], what: string): string {
  const t = text.trim();
  if (t === '@') return apexLabels.join('.');
  const labels = nameOrThrow(t, what);
  if (!t.endsWith('.')) return [...labels, ...apexLabels].join('.');
  if (!isWithin(labels, apexLabels)) throw configError(`${what}: ${t} is outside the zone ${apexLabels.join('.')}`, 'use a name relative to the zone, or @ for the apex');
  return labels.join('.');
}

/** RFC 2181 §5.2: an RRset has one TTL; records given different ones share the lowest. */
function put(node: Building, type: number, value: RecordValue, ttlSec: number): void {
  const set = node.rrsets.get(type);
  if (set === undefined) node.rrsets.set(type, { ttlSec, values: new Map([[value.key, value]]) });
  else {
    set.ttlSec = Math.min(set.ttlSec, ttlSec);
    if (!set.values.has(value.key)) set.values.set(value.key, value);
  }
}

function freezeNode(name: string, n: Building): ZoneNode {
  const rrsets = new Map<number, RRset>();
  let cnameTarget: string | undefined;
  for (const [type, set] of n.rrsets) {
    const values = [...set.values.values()];
    const answers: Answer[] = values.map((v) => Object.freeze(v.build(name, set.ttlSec)));
    const targets = values.map((v) => v.target).filter((t): t is string => t !== null);
    rrsets.set(type, Object.freeze({ answers: Object.freeze(answers), targets: Object.freeze(targets) }));
    if (type === qtype.CNAME) cnameTarget = targets[0];
  }
  return Object.freeze({
    ...(n.policyHost !== undefined && { policyHost: n.policyHost }),
    ...(cnameTarget !== undefined && { cnameTarget }),
    rrsets,
    isApex: n.isApex,
  });
}

/** Every alias chain inside the zone ends within maxCnameChain hops: no loops at query time. */
function checkCnameChains(nodes: ReadonlyMap<string, ZoneNode>, apexLabels: readonly string[]): void {
  for (const [start, node] of nodes) {
    let target = node.cnameTarget;
    const seen = [start];
    while (target !== undefined && isWithin(target.split('.'), apexLabels)) {
      if (seen.includes(target)) throw configError(`CNAME loop: ${[...seen, target].join(' -> ')}`, 'point one of the aliases at a name that is not an alias');
      if (seen.length > maxCnameChain) throw configError(`CNAME chain from ${start} is longer than ${maxCnameChain}`, 'point aliases straight at their final name');
      seen.push(target);
      target = nodes.get(target)?.cnameTarget;
    }
  }
}

/** Ancestors of existing names, up to the apex, that hold nothing themselves (RFC 8020). */
function emptyNonTerminals(names: Iterable<string>, apexLabelCount: number): Set<string> {
  const all = new Set(names);
  const out = new Set<string>();
  for (const name of all) {
    const labels = name.split('.');
    for (let i = 1; labels.length - i > apexLabelCount; i++) {
      const parent = labels.slice(i).join('.');
      if (!all.has(parent)) out.add(parent);
    }
  }
  return out;
}
