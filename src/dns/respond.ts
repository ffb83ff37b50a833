// respond(): one query's bytes in, the reply's bytes out (or silence). The whole DNS
// behaviour lives here and in what it calls, with no sockets and no clock, so the UDP and
// TCP shells stay thin, and the rate limiter (rrl.ts, in the shell because it keeps
// state) and the fuzzer plug in around one function that tests can call directly.
//
// Order of checks: header readable, a query (not a response), opcode QUERY, one question,
// the message decodes, EDNS well formed and version 0, then the zone. Each failure maps to
// the rcode the RFCs give it; nothing thrown inside escapes.

import dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, OptAnswer } from 'dns-packet';
import { assert, unreachable } from '../lib/index.js';
import { clientOf, echoData, scopeFor } from './ecs.js';
import { amplificationLimitBytes } from './amplification.js';
import { parseEdns, replyLimitBytes, replyOpt } from './edns.js';
import { lookup } from './lookup.js';
import type { DnsRcodeName, DnsResponse, RespondContext } from './types.js';
import { countsFit, flagQr, headerOnlyReply, opcodeQuery, rcodeNumber, readHeader, readQuestion, replyFlags, spliceQuestion, type Header, type Question } from './wire.js';

export function respond(query: Buffer, ctx: RespondContext): DnsResponse {
  const header = readHeader(query);
  if (header === null) return { kind: 'drop', reason: 'shorter than a DNS header' };
  // Answering a response (even with FORMERR) lets two servers bounce packets at each other
  // forever, and turns us into a reflector for spoofed ones: drop, as BIND, NSD and Knot do.
  if ((header.flags & flagQr) !== 0) return { kind: 'drop', reason: 'a response, not a query' };
  try {
    return answerQuery(query, header, ctx);
  } catch (err) {
    // A bug of ours (or of a library) caught at the boundary: the resolver hears SERVFAIL
    // and retries elsewhere, the operator hears the error, the node keeps serving.
    const error = new Error(`dns: failed to answer a query: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    return { kind: 'reply', bytes: headerOnlyReply(header, rcodeNumber.SERVFAIL, ctx.truncate === true), rcode: 'SERVFAIL', truncated: ctx.truncate === true, error };
  }
}

/** What every reply to one query needs to know about it. */
interface Asked {
  readonly ctx: RespondContext;
  readonly header: Header;
  readonly queryBytes: number;
}

function answerQuery(query: Buffer, header: Header, ctx: RespondContext): DnsResponse {
  const q: Asked = { ctx, header, queryBytes: query.length };
  let packet: DecodedPacket | null = null;
  try {
    if (countsFit(query)) packet = dnsPacket.decode(query);
  } catch {
    // Left null: answered below with FORMERR (or NOTIMP) from the header alone.
  }
  const edns = packet === null ? null : parseEdns(packet.additionals ?? []);
  // RFC 6891 §7: a query with an OPT gets an OPT back, whatever the rcode.
  const optFor = (rcode: number, ecsEcho: Buffer | null = null): OptAnswer | null =>
    edns === null || edns.kind === 'none' ? null : replyOpt(ctx.maxUdpPayloadBytes, rcode, ecsEcho);

  if (header.opcode !== opcodeQuery) return reply(q, null, 'NOTIMP', { opt: optFor(0) });
  if (header.qdcount !== 1 || packet === null || edns === null) return reply(q, null, 'FORMERR', { opt: optFor(0) });
  const question = readQuestion(query);
  if (question === null) return reply(q, null, 'FORMERR', { opt: optFor(0) });

  switch (edns.kind) {
    case 'formerr':
      return reply(q, question, 'FORMERR', { opt: optFor(0) });
    case 'badvers':
      return reply(q, question, 'BADVERS', { opt: optFor(rcodeNumber.BADVERS), requestorUdpBytes: edns.edns.udpPayloadSize });
    case 'none':
    case 'ok':
      break;
    default:
      return unreachable(edns);
  }
  const ednsQuery = edns.kind === 'ok' ? edns.edns : null;
  const subnet = ednsQuery?.subnet ?? null;
  // A rate-limit slip: TC=1 sends the client to TCP; looking the name up would be wasted.
  if (ctx.truncate === true) {
    return reply(q, question, 'NOERROR', { opt: optFor(0, subnet === null ? null : echoData(subnet, 0)), requestorUdpBytes: ednsQuery?.udpPayloadSize ?? null });
  }
  const found = lookup(ctx.zone, question, clientOf(subnet, ctx.remoteAddress), ctx.answer);
  const ecsEcho = subnet === null ? null : echoData(subnet, scopeFor(subnet, found.dependsOnClient));
  return reply(q, question, found.rcode, {
    aa: found.aa,
    answers: found.answers,
    authorities: found.authorities,
    glue: found.additionals,
    opt: optFor(0, ecsEcho),
    requestorUdpBytes: ednsQuery?.udpPayloadSize ?? null,
    error: found.error,
  });
}

interface ReplyParts {
  aa?: boolean;
  answers?: Answer[];
  authorities?: Answer[];
  /** Optional additional records: the first thing to go when the reply is too big. */
  glue?: Answer[];
  opt: OptAnswer | null;
  /** The requestor's EDNS UDP size; absent: the classic 512 bytes over UDP. */
  requestorUdpBytes?: number | null;
  error?: Error | undefined;
}

/** Encodes the reply to fit the limit (the transport's, the client's EDNS size, the
 *  amplification bound): whole if it fits; else without the optional additional data
 *  (RFC 2181 §9: no TC for data the client did not need); else TC=1 with the question and
 *  OPT only, telling the resolver to retry over TCP (RFC 1035 §4.2.1, RFC 7766). A slip
 *  (ctx.truncate) goes straight to the last. */
function reply(q: Asked, question: Question | null, rcode: DnsRcodeName, parts: ReplyParts): DnsResponse {
  const { ctx, header } = q;
  let limitBytes = replyLimitBytes(parts.requestorUdpBytes ?? null, ctx.transport, ctx.maxUdpPayloadBytes);
  if (ctx.transport === 'udp') limitBytes = Math.min(limitBytes, amplificationLimitBytes(q.queryBytes, ctx.amplificationFactor ?? 0));
  const answers = parts.answers ?? [];
  const authorities = parts.authorities ?? [];
  const glue = parts.glue ?? [];
  const opt = parts.opt === null ? [] : [parts.opt];
  const encode = (a: Answer[], ns: Answer[], ar: Answer[], tc: boolean) => encodeReply(header, question, rcode, parts.aa ?? false, tc, a, ns, [...ar, ...opt]);

  const done = (bytes: Buffer, truncated: boolean): DnsResponse =>
    parts.error === undefined ? { kind: 'reply', bytes, rcode, truncated } : { kind: 'reply', bytes, rcode, truncated, error: parts.error };

  if (ctx.truncate !== true) {
    let bytes = encode(answers, authorities, glue, false);
    if (bytes.length > limitBytes && glue.length > 0) bytes = encode(answers, authorities, [], false);
    if (bytes.length <= limitBytes) return done(bytes, false);
  }
  const bytes = encode([], [], [], true);
  // Header + one question (at most 259 bytes) + OPT with ECS (at most 35): always under 512,
  // which every limit allows.
  assert(bytes.length <= limitBytes, `truncated reply of ${bytes.length} bytes exceeds ${limitBytes}`);
  return done(bytes, true);
}

function encodeReply(header: Header, question: Question | null, rcode: DnsRcodeName, aa: boolean, tc: boolean, answers: Answer[], authorities: Answer[], additionals: Answer[]): Buffer {
  const encoded = dnsPacket.encode({
    type: 'response',
    id: header.id,
    flags: replyFlags(header, rcodeNumber[rcode], { aa, tc }),
    questions: [],
    answers,
    authorities,
    additionals,
  });
  return question === null ? encoded : spliceQuestion(encoded, question.raw);
}
