// EDNS Client Subnet (RFC 7871): where the client is, when its resolver tells us, and the
// option we echo back so the resolver knows which clients may share our answer.

import ipaddr from 'ipaddr.js';
import type { DnsClient } from './types.js';

/** Option code 8 (dns-packet's 'CLIENT_SUBNET'). */
export const ecsOptionCode = 8;

const familyBits = { 1: 32, 2: 128 } as const;

/** The widest scope we claim: the prefixes RFC 7871 §11.1 recommends resolvers send, and
 *  about the precision of IP geolocation, so a narrower scope would only split caches. */
export const maxScopeV4 = 24;
export const maxScopeV6 = 56;

export interface ClientSubnet {
  readonly family: 1 | 2;
  readonly sourcePrefixLength: number;
  /** The address masked to the source prefix. */
  readonly address: string;
  /** The option's data as received, for the echo. */
  readonly raw: Buffer;
}

export type EcsParse = { readonly ok: true; readonly subnet: ClientSubnet } | { readonly ok: false; readonly reason: string };

/**
 * Reads the option's data: FAMILY (2 bytes), SOURCE PREFIX-LENGTH, SCOPE PREFIX-LENGTH,
 * ADDRESS. Strict where the meaning is lost (unknown family, a prefix longer than the
 * family, more address bytes than the family has: RFC 7871 §7.1.2 FORMERR), lenient
 * where it is not: bits beyond the prefix are masked, a short address is zero-padded, and
 * a non-zero scope in a query is ignored.
 */
export function parseClientSubnet(data: Buffer): EcsParse {
  if (data.length < 4) return { ok: false, reason: `ECS option of ${data.length} bytes, at least 4 needed` };
  const family = data.readUInt16BE(0);
  if (family !== 1 && family !== 2) return { ok: false, reason: `ECS family ${family} unknown` };
  const bits = familyBits[family];
  const source = data[2]!;
  if (source > bits) return { ok: false, reason: `ECS source prefix /${source} longer than the family's ${bits} bits` };
  const addressBytes = data.length - 4;
  if (addressBytes > bits / 8) return { ok: false, reason: `ECS address of ${addressBytes} bytes for a ${bits}-bit family` };
  return { ok: true, subnet: { family, sourcePrefixLength: source, address: subnetAddressText(family, data, 4, data.length, source), raw: data } };
}

/** The ECS ADDRESS field (`msg[start..end)`, at most the family's bytes) as routing wants
 *  it: zero-padded, masked to the source prefix, in text form ('81.2.69.0', '2001:db8::').
 *  IPv4 is formatted by hand (it is every benchmark query); the result is what ipaddr.js
 *  gives, which formats IPv6. */
export function subnetAddressText(family: 1 | 2, msg: Uint8Array, start: number, end: number, sourcePrefixLength: number): string {
  const byte = (i: number): number => {
    const keep = Math.max(0, Math.min(8, sourcePrefixLength - i * 8));
    return start + i < end ? msg[start + i]! & ((0xff << (8 - keep)) & 0xff) : 0;
  };
  if (family === 1) return `${byte(0)}.${byte(1)}.${byte(2)}.${byte(3)}`;
  const bytes = new Array<number>(16);
  for (let i = 0; i < 16; i++) bytes[i] = byte(i);
  return ipaddr.fromByteArray(bytes).toString();
}

/** An IPv4 address in the form the server hands the policy (canonical dotted quad: ECS
 *  and resolver addresses, see subnetAddressText() and resolverClient()) cut to
 *  `prefixLength` bits, as an unsigned 32-bit number; null for anything else (IPv6, a
 *  leading zero, junk). Lets a policy key a cache by client subnet without parsing the
 *  address through ipaddr.js per query. */
export function ipv4SubnetNumber(ip: string, prefixLength: number): number | null {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i <= ip.length; i++) {
    const c = i < ip.length ? ip.charCodeAt(i) : 46; // a final '.' closes the last octet
    if (c === 46) {
      if (digits === 0 || dots > 3) return null;
      value = value * 256 + octet;
      dots += 1;
      octet = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57 && digits < 3 && !(digits === 1 && octet === 0)) {
      octet = octet * 10 + (c - 48);
      digits += 1;
      if (octet > 255) return null;
    } else {
      return null;
    }
  }
  if (dots !== 4 || !(prefixLength >= 0 && prefixLength <= 32)) return null;
  const hostBits = 32 - Math.floor(prefixLength);
  return hostBits === 32 ? 0 : Math.floor(value / 2 ** hostBits) * 2 ** hostBits;
}

/** The resolver's address as routing wants it: IPv4-mapped IPv6 (a dual-stack socket's
 *  view of an IPv4 peer) becomes plain IPv4. */
export function resolverClient(remoteAddress: string): DnsClient {
  let ip = remoteAddress;
  try {
    ip = ipaddr.process(remoteAddress).toString();
  } catch {
    // Not an address we can parse (a socket never gives one): pass it on as it is.
  }
  return { ip, prefixLength: ip.includes(':') ? 128 : 32, source: 'resolver' };
}

/** Source prefix 0 means "do not use my subnet" (RFC 7871 §7.1.2): fall back to the resolver. */
export function clientOf(subnet: ClientSubnet | null, remoteAddress: string): DnsClient {
  if (subnet === null || subnet.sourcePrefixLength === 0) return resolverClient(remoteAddress);
  return { ip: subnet.address, prefixLength: subnet.sourcePrefixLength, source: 'ecs' };
}

/** The scope we claim for an answer the policy gave: as specific as the client told us,
 *  no more than the cap. 0 for answers that do not depend on the client at all. */
export function scopeFor(subnet: ClientSubnet, dependsOnClient: boolean): number {
  if (!dependsOnClient) return 0;
  return Math.min(subnet.sourcePrefixLength, subnet.family === 1 ? maxScopeV4 : maxScopeV6);
}

/** The echo (RFC 7871 §7.2.1): family, source prefix and address exactly as received, so
 *  the resolver's match succeeds; only the scope is ours. */
export function echoData(subnet: ClientSubnet, scopePrefixLength: number): Buffer {
  const out = Buffer.from(subnet.raw);
  out[3] = scopePrefixLength;
  return out;
}
