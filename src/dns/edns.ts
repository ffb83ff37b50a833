// EDNS(0) (RFC 6891): the OPT pseudo-record a query may carry, what it lets us send back,
// and the OPT we put in the reply.

import type { Answer, OptAnswer, PacketOpt } from 'dns-packet';
import { ecsOptionCode, parseClientSubnet, type ClientSubnet } from './ecs.js';

/** Without EDNS a UDP reply must fit the 512 bytes of RFC 1035 §4.2.1. */
export const classicUdpBytes = 512;
/** Over TCP the 2-byte length prefix is the bound (RFC 1035 §4.2.2). */
export const maxTcpMessageBytes = 65_535;
/** DNS Flag Day 2020: a size that avoids IP fragmentation on nearly every path. */
export const defaultMaxUdpPayloadBytes = 1232;

export interface EdnsQuery {
  readonly version: number;
  /** The requestor's UDP payload size, as sent. */
  readonly udpPayloadSize: number;
  /** Null when absent; only read for version 0 (a BADVERS reply looks at nothing else). */
  readonly subnet: ClientSubnet | null;
}

export type EdnsParse =
  | { readonly kind: 'none' }
  | { readonly kind: 'ok'; readonly edns: EdnsQuery }
  | { readonly kind: 'badvers'; readonly edns: EdnsQuery }
  | { readonly kind: 'formerr'; readonly reason: string; readonly hadOpt: boolean };

export function parseEdns(additionals: readonly Answer[]): EdnsParse {
  const opts = additionals.filter((a): a is OptAnswer => a.type === 'OPT');
  if (opts.length === 0) return { kind: 'none' };
  if (opts.length > 1) return { kind: 'formerr', reason: 'more than one OPT record (RFC 6891 §6.1.1)', hadOpt: true };
  const opt = opts[0]!;
  if (opt.name !== '.') return { kind: 'formerr', reason: `OPT owner ${JSON.stringify(opt.name)} is not the root`, hadOpt: true };
  const base = { version: opt.ednsVersion, udpPayloadSize: opt.udpPayloadSize };
  if (opt.ednsVersion > 0) return { kind: 'badvers', edns: { ...base, subnet: null } };

  const ecs = (opt.options ?? []).filter((o) => o.code === ecsOptionCode);
  if (ecs.length > 1) return { kind: 'formerr', reason: 'more than one ECS option (RFC 7871 §7.1.2)', hadOpt: true };
  let subnet: ClientSubnet | null = null;
  if (ecs.length === 1) {
    const parsed = parseClientSubnet(ecs[0]!.data ?? Buffer.alloc(0));
    if (!parsed.ok) return { kind: 'formerr', reason: parsed.reason, hadOpt: true };
    subnet = parsed.subnet;
  }
  return { kind: 'ok', edns: { ...base, subnet } };
}

/** The largest reply we may send: 512 without EDNS; with it, the requestor's size (below
 *  512 counts as 512, RFC 6891 §6.2.5) capped by what we advertise; TCP: the framing's limit. */
export function replyLimitBytes(requestorUdpBytes: number | null, transport: 'udp' | 'tcp', maxUdpPayloadBytes: number): number {
  if (transport === 'tcp') return maxTcpMessageBytes;
  if (requestorUdpBytes === null) return classicUdpBytes;
  return Math.min(Math.max(requestorUdpBytes, classicUdpBytes), maxUdpPayloadBytes);
}

/** Our OPT: version 0, our payload size, DO clear (we do not sign), the upper bits of an
 *  extended rcode, and the ECS echo when there is one. */
export function replyOpt(maxUdpPayloadBytes: number, rcode: number, ecsEcho: Buffer | null): OptAnswer {
  const options: PacketOpt[] = ecsEcho === null ? [] : [{ code: ecsOptionCode, ip: undefined, data: ecsEcho }];
  return { type: 'OPT', name: '.', udpPayloadSize: maxUdpPayloadBytes, extendedRcode: rcode >> 4, ednsVersion: 0, flags: 0, flag_do: false, options };
}
