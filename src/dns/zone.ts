// compileZone(): the server options checked once and turned into maps, so a query is a
// couple of lookups and a bad config fails at construction with a reason, not at the
// first query in production.

import { isIP } from 'node:net';
import { MeridianError } from '../lib/index.js';
import { isWithin, parseName } from './names.js';
import type { DnsServerOptions, DnsZone, ZoneNode } from './types.js';

/** TTL of the zone's own records (SOA, NS, glue, the RFC 8482 HINFO): they change only
 *  with the config, so an hour, the common default for infrastructure records. */
export const zoneRecordTtlSec = 3600;

const uint32Max = 0xffff_ffff;

type ZoneOptions = Pick<DnsServerOptions, 'zone' | 'hosts' | 'nameservers' | 'soa'>;

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
  const nodes = new Map<string, { policyHost?: string; v4: string[]; v6: string[]; isApex: boolean }>();
  const nodeAt = (name: string) => {
    let node = nodes.get(name);
    if (node === undefined) {
      node = { v4: [], v6: [], isApex: name === apex };
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
    const list = family === 4 ? node.v4 : node.v6;
    if (!list.includes(ns.address.trim())) list.push(ns.address.trim());
  }

  const soa = opts.soa;
  for (const key of ['serial', 'refreshSec', 'retrySec', 'expireSec', 'minimumSec'] as const) {
    const v = soa[key];
    if (!Number.isInteger(v) || v < 0 || v > uint32Max) throw configError(`soa.${key} is ${v}`, 'use a whole number from 0 to 4294967295');
  }

  // Ancestors of existing names, up to the apex, that hold nothing themselves.
  const emptyNonTerminals = new Set<string>();
  for (const name of nodes.keys()) {
    const labels = name.split('.');
    for (let i = 1; labels.length - i > apexLabels.length; i++) {
      const parent = labels.slice(i).join('.');
      if (!nodes.has(parent)) emptyNonTerminals.add(parent);
    }
  }

  const frozen = new Map<string, ZoneNode>();
  for (const [name, n] of nodes) frozen.set(name, Object.freeze({ ...n, v4: Object.freeze([...n.v4]), v6: Object.freeze([...n.v6]) }));
  return {
    apex,
    apexLabels,
    nodes: frozen,
    emptyNonTerminals,
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
