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
  const addressBytes = data.subarray(4);
  if (addressBytes.length > bits / 8) return { ok: false, reason: `ECS address of ${addressBytes.length} bytes for a ${bits}-bit family` };
  const bytes = new Array<number>(bits / 8).fill(0);
  for (let i = 0; i < addressBytes.length; i++) bytes[i] = addressBytes[i]!;
  maskInPlace(bytes, source);
  return { ok: true, subnet: { family, sourcePrefixLength: source, address: ipaddr.fromByteArray(bytes).toString(), raw: data } };
}

function maskInPlace(bytes: number[], prefixLength: number): void {
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, prefixLength - i * 8));
    bytes[i] = bytes[i]! & ((0xff << (8 - keep)) & 0xff);
  }
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
