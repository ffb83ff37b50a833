import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/** The prefixes RFC 7871 §11.1 recommends a resolver send: /24 for IPv4, /56 for IPv6. */
export const defaultPrefixV4 = 24;
export const defaultPrefixV6 = 56;

/**
 * The client's subnet in CIDR form (`81.2.69.0/24`, `2001:db8:aa00::/56`): the key that
 * keeps a client's weighted or multivalue answer stable. Null for a malformed address.
 */
export function clientSubnet(ip: string, prefixV4 = defaultPrefixV4, prefixV6 = defaultPrefixV6): string | null {
  if (isIP(ip.trim()) === 0) return null;
  try {
    let addr = ipaddr.parse(ip.trim());
    if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) addr = (addr as ipaddr.IPv6).toIPv4Address();
    if (addr.kind() === 'ipv4') {
      return `${ipaddr.IPv4.networkAddressFromCIDR(`${addr.toString()}/${prefixV4}`).toString()}/${prefixV4}`;
    }
    return `${ipaddr.IPv6.networkAddressFromCIDR(`${addr.toString()}/${prefixV6}`).toString()}/${prefixV6}`;
  } catch {
    return null;
  }
}
