// The hot path for the common query: a service host's A or AAAA, with or without EDNS and
// ECS (fast-query.ts says which queries those are). The reply is the query's header and
// question copied, the policy's answer as pre-encoded records (answer-blocks.ts), and our
// OPT with the ECS echo: no dns-packet decode, no answer objects, no encode, and the owner
// names compressed to the question. The semantics are respond()'s, which stays the general
// path and the oracle (test/dns/fast-path.test.ts compares the two on thousands of
// queries): the same client handed to the policy, the same policy call (once), the same
// flags, TTL, ECS scope, NODATA with the SOA, the same size limits.
//
// Whenever the fast path cannot build the reply respond() would give — the policy threw
// or answered badly (SERVFAIL), the reply does not fit the client's or the amplification
// limit (respond() truncates) — it hands the query to respond() with the policy's answer
// already in hand, so the policy is still asked once per query.
//
// The rate limiter stays in front (server.ts): a slip (ctx.truncate) never comes here.

import dnsPacket from 'dns-packet';
import { assert } from '../lib/index.js';
import { AnswerBlocks } from './answer-blocks.js';
import { amplificationLimitBytes } from './amplification.js';
import { maxScopeV4, maxScopeV6, resolverClient, subnetAddressText } from './ecs.js';
import { replyLimitBytes } from './edns.js';
import { compileFastHosts, parseFastQuery, type FastHosts, type FastQuery } from './fast-query.js';
import { negativeSoa } from './lookup.js';
import { respond } from './respond.js';
import type { DnsClient, DnsFastPathStats, DnsPolicyAnswer, DnsResponse, DnsZone, RespondContext } from './types.js';
import { headerBytes, qtype } from './wire.js';

/** The OPT we send (RFC 6891 §6.1.2): root owner, TYPE 41, CLASS (our payload size,
 *  written per reply), extended rcode 0, version 0, flags 0 (no DO), RDLENGTH. */
const optFixedBytes = 11;
const ecsOptionHeaderBytes = 4;

export class FastPath {
  private readonly hosts: FastHosts;
  /** The negative SOA (RFC 2308) of a NODATA reply, as respond() encodes it. Its owner stays
   *  uncompressed: a pointer into the question would give it the question's letter case,
   *  and respond() writes the apex in lower case. */
  private readonly nodataSoa: Uint8Array;
  private readonly blocks = new AnswerBlocks();
  /** The last resolver seen and how respond() names it (resolverClient()): one resolver
   *  sends most queries, and parsing its address per query is ipaddr.js's cost. */
  private lastRemoteAddress: string | null = null;
  private lastResolver: DnsClient = { ip: '', prefixLength: 0, source: 'resolver' };
  private readonly counts: DnsFastPathStats = { replies: 0, fallbacks: 0 };

  constructor(private readonly zone: DnsZone) {
    this.hosts = compileFastHosts(zone);
    this.nodataSoa = negativeSoaRecordBytes(zone);
  }

  stats(): DnsFastPathStats {
    return { ...this.counts };
  }

  /** The reply to a common query, or null: not one (the caller answers with respond()). */
  tryRespond(query: Buffer, ctx: RespondContext): DnsResponse | null {
    assert(ctx.zone === this.zone, 'FastPath used with another zone than its own');
    if (ctx.truncate === true) return null; // a slip: respond() sends the empty TC=1 reply
    const q = parseFastQuery(query, this.hosts);
    if (q === null) return null;

    let client: DnsClient;
    try {
      client = this.clientOf(query, q, ctx.remoteAddress);
    } catch (err) {
      return withBug(respond(query, ctx), err); // the policy not asked yet: respond() asks it
    }
    // Called unbound, as lookup() calls it.
    const policy = ctx.answer;
    let answer: DnsPolicyAnswer;
    try {
      answer = policy(q.host.policyHost, q.family, client);
    } catch (err) {
      return this.fallBack(query, ctx, () => {
        throw err;
      });
    }
    let bytes: Buffer | null;
    try {
      bytes = this.assemble(query, q, answer, ctx);
    } catch (err) {
      return withBug(this.fallBack(query, ctx, () => answer), err);
    }
    if (bytes === null) return this.fallBack(query, ctx, () => answer);
    this.counts.replies += 1;
    return { kind: 'reply', bytes, rcode: 'NOERROR', truncated: false };
  }

  /** respond() with the policy's answer (or throw) replayed: one policy call per query. */
  private fallBack(query: Buffer, ctx: RespondContext, replay: () => DnsPolicyAnswer): DnsResponse {
    this.counts.fallbacks += 1;
    return respond(query, { ...ctx, answer: replay });
  }

  /** As respond() builds it (ecs.ts clientOf()): the ECS subnet, masked, unless absent or
   *  of source prefix 0; else the resolver's address. */
  private clientOf(msg: Buffer, q: FastQuery, remoteAddress: string): DnsClient {
    if (q.ecsOffset >= 0) {
      const source = msg[q.ecsOffset + 2]!;
      if (source > 0) {
        const family = msg[q.ecsOffset + 1] === 1 ? 1 : 2;
        return { ip: subnetAddressText(family, msg, q.ecsOffset + 4, q.ecsOffset + q.ecsBytes, source), prefixLength: source, source: 'ecs' };
      }
    }
    if (remoteAddress !== this.lastRemoteAddress) {
      this.lastResolver = resolverClient(remoteAddress);
      this.lastRemoteAddress = remoteAddress;
    }
    const r = this.lastResolver;
    return { ip: r.ip, prefixLength: r.prefixLength, source: r.source };
  }

  /** The reply's bytes, or null when respond() must answer: the answer is not valid (it says
   *  SERVFAIL), or the reply is over the limit (it truncates). */
  private assemble(msg: Buffer, q: FastQuery, answer: DnsPolicyAnswer, ctx: RespondContext): Buffer | null {
    const block = this.blocks.blockFor(answer, q.family);
    if (block === null) return null;
    const soa = block.count === 0 ? this.nodataSoa : null;
    const hasOpt = q.ednsUdpBytes >= 0;
    const optBytes = hasOpt ? optFixedBytes + (q.ecsOffset >= 0 ? ecsOptionHeaderBytes + q.ecsBytes : 0) : 0;
    const size = q.questionEnd + block.bytes.length + (soa === null ? 0 : soa.length) + optBytes;

    // The limits of respond()'s reply(): the transport's, the client's EDNS size capped by
    // ours (512 without EDNS), and over UDP the amplification bound.
    let limitBytes = replyLimitBytes(hasOpt ? q.ednsUdpBytes : null, ctx.transport, ctx.maxUdpPayloadBytes);
    if (ctx.transport === 'udp') limitBytes = Math.min(limitBytes, amplificationLimitBytes(msg.length, ctx.amplificationFactor ?? 0));
    if (size > limitBytes) return null;

    const out = Buffer.allocUnsafe(size);
    msg.copy(out, 0, 0, q.questionEnd); // ID, QDCOUNT 1, the question as asked
    // QR, opcode QUERY, AA, TC 0, RD as asked; RA 0, Z/AD/CD 0, rcode NOERROR (wire.ts replyFlags()).
    out[2] = 0x84 | (msg[2]! & 0x01);
    out[3] = 0;
    out[6] = block.count >> 8;
    out[7] = block.count & 0xff;
    out[8] = 0;
    out[9] = soa === null ? 0 : 1;
    out[10] = 0;
    out[11] = hasOpt ? 1 : 0;
    let w = q.questionEnd;
    out.set(block.bytes, w);
    w += block.bytes.length;
    if (soa !== null) {
      out.set(soa, w);
      w += soa.length;
    }
    if (hasOpt) {
      out[w] = 0;
      out[w + 1] = 0;
      out[w + 2] = qtype.OPT;
      out[w + 3] = ctx.maxUdpPayloadBytes >> 8;
      out[w + 4] = ctx.maxUdpPayloadBytes & 0xff;
      out[w + 5] = 0;
      out[w + 6] = 0;
      out[w + 7] = 0;
      out[w + 8] = 0;
      const rdataBytes = optBytes - optFixedBytes;
      out[w + 9] = rdataBytes >> 8;
      out[w + 10] = rdataBytes & 0xff;
      w += optFixedBytes;
      if (q.ecsOffset >= 0) {
        // The echo (RFC 7871 §7.2.1): the option as received, but for our scope, which is
        // scopeFor(subnet, true): a policy answer depends on the client.
        msg.copy(out, w, q.ecsOffset - ecsOptionHeaderBytes, q.ecsOffset + q.ecsBytes);
        const source = msg[q.ecsOffset + 2]!;
        out[w + ecsOptionHeaderBytes + 3] = Math.min(source, msg[q.ecsOffset + 1] === 1 ? maxScopeV4 : maxScopeV6);
        w += ecsOptionHeaderBytes + q.ecsBytes;
      }
    }
    assert(w === size, `fast reply of ${w} bytes, ${size} planned`);
    return out;
  }
}

/** A bug of ours in the fast path: respond() has answered, and the operator hears of it. */
function withBug(r: DnsResponse, err: unknown): DnsResponse {
  if (r.kind !== 'reply' || r.error !== undefined) return r;
  return { ...r, error: new Error(`dns: fast path failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err }) };
}

/** What the server answers to one message (after the rate limiter, which may have set
 *  ctx.truncate): the fast path for the common query, respond() for everything else. */
export function serveQuery(query: Buffer, ctx: RespondContext, fast: FastPath): DnsResponse {
  return fast.tryRespond(query, ctx) ?? respond(query, ctx);
}

/** The zone's negative SOA record, encoded by dns-packet as respond() has it encoded. */
function negativeSoaRecordBytes(zone: DnsZone): Uint8Array {
  const packet = dnsPacket.encode({ type: 'response', id: 0, flags: 0, authorities: [negativeSoa(zone)] });
  return new Uint8Array(packet.subarray(headerBytes));
}
