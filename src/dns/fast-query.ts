// The common query, read by hand: a standard query (QR 0, opcode QUERY) with one question,
// A or AAAA, class IN, for a service host of the zone, no answer or authority records, and
// at most one additional record: an OPT of EDNS version 0 carrying nothing or one EDNS
// Client Subnet option. Everything else is null, and the server answers it with respond(),
// which stays the general path (and the oracle the fast path is tested against).
//
// The name is compared byte by byte with the hosts' wire names, ASCII case folded (RFC
// 4343): no string is built from the packet. Each check is as strict as respond()'s for the
// same bytes, or stricter; where respond() would answer FORMERR or BADVERS the parse says
// null and respond() does.

import type { DnsZone } from './types.js';
import { headerBytes, qtype } from './wire.js';

/** A service host as the fast path matches it. */
export interface FastHost {
  /** The host as listed in `hosts`, lower-cased ('www'; '@' for the apex): the policy's name. */
  readonly policyHost: string;
  /** The owner name in wire form, lower-cased, ending with the root label. */
  readonly wire: Uint8Array;
}

/** The zone's service hosts by the length of their wire name (at most 255 bytes). */
export interface FastHosts {
  readonly byWireBytes: readonly (readonly FastHost[] | undefined)[];
}

/** What the parse found: the reply copies the header and question, and echoes the ECS. */
export interface FastQuery {
  readonly host: FastHost;
  readonly family: 4 | 6;
  /** Header plus question: where the question ends. */
  readonly questionEnd: number;
  /** The requestor's EDNS UDP payload size; -1 without an OPT. */
  readonly ednsUdpBytes: number;
  /** Offset of the ECS option's data (FAMILY onwards) in the message; -1 without one. */
  readonly ecsOffset: number;
  /** Length of that data: 4 bytes of FAMILY and prefixes, then the ADDRESS. */
  readonly ecsBytes: number;
}

const maxNameBytes = 255;
const maxLabelBytes = 63;
const optRecordFixedBytes = 11; // root owner (1), TYPE, CLASS, TTL, RDLENGTH
const ecsCode = 8;

export function compileFastHosts(zone: DnsZone): FastHosts {
  const byWireBytes: FastHost[][] = [];
  for (const [name, node] of zone.nodes) {
    if (node.policyHost === undefined) continue;
    const labels = name.split('.');
    const bytes: number[] = [];
    for (const label of labels) {
      bytes.push(label.length);
      for (let c = 0; c < label.length; c++) bytes.push(label.charCodeAt(c));
    }
    bytes.push(0);
    // Zone names are checked host names (names.ts): ASCII lower case, labels of 1-63 bytes.
    if (bytes.length > maxNameBytes || bytes.some((b) => b > 0x7f || (b >= 0x41 && b <= 0x5a))) throw new Error(`service host ${name} is not a lower-case host name`);
    (byWireBytes[bytes.length] ??= []).push({ policyHost: node.policyHost, wire: Uint8Array.from(bytes) });
  }
  return { byWireBytes };
}

/** The common query's parts, or null: not the common query (respond() answers it). */
export function parseFastQuery(msg: Uint8Array, hosts: FastHosts): FastQuery | null {
  const n = msg.length;
  if (n < headerBytes + 5) return null;
  // QR 0 and opcode QUERY (0): the top five bits. AA, TC, RD, Z, AD, CD and the rcode of a
  // query mean nothing to respond() but RD, which the reply copies.
  if ((msg[2]! & 0xf8) !== 0) return null;
  // QDCOUNT 1, ANCOUNT 0, NSCOUNT 0, ARCOUNT 0 or 1.
  if (msg[4] !== 0 || msg[5] !== 1 || msg[6] !== 0 || msg[7] !== 0 || msg[8] !== 0 || msg[9] !== 0 || msg[10] !== 0 || msg[11]! > 1) return null;

  // QNAME: plain labels (no compression pointer: nothing precedes it to point at) to the root.
  let off = headerBytes;
  for (;;) {
    if (off >= n) return null;
    const len = msg[off]!;
    if (len === 0) break;
    if (len > maxLabelBytes) return null;
    off += 1 + len;
    if (off - headerBytes >= maxNameBytes) return null;
  }
  off += 1;
  const host = matchHost(msg, off - headerBytes, hosts);
  if (host === null) return null;

  // QTYPE A or AAAA, QCLASS IN.
  if (off + 4 > n || msg[off] !== 0 || msg[off + 2] !== 0 || msg[off + 3] !== 1) return null;
  const type = msg[off + 1];
  if (type !== qtype.A && type !== qtype.AAAA) return null;
  const family = type === qtype.A ? 4 : 6;
  const questionEnd = off + 4;

  if (msg[11] === 0) return questionEnd === n ? { host, family, questionEnd, ednsUdpBytes: -1, ecsOffset: -1, ecsBytes: 0 } : null;

  // The OPT (RFC 6891 §6.1.2): root owner, TYPE 41, CLASS = UDP payload size, TTL = extended
  // rcode, VERSION, flags (DO and the rest are ignored, as respond() ignores them).
  const o = questionEnd;
  if (o + optRecordFixedBytes > n || msg[o] !== 0 || msg[o + 1] !== 0 || msg[o + 2] !== qtype.OPT) return null;
  if (msg[o + 6] !== 0) return null; // version above 0: BADVERS, respond()'s
  const ednsUdpBytes = (msg[o + 3]! << 8) | msg[o + 4]!;
  const end = o + optRecordFixedBytes + ((msg[o + 9]! << 8) | msg[o + 10]!);
  if (end !== n) return null; // RDATA cut short, or bytes after the message

  let ecsOffset = -1;
  let ecsBytes = 0;
  for (let p = o + optRecordFixedBytes; p < end; ) {
    if (p + 4 > end) return null;
    const code = (msg[p]! << 8) | msg[p + 1]!;
    const len = (msg[p + 2]! << 8) | msg[p + 3]!;
    p += 4;
    if (p + len > end) return null;
    // Only ECS, and once (a second one is FORMERR, RFC 7871 §7.1.2). Other options (cookies,
    // padding) would be ignored by respond() too, but are left to it: not understood here.
    if (code !== ecsCode || ecsOffset !== -1) return null;
    if (!ecsWellFormed(msg, p, len)) return null;
    ecsOffset = p;
    ecsBytes = len;
    p += len;
  }
  return { host, family, questionEnd, ednsUdpBytes, ecsOffset, ecsBytes };
}

/** The host whose wire name the question's `nameBytes` bytes are, ASCII case folded. A
 *  match of every byte is a match of the label structure too: length bytes (at most 63)
 *  are never folded, and the hosts' names hold only lower-case letters, digits, '-', '_'. */
function matchHost(msg: Uint8Array, nameBytes: number, hosts: FastHosts): FastHost | null {
  const candidates = hosts.byWireBytes[nameBytes];
  if (candidates === undefined) return null;
  for (const host of candidates) {
    const wire = host.wire;
    let i = 0;
    for (; i < nameBytes; i++) {
      const b = msg[headerBytes + i]!;
      if ((b >= 0x41 && b <= 0x5a ? b | 0x20 : b) !== wire[i]) break;
    }
    if (i === nameBytes) return host;
  }
  return null;
}

/** As strict as parseClientSubnet() (ecs.ts): FAMILY 1 or 2, a source prefix within the
 *  family, no more address bytes than the family has. Lenient where it is: a short
 *  address, bits beyond the prefix, a non-zero scope in the query. */
function ecsWellFormed(msg: Uint8Array, at: number, len: number): boolean {
  if (len < 4 || msg[at] !== 0) return false;
  const family = msg[at + 1];
  if (family !== 1 && family !== 2) return false;
  const bits = family === 1 ? 32 : 128;
  return msg[at + 2]! <= bits && len - 4 <= bits / 8;
}
