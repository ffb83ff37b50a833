// The zone's answer to one question (RFC 1034 §4.3.2, without wildcards or delegations):
// REFUSED outside the zone, the apex's SOA and NS, the policy's A/AAAA for service hosts,
// static records (aliases followed inside the zone), NODATA or NXDOMAIN with the SOA for
// the rest, and a minimal answer for ANY (RFC 8482). Calls the policy and nothing else:
// no I/O, no clock.

import { isIP } from 'node:net';
import type { Answer, SoaAnswer } from 'dns-packet';
import { assert } from '../lib/index.js';
import { foldCase, isWithin } from './names.js';
import type { DnsClient, DnsPolicyAnswer, DnsServerOptions, DnsZone, RRset, ZoneNode } from './types.js';
import { qclass, qtype, type Question } from './wire.js';
import { maxCnameChain } from './zone.js';

export interface Lookup {
  readonly rcode: 'NOERROR' | 'NXDOMAIN' | 'REFUSED' | 'SERVFAIL';
  /** Authoritative: set for every answer from our zone's data, positive or negative. */
  readonly aa: boolean;
  readonly answers: Answer[];
  readonly authorities: Answer[];
  /** Optional data (glue, MX/SRV targets' addresses): dropped first when the reply does
   *  not fit, without TC. */
  readonly additionals: Answer[];
  /** True when the policy was asked: the answer may differ by client (sets the ECS scope). */
  readonly dependsOnClient: boolean;
  readonly error?: Error;
}

type Policy = DnsServerOptions['answer'];

/** RFC 8482 §4.2: one synthesized HINFO instead of every RRset at the name. */
const rfc8482Hinfo = { cpu: 'RFC8482', os: '' };
/** A TTL is a signed 32-bit number in practice (RFC 2181 §8). */
const maxTtlSec = 0x7fff_ffff;

function result(rcode: Lookup['rcode'], aa: boolean, parts: Partial<Pick<Lookup, 'answers' | 'authorities' | 'additionals' | 'dependsOnClient' | 'error'>> = {}): Lookup {
  return { rcode, aa, answers: [], authorities: [], additionals: [], dependsOnClient: false, ...parts };
}

export function lookup(zone: DnsZone, question: Question, client: DnsClient, policy: Policy): Lookup {
  if (question.class !== qclass.IN && question.class !== qclass.ANY) return result('REFUSED', false);
  const labels = question.labels.map(foldCase);
  if (!isWithin(labels, zone.apexLabels)) return result('REFUSED', false);
  if (question.type === qtype.AXFR || question.type === qtype.IXFR) return result('REFUSED', false); // no zone transfers

  // A label holding a dot cannot be one of our names, though its text form might look like one.
  const key = labels.some((l) => l.includes('.')) ? null : labels.join('.');
  const node = key === null ? undefined : zone.nodes.get(key);
  if (node === undefined) return missing(zone, key !== null && zone.emptyNonTerminals.has(key), []);
  // As asked: every label of an existing name is a plain host label.
  return follow(zone, node, question.labels.join('.'), question.type, client, policy);
}

/** NODATA at an empty non-terminal (RFC 8020), NXDOMAIN elsewhere; the SOA either way. */
function missing(zone: DnsZone, exists: boolean, answers: Answer[]): Lookup {
  return result(exists ? 'NOERROR' : 'NXDOMAIN', true, { answers, authorities: [negativeSoa(zone)] });
}

/**
 * RFC 1034 §4.3.2 step 3a: at an alias, any type but CNAME (and ANY) is answered with the
 * CNAME, and the lookup goes on at its target while that is in the zone; the rcode is the
 * last name's (RFC 6604). Outside the zone the resolver follows it itself.
 */
function follow(zone: DnsZone, start: ZoneNode, startOwner: string, type: number, client: DnsClient, policy: Policy): Lookup {
  const chain: Answer[] = [];
  let node = start;
  let owner = startOwner;
  for (let hops = 0; ; hops++) {
    const target = node.cnameTarget;
    const cname = node.rrsets.get(qtype.CNAME);
    if (target === undefined || cname === undefined || type === qtype.CNAME || type === qtype.ANY) {
      const found = answerAt(zone, node, owner, type, client, policy);
      return chain.length === 0 || found.rcode === 'SERVFAIL' ? found : { ...found, answers: [...chain, ...found.answers] };
    }
    assert(hops < maxCnameChain, `CNAME chain from ${startOwner} longer than compileZone allows`);
    chain.push(...owned(cname, owner));
    if (!isWithin(target.split('.'), zone.apexLabels)) return result('NOERROR', true, { answers: chain });
    const next = zone.nodes.get(target);
    if (next === undefined) return missing(zone, zone.emptyNonTerminals.has(target), chain);
    node = next;
    owner = target;
  }
}

function answerAt(zone: DnsZone, node: ZoneNode, owner: string, type: number, client: DnsClient, policy: Policy): Lookup {
  switch (type) {
    case qtype.SOA:
      return node.isApex ? result('NOERROR', true, { answers: [soaRecord(zone, owner, zone.recordTtlSec)] }) : noData(zone);
    case qtype.NS:
      return node.isApex ? nsAnswer(zone, owner) : noData(zone);
    case qtype.A:
    case qtype.AAAA:
      if (node.policyHost !== undefined) return policyAnswer(zone, node.policyHost, owner, type === qtype.A ? 4 : 6, client, policy);
      return rrsetAnswer(zone, node, owner, type);
    case qtype.ANY: {
      // At an alias the CNAME is the one RRset there; elsewhere the synthesized HINFO.
      const cname = node.rrsets.get(qtype.CNAME);
      if (cname !== undefined) return result('NOERROR', true, { answers: owned(cname, owner) });
      return result('NOERROR', true, { answers: [{ type: 'HINFO', name: owner, ttl: zone.recordTtlSec, class: 'IN', data: rfc8482Hinfo }] });
    }
    default:
      return rrsetAnswer(zone, node, owner, type);
  }
}

function rrsetAnswer(zone: DnsZone, node: ZoneNode, owner: string, type: number): Lookup {
  const set = node.rrsets.get(type);
  if (set === undefined) return noData(zone);
  const additionals = type === qtype.MX || type === qtype.SRV ? addressesOf(zone, set.targets) : [];
  return result('NOERROR', true, { answers: owned(set, owner), additionals });
}

/** The records with the owner the resolver asked for (its case: RFC 4343 §4.1). */
function owned(set: RRset, owner: string): Answer[] {
  return set.answers.map((a) => ({ ...a, name: owner }));
}

/**
 * Additional-section addresses for names our answer points at (NS, MX, SRV targets),
 * when they are in the zone and have fixed addresses. A service host's addresses are left
 * out: they depend on the client, and adding them would narrow the ECS scope of the whole
 * reply; the resolver asks for them itself.
 */
function addressesOf(zone: DnsZone, names: readonly string[]): Answer[] {
  const out: Answer[] = [];
  for (const name of new Set(names)) {
    const node = zone.nodes.get(name);
    if (node === undefined || node.policyHost !== undefined) continue;
    for (const type of [qtype.A, qtype.AAAA]) {
      const set = node.rrsets.get(type);
      if (set !== undefined) out.push(...set.answers);
    }
  }
  return out;
}

function noData(zone: DnsZone, parts: Partial<Pick<Lookup, 'dependsOnClient'>> = {}): Lookup {
  return result('NOERROR', true, { authorities: [negativeSoa(zone)], ...parts });
}

function soaRecord(zone: DnsZone, owner: string, ttlSec: number): SoaAnswer {
  const s = zone.soa;
  return {
    type: 'SOA',
    name: owner,
    ttl: ttlSec,
    class: 'IN',
    data: { mname: s.mname, rname: s.rname, serial: s.serial, refresh: s.refreshSec, retry: s.retrySec, expire: s.expireSec, minimum: s.minimumSec },
  };
}

/** RFC 2308 §3: a negative answer is cached for min(SOA TTL, SOA MINIMUM). */
export function negativeSoa(zone: DnsZone): SoaAnswer {
  return soaRecord(zone, zone.apex, Math.min(zone.recordTtlSec, zone.soa.minimumSec));
}

function nsAnswer(zone: DnsZone, owner: string): Lookup {
  const answers: Answer[] = zone.nameservers.map((ns) => ({ type: 'NS', name: owner, ttl: zone.recordTtlSec, class: 'IN', data: ns }));
  return result('NOERROR', true, { answers, additionals: addressesOf(zone, zone.nameservers) });
}

function policyAnswer(zone: DnsZone, host: string, owner: string, family: 4 | 6, client: DnsClient, policy: Policy): Lookup {
  const type = family === 4 ? 'A' : 'AAAA';
  let answer: DnsPolicyAnswer;
  try {
    answer = policy(host, family, client);
  } catch (err) {
    return result('SERVFAIL', false, { dependsOnClient: true, error: wrap(err, `policy threw for ${host}/${type}`) });
  }
  const checked = checkPolicyAnswer(answer, family);
  if (!checked.ok) return result('SERVFAIL', false, { dependsOnClient: true, error: new Error(`policy answered badly for ${host}/${type}: ${checked.problem}`) });

  if (checked.addresses.length === 0) return noData(zone, { dependsOnClient: true });
  const answers: Answer[] = checked.addresses.map((a) => ({ type, name: owner, ttl: checked.ttlSec, class: 'IN', data: a }));
  return result('NOERROR', true, { answers, dependsOnClient: true });
}

export type CheckedPolicyAnswer = { readonly ok: true; readonly addresses: string[]; readonly ttlSec: number } | { readonly ok: false; readonly problem: string };

/** The policy's answer as it goes on the wire: checked (SERVFAIL if it is not an answer for
 *  this family), each address trimmed, duplicates dropped in order (an RRset has none, RFC
 *  2181 §5). respond() and the fast path both go through here. */
export function checkPolicyAnswer(answer: unknown, family: 4 | 6): CheckedPolicyAnswer {
  const problem = invalidPolicyAnswer(answer, family);
  if (problem !== null) return { ok: false, problem };
  const a = answer as DnsPolicyAnswer;
  return { ok: true, addresses: [...new Set(a.addresses.map((x) => x.trim()))], ttlSec: a.ttlSec };
}

/** The policy is outside our control: check its answer before putting it on the wire. */
function invalidPolicyAnswer(a: unknown, family: 4 | 6): string | null {
  if (typeof a !== 'object' || a === null) return 'not an object';
  const { addresses, ttlSec } = a as Partial<DnsPolicyAnswer>;
  if (!Array.isArray(addresses)) return 'addresses is not an array';
  if (typeof ttlSec !== 'number' || !Number.isInteger(ttlSec) || ttlSec < 0 || ttlSec > maxTtlSec) return `ttlSec ${String(ttlSec)} is not a whole number from 0 to ${maxTtlSec}`;
  for (const addr of addresses) {
    if (typeof addr !== 'string' || isIP(addr.trim()) !== family) return `${JSON.stringify(addr)} is not an IPv${family} address`;
  }
  return null;
}

function wrap(err: unknown, context: string): Error {
  const e = new Error(`${context}: ${err instanceof Error ? err.message : String(err)}`);
  if (err instanceof Error) e.cause = err;
  return e;
}
