// Shared pieces of the DNS tests: a zone, a server on 127.0.0.1 with a recording policy
// stub, and clients that speak real UDP and TCP with dns-packet-encoded messages.

import { mulberry32 } from '../../src/lib/index.js';
import { createSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, OptAnswer, Packet, RecordType } from 'dns-packet';
import assert from 'node:assert/strict';
import { compileZone, DnsServer, respond, type DnsClient, type DnsPolicyAnswer, type DnsServerOptions, type DnsStaticRecord, type RespondContext } from '../../src/dns/index.js';

export const host = '127.0.0.1';
/** Generous: loopback answers in microseconds; only a broken server comes near this. */
export const replyTimeoutMs = 5_000;

export interface PolicyCall {
  name: string;
  family: 4 | 6;
  client: DnsClient;
}

export function zoneOptions(answer: DnsServerOptions['answer']): DnsServerOptions {
  return {
    host,
    port: 0,
    zone: 'Shop.Example.Test.',
    hosts: ['www', 'api', '@'],
    nameservers: [
      { name: 'ns1.shop.example.test', address: '192.0.2.53' },
      { name: 'ns1.shop.example.test', address: '2001:db8::53' },
      { name: 'ns2.shop.example.test', address: '198.51.100.53' },
    ],
    soa: { mname: 'ns1.shop.example.test', rname: 'hostmaster.shop.example.test', serial: 2026010101, refreshSec: 7200, retrySec: 900, expireSec: 1_209_600, minimumSec: 300 },
    records: staticRecords,
    answer,
  };
}

/** Static records of every kind, with aliases to a service host, to static data, in a
 *  chain, outside the zone and to nothing. */
export const staticRecords: DnsStaticRecord[] = [
  { name: '@', type: 'MX', value: '10 mail.shop.example.test.', ttlSec: 300 },
  { name: '@', type: 'MX', value: '20 mx.other.test.', ttlSec: 300 },
  { name: '@', type: 'TXT', value: 'v=spf1 mx -all', ttlSec: 300 },
  { name: '@', type: 'CAA', value: '0 issue "letsencrypt.org"', ttlSec: 3600 },
  { name: 'mail', type: 'A', value: '192.0.2.25', ttlSec: 300 },
  { name: 'mail', type: 'AAAA', value: '2001:db8::25', ttlSec: 300 },
  { name: '_sip._tcp', type: 'SRV', value: '10 5 5060 sip.shop.example.test.', ttlSec: 60 },
  { name: 'sip', type: 'A', value: '192.0.2.60', ttlSec: 60 },
  { name: 'api', type: 'TXT', value: '"hello" "world"', ttlSec: 30 },
  { name: 'store', type: 'CNAME', value: 'www.shop.example.test.', ttlSec: 60 },
  { name: 'webmail', type: 'CNAME', value: 'mail.shop.example.test', ttlSec: 60 },
  { name: 'chain', type: 'CNAME', value: 'webmail.shop.example.test.', ttlSec: 60 },
  { name: 'cdn', type: 'CNAME', value: 'shop.cdn.example.net.', ttlSec: 60 },
  { name: 'dangling', type: 'CNAME', value: 'gone.shop.example.test.', ttlSec: 60 },
];

/** The default policy: one IPv4 address per host, no IPv6; records every call. */
export function recordingPolicy(calls: PolicyCall[], answerFor: (name: string, family: 4 | 6) => DnsPolicyAnswer = defaultAnswer): DnsServerOptions['answer'] {
  return (name, family, client) => {
    calls.push({ name, family, client });
    return answerFor(name, family);
  };
}

export function defaultAnswer(name: string, family: 4 | 6): DnsPolicyAnswer {
  if (family === 6) return { addresses: [], ttlSec: 30 };
  return { addresses: [name === 'api' ? '203.0.113.20' : '203.0.113.10'], ttlSec: 30 };
}

/** respond()'s context for the fixture zone over UDP, as the server would build it (without
 *  the amplification bound unless `extra` sets it). */
export function context(overrides: Partial<DnsServerOptions> = {}, extra: Partial<RespondContext> = {}): RespondContext {
  const opts = { ...zoneOptions((name, family) => defaultAnswer(name, family)), ...overrides };
  return { zone: compileZone(opts), answer: opts.answer, transport: 'udp', remoteAddress: '192.0.2.1', maxUdpPayloadBytes: 1232, ...extra };
}

/** respond() called directly; fails the test if it stays silent. */
export function ask(bytes: Buffer, ctx: RespondContext = context()): Reply & { error: Error | undefined; truncated: boolean } {
  const r = respond(bytes, ctx);
  assert.equal(r.kind, 'reply');
  return { ...parseReply(r.bytes), error: r.error, truncated: r.truncated };
}

export interface Running {
  server: DnsServer;
  udpPort: number;
  tcpPort: number;
  calls: PolicyCall[];
  errors: Error[];
  stop(): Promise<void>;
}

export async function startServer(overrides: Partial<DnsServerOptions> = {}, answerFor?: (name: string, family: 4 | 6) => DnsPolicyAnswer): Promise<Running> {
  const calls: PolicyCall[] = [];
  const errors: Error[] = [];
  const server = new DnsServer({ ...zoneOptions(recordingPolicy(calls, answerFor)), onError: (e) => errors.push(e), ...overrides });
  const { udpPort, tcpPort } = await server.start();
  return { server, udpPort, tcpPort, calls, errors, stop: () => server.stop() };
}

export interface QueryOptions {
  id?: number;
  rd?: boolean;
  /** An OPT record; null: none. */
  opt?: OptAnswer | null;
}

/** dns-packet encodes ANY (255) though its types leave the meta-type out. */
export type QueryType = RecordType | 'ANY';

export function queryBytes(name: string, type: QueryType, o: QueryOptions = {}): Buffer {
  const packet: Packet = {
    type: 'query',
    id: o.id ?? 0x1234,
    flags: o.rd === false ? 0 : dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type: type as RecordType, class: 'IN' }],
    additionals: o.opt ? [o.opt] : [],
  };
  return dnsPacket.encode(packet);
}

export function opt(udpPayloadSize = 4096, extra: Partial<OptAnswer> = {}): OptAnswer {
  return { type: 'OPT', name: '.', udpPayloadSize, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [], ...extra };
}

/** An OPT carrying ECS, address and prefix as a resolver would send them. */
export function ecsOpt(ip: string, sourcePrefixLength: number): OptAnswer {
  return opt(4096, { options: [{ code: 8, family: ip.includes(':') ? 2 : 1, sourcePrefixLength, scopePrefixLength: 0, ip }] });
}

export interface Reply {
  raw: Buffer;
  packet: DecodedPacket;
  /** Read from the raw header, not trusted to the decoder. */
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  rcode: number;
}

export function parseReply(raw: Buffer): Reply {
  const flags = raw.readUInt16BE(2);
  return {
    raw,
    packet: dnsPacket.decode(raw),
    qr: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    aa: (flags & 0x0400) !== 0,
    tc: (flags & 0x0200) !== 0,
    rd: (flags & 0x0100) !== 0,
    ra: (flags & 0x0080) !== 0,
    rcode: flags & 0xf,
  };
}

export const rcode = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

export function optOf(r: Reply): OptAnswer | undefined {
  return (r.packet.additionals ?? []).find((a): a is OptAnswer => a.type === 'OPT');
}

export function answersOf(r: Reply, type?: string): Answer[] {
  return (r.packet.answers ?? []).filter((a) => type === undefined || a.type === type);
}

/** Sends each message in order from one UDP socket; resolves with the first `count` replies. */
export async function udpExchange(port: number, messages: Buffer[], count = 1): Promise<Buffer[]> {
  const socket = createSocket('udp4');
  try {
    return await new Promise<Buffer[]>((resolve, reject) => {
      const replies: Buffer[] = [];
      const timer = setTimeout(() => reject(new Error(`no reply over UDP within ${replyTimeoutMs} ms (got ${replies.length} of ${count})`)), replyTimeoutMs);
      socket.on('error', reject);
      socket.on('message', (m) => {
        replies.push(m);
        if (replies.length === count) {
          clearTimeout(timer);
          resolve(replies);
        }
      });
      for (const m of messages) socket.send(m, port, host);
    });
  } finally {
    socket.close();
  }
}

export async function udpQuery(port: number, message: Buffer): Promise<Reply> {
  const [raw] = await udpExchange(port, [message]);
  return parseReply(raw!);
}

export function connectTcp(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host }, () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

export function framed(message: Buffer): Buffer {
  const prefix = Buffer.alloc(2);
  prefix.writeUInt16BE(message.length);
  return Buffer.concat([prefix, message]);
}

/** Reads `count` length-prefixed replies from a connected socket. */
export function readFrames(socket: Socket, count: number): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    let pending = Buffer.alloc(0);
    const frames: Buffer[] = [];
    const timer = setTimeout(() => done(new Error(`no reply over TCP within ${replyTimeoutMs} ms (got ${frames.length} of ${count})`)), replyTimeoutMs);
    const onData = (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        const len = pending.readUInt16BE(0);
        frames.push(pending.subarray(2, 2 + len));
        pending = pending.subarray(2 + len);
      }
      if (frames.length >= count) done(null);
    };
    const onClose = () => done(new Error(`connection closed after ${frames.length} of ${count} replies`));
    const done = (err: Error | null) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      if (err) reject(err);
      else resolve(frames);
    };
    socket.on('data', onData);
    socket.on('close', onClose);
  });
}

export async function tcpQuery(port: number, message: Buffer): Promise<Reply> {
  const socket = await connectTcp(port);
  try {
    const replies = readFrames(socket, 1);
    socket.write(framed(message));
    const [raw] = await replies;
    return parseReply(raw!);
  } finally {
    socket.destroy();
  }
}

/** A deterministic PRNG (mulberry32): a failing fuzz case replays from its seed. */
export const prng = mulberry32;

/** A packet from the fuzzer's repertoire: random bytes, or a valid query cut, flipped,
 *  spliced or with its counts and lengths bent. */
export function mutatedPacket(rand: () => number): Buffer {
  const int = (n: number) => Math.floor(rand() * n);
  const seeds = [
    () => queryBytes('www.shop.example.test', 'A'),
    () => queryBytes('shop.example.test', 'NS', { opt: opt(1232) }),
    () => queryBytes('www.shop.example.test', 'AAAA', { opt: ecsOpt('81.2.69.160', 24) }),
    () => queryBytes('api.shop.example.test', 'ANY', { opt: ecsOpt('2001:db8:1234::1', 56) }),
    () => queryBytes('nope.example.com', 'SOA'),
    () => queryBytes('shop.example.test', 'MX', { opt: opt(4096) }),
    () => queryBytes('_sip._tcp.shop.example.test', 'SRV'),
    () => queryBytes('chain.shop.example.test', 'A', { opt: ecsOpt('81.2.69.160', 24) }),
    () => queryBytes('store.shop.example.test', 'AAAA'),
    () => queryBytes('shop.example.test', 'TXT', { opt: opt(512) }),
    () => queryBytes('shop.example.test', 'CAA'),
    () => queryBytes('_tcp.shop.example.test', 'A'),
  ];
  const kind = int(6);
  if (kind === 0) {
    const out = Buffer.alloc(int(600));
    for (let i = 0; i < out.length; i++) out[i] = int(256);
    return out;
  }
  let buf = Buffer.from(seeds[int(seeds.length)]!());
  const edits = 1 + int(4);
  for (let e = 0; e < edits; e++) {
    switch (int(6)) {
      case 0: {
        // flip a bit
        const i = int(buf.length);
        if (buf.length > 0) buf[i] = buf[i]! ^ (1 << int(8));
        break;
      }
      case 1: // cut
        buf = buf.subarray(0, int(buf.length + 1));
        break;
      case 2: // random byte anywhere
        if (buf.length > 0) buf[int(buf.length)] = int(256);
        break;
      case 3: // bend a header count or flag word
        if (buf.length >= 12) buf.writeUInt16BE(int(65_536), 2 + 2 * int(5));
        break;
      case 4: // insert junk
        buf = Buffer.concat([buf.subarray(0, int(buf.length + 1)), Buffer.from(Array.from({ length: 1 + int(20) }, () => int(256))), buf.subarray(int(buf.length + 1))]);
        break;
      default: // compression pointer somewhere
        if (buf.length > 13) buf.writeUInt16BE(0xc000 | int(buf.length), 12 + int(buf.length - 13));
        break;
    }
  }
  return buf;
}
