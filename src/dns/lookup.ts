// The zone's answer to one question (RFC 1034 §4.3.2, without wildcards or delegations):
// REFUSED outside the zone, the apex's SOA and NS, the nameservers' addresses, the policy's
// A/AAAA for service hosts, NODATA or NXDOMAIN with the SOA for the rest, and a minimal
// answer for ANY (RFC 8482). Calls the policy and nothing else: no I/O, no clock.

import { isIP } from 'node:net';
import type { Answer, SoaAnswer } from 'dns-packet';
import { foldCase, isWithin } from './names.js';
import type { DnsClient, DnsPolicyAnswer, DnsServerOptions, DnsZone, ZoneNode } from './types.js';
import { qclass, qtype, type Question } from './wire.js';

export interface Lookup {
  readonly rcode: 'NOERROR' | 'NXDOMAIN' | 'REFUSED' | 'SERVFAIL';
  /** Authoritative: set for every answer from our zone's data, positive or negative. */
  readonly aa: boolean;
  readonly answers: Answer[];
  readonly authorities: Answer[];
  /** Optional data (glue): dropped first when the reply does not fit, without TC. */
  readonly additionals: Answer[];
  /** True when the policy was asked: the answer may differ by client (sets the ECS scope). */
  readonly dependsOnClient: boolean;
  readonly error?: Error;
}

/** RFC 8482 §4.2: one synthesized HINFO instead of every RRset at the name. */
const rfc8482Hinfo = { cpu: 'RFC8482', os: '' };
/** A TTL is a signed 32-bit number in practice (RFC 2181 §8). */
const maxTtlSec = 0x7fff_ffff;

function result(rcode: Lookup['rcode'], aa: boolean, parts: Partial<Pick<Lookup, 'answers' | 'authorities' | 'additionals' | 'dependsOnClient' | 'error'>> = {}): Lookup {
  return { rcode, aa, answers: [], authorities: [], additionals: [], dependsOnClient: false, ...parts };
}

export function lookup(zone: DnsZone, question: Question, client: DnsClient, policy: DnsServerOptions['answer']): Lookup {
  if (question.class !== qclass.IN && question.class !== qclass.ANY) return result('REFUSED', false);
  const labels = question.labels.map(foldCase);
  if (!isWithin(labels, zone.apexLabels)) return result('REFUSED', false);
  if (question.type === qtype.AXFR || question.type === qtype.IXFR) return result('REFUSED', false); // no zone transfers

  // A label holding a dot cannot be one of our names, though its text form might look like one.
  const key = labels.some((l) => l.includes('.')) ? null : labels.join('.');
  const node = key === null ? undefined : zone.nodes.get(key);
  if (node === undefined) {
    const exists = key !== null && zone.emptyNonTerminals.has(key);
    return result(exists ? 'NOERROR' : 'NXDOMAIN', true, { authorities: [negativeSoa(zone)] });
  }

  const owner = question.labels.join('.'); // as asked: every label of an existing name is a plain host label
  switch (question.type) {
    case qtype.SOA:
      return node.isApex ? result('NOERROR', true, { answers: [soaRecord(zone, owner, zone.recordTtlSec)] }) : noData(zone);
    case qtype.NS:
      return node.isApex ? nsAnswer(zone, owner) : noData(zone);
    case qtype.A:
      return addressAnswer(zone, node, owner, 4, client, policy);
    case qtype.AAAA:
      return addressAnswer(zone, node, owner, 6, client, policy);
    case qtype.ANY:
      return result('NOERROR', true, { answers: [{ type: 'HINFO', name: owner, ttl: zone.recordTtlSec, class: 'IN', data: rfc8482Hinfo }] });
    default:
      return noData(zone);
  }
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
function negativeSoa(zone: DnsZone): SoaAnswer {
  return soaRecord(zone, zone.apex, Math.min(zone.recordTtlSec, zone.soa.minimumSec));
}

function nsAnswer(zone: DnsZone, owner: string): Lookup {
  const answers: Answer[] = zone.nameservers.map((ns) => ({ type: 'NS', name: owner, ttl: zone.recordTtlSec, class: 'IN', data: ns }));
  const additionals: Answer[] = [];
  for (const ns of zone.nameservers) {
    const glue = zone.nodes.get(ns);
    if (glue === undefined) continue; // outside the zone: not ours to vouch for
    for (const a of glue.v4) additionals.push({ type: 'A', name: ns, ttl: zone.recordTtlSec, class: 'IN', data: a });
    for (const a of glue.v6) additionals.push({ type: 'AAAA', name: ns, ttl: zone.recordTtlSec, class: 'IN', data: a });
  }
  return result('NOERROR', true, { answers, additionals });
}

function addressAnswer(zone: DnsZone, node: ZoneNode, owner: string, family: 4 | 6, client: DnsClient, policy: DnsServerOptions['answer']): Lookup {
  const type = family === 4 ? 'A' : 'AAAA';
  if (node.policyHost === undefined) {
    const fixed = family === 4 ? node.v4 : node.v6;
    if (fixed.length === 0) return noData(zone);
    return result('NOERROR', true, { answers: fixed.map((a) => ({ type, name: owner, ttl: zone.recordTtlSec, class: 'IN', data: a })) });
  }

  let policyAnswer: DnsPolicyAnswer;
  try {
    policyAnswer = policy(node.policyHost, family, client);
  } catch (err) {
    return result('SERVFAIL', false, { dependsOnClient: true, error: wrap(err, `policy threw for ${node.policyHost}/${type}`) });
  }
  const problem = invalidPolicyAnswer(policyAnswer, family);
  if (problem !== null) return result('SERVFAIL', false, { dependsOnClient: true, error: new Error(`policy answered badly for ${node.policyHost}/${type}: ${problem}`) });

  const addresses = [...new Set(policyAnswer.addresses.map((a) => a.trim()))]; // an RRset has no duplicates (RFC 2181 §5)
  if (addresses.length === 0) return noData(zone, { dependsOnClient: true });
  const answers: Answer[] = addresses.map((a) => ({ type, name: owner, ttl: policyAnswer.ttlSec, class: 'IN', data: a }));
  return result('NOERROR', true, { answers, dependsOnClient: true });
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
