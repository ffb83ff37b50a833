// The fast path against its oracle: for thousands of generated common queries (host name in
// random case, A and AAAA, with and without EDNS, ECS of every prefix for IPv4 and IPv6,
// random ids and header bits, policies of 0, 1, 8 and 60 addresses, UDP and TCP, several
// limits) the fast path's reply, decoded by dns-packet, equals respond()'s in every field,
// the policy is asked once with the same client, and the reply is smaller by exactly the
// compressed owner names. Queries it must not take come back null. Seeded: the seed is
// printed, MERIDIAN_FAST_SEED=<seed> replays a run.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import dnsPacket from 'dns-packet';
import type { OptAnswer, PacketOpt } from 'dns-packet';
import { amplificationLimitBytes, FastPath, respond, serveQuery, type DnsClient, type DnsPolicyAnswer, type DnsServerOptions, type RespondContext } from '../../src/dns/index.js';
import { parseFastQuery, compileFastHosts } from '../../src/dns/fast-query.js';
import { answersOf, context, opt, parseReply, prng, queryBytes, rcode, startServer, tcpQuery, udpExchange, type QueryType } from './fixtures.js';

const seed = envSeed('MERIDIAN_FAST_SEED');
const replay = `seed ${seed} (replay: MERIDIAN_FAST_SEED=${seed} node --import tsx --test test/dns/fast-path.test.ts)`;
console.log(`dns fast path: ${replay}`);

function envSeed(name: string): number {
  const env = process.env[name];
  if (env === undefined || env === '') return Math.floor(Math.random() * 2 ** 32);
  const n = Number(env);
  if (!Number.isInteger(n) || n < 0 || n >= 2 ** 32) throw new Error(`${name}=${env}: expected a whole number from 0 to 4294967295`);
  return n;
}

type Policy = DnsServerOptions['answer'];
interface Call {
  name: string;
  family: 4 | 6;
  client: DnsClient;
}

/** A policy by the number of addresses it gives, the addresses depending on the client (so
 *  a client that differs between the two paths shows in the answer too). */
function policyOf(count: number, ttlSec: number, cache: boolean): Policy {
  const answers = new Map<string, DnsPolicyAnswer>();
  return (name, family, client) => {
    const key = `${name}|${family}|${client.ip}/${client.prefixLength}|${client.source}`;
    const hit = cache ? answers.get(key) : undefined;
    if (hit !== undefined) return hit;
    const salt = [...key].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7) % 200;
    const addresses = Array.from({ length: count }, (_, i) => (family === 4 ? `10.${salt}.${i}.1` : `2001:db8:${salt.toString(16)}::${(i + 1).toString(16)}`));
    // Duplicates and spaces, as a sloppy policy gives them: both paths trim and dedupe.
    if (count >= 8) addresses.push(` ${addresses[0]!} `, addresses[1]!);
    const answer = { addresses, ttlSec };
    if (cache) answers.set(key, answer);
    return answer;
  };
}

/** Records the calls, then asks `inner`. */
function recorded(inner: Policy, calls: Call[]): Policy {
  return (name, family, client) => {
    calls.push({ name, family, client: { ...client } });
    return inner(name, family, client);
  };
}

const randomCase = (rand: () => number, text: string): string => [...text].map((c) => (rand() < 0.5 ? c.toUpperCase() : c.toLowerCase())).join('');

const v4Addresses = ['81.2.69.160', '203.0.113.77', '0.0.0.0', '255.255.255.255', '10.20.30.40'];
const v6Addresses = ['2001:db8:1234:5678:9abc:def0:1234:5678', '2a00:1450:4001:82a::200e', '::1', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '::ffff:1.2.3.4'];
const v4Prefixes = [0, 1, 8, 15, 16, 20, 23, 24, 25, 31, 32];
const v6Prefixes = [0, 1, 24, 32, 48, 55, 56, 57, 64, 100, 128];

/** The ECS option: usually as a resolver sends it (dns-packet: ceil(source/8) address
 *  bytes, scope 0); sometimes the lenient forms respond() accepts: the full address with
 *  bits beyond the prefix, a short address, a non-zero scope in the query. */
function ecsOption(rand: () => number): PacketOpt {
  const v6 = rand() < 0.5;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const ip = pick(v6 ? v6Addresses : v4Addresses);
  const source = pick(v6 ? v6Prefixes : v4Prefixes);
  if (rand() < 0.7) return { code: 8, family: v6 ? 2 : 1, sourcePrefixLength: source, scopePrefixLength: 0, ip };
  const full = v6 ? Buffer.from(ipv6Bytes(ip)) : Buffer.from(ip.split('.').map(Number));
  const addressBytes = Math.floor(rand() * (full.length + 1));
  return rawOption(8, Buffer.concat([Buffer.from([0, v6 ? 2 : 1, source, Math.floor(rand() * 3) * 20]), full.subarray(0, addressBytes)]));
}

function ipv6Bytes(ip: string): number[] {
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, ''];
  const groups = (s: string | undefined) => (s === undefined || s === '' ? [] : s.split(':'));
  const expand = (gs: string[]): number[] => gs.flatMap((g) => (g.includes('.') ? g.split('.').map(Number) : [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]));
  const h = expand(groups(head));
  const t = expand(groups(tail));
  return [...h, ...new Array<number>(16 - h.length - t.length).fill(0), ...t];
}

/** An EDNS option as raw bytes (dns-packet writes `data` as it is; its types know fewer
 *  option codes than the wire does). */
const rawOption = (code: number, data: Buffer): PacketOpt => ({ code, data }) as unknown as PacketOpt;

interface Case {
  query: Buffer;
  ctx: RespondContext;
  describe: string;
}

const policies: { label: string; policy: Policy }[] = [
  { label: '0 addresses', policy: policyOf(0, 30, false) },
  { label: '1 address', policy: policyOf(1, 30, false) },
  { label: '1 address, cached object', policy: policyOf(1, 20, true) },
  { label: '8 addresses (+ duplicates)', policy: policyOf(8, 300, false) },
  { label: '8 addresses, cached object', policy: policyOf(8, 3, true) },
  { label: '60 addresses', policy: policyOf(60, 60, true) },
];

/** One zone for every generated case, so one FastPath serves them all, its caches warm. */
const baseContext = context();

function generatedCase(rand: () => number): Case & { policyLabel: string } {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const label = pick(['www', 'api', '']);
  const name = randomCase(rand, label === '' ? 'shop.example.test' : `${label}.shop.example.test`);
  const type: QueryType = rand() < 0.5 ? 'A' : 'AAAA';
  let edns: OptAnswer | null = null;
  const r = rand();
  if (r < 0.6) edns = opt(pick([0, 100, 512, 1232, 1400, 4096, 65_535]), { options: [ecsOption(rand)], flags: rand() < 0.3 ? dnsPacket.DNSSEC_OK : 0, extendedRcode: 0 });
  else if (r < 0.85) edns = opt(pick([0, 512, 1232, 4096]), { flags: rand() < 0.3 ? dnsPacket.DNSSEC_OK : 0 });
  const query = queryBytes(name, type, { id: Math.floor(rand() * 65_536), rd: rand() < 0.5, opt: edns });
  // Header bits a query may carry that mean nothing to the reply: AA, TC, Z, AD, CD.
  if (rand() < 0.2) query[2] = query[2]! | pick([0x04, 0x02]);
  if (rand() < 0.2) query[3] = query[3]! | pick([0x40, 0x20, 0x10]);
  const { label: policyLabel, policy } = pick(policies);
  const ctx: RespondContext = {
    ...baseContext,
    answer: policy,
    transport: rand() < 0.8 ? 'udp' : 'tcp',
    remoteAddress: pick(['192.0.2.1', '::ffff:198.51.100.7', '2001:db8::53', '198.51.100.200']),
    maxUdpPayloadBytes: pick([512, 1232, 4096]),
    amplificationFactor: pick([0, 2, 10]),
  };
  return { query, ctx, policyLabel, describe: `${policyLabel}; ${ctx.transport} from ${ctx.remoteAddress}, max ${ctx.maxUdpPayloadBytes}, factor ${ctx.amplificationFactor}; query ${query.toString('hex')}` };
}

/** Everything dns-packet reads from a reply: id, flags (every bit), rcode, counts, the
 *  question, every record's name, type, class, TTL and data, the OPT's payload size,
 *  version, flags and options (ECS family, source, scope, address, raw data). */
function decoded(bytes: Buffer): unknown {
  const p = dnsPacket.decode(bytes);
  return { flagsWord: bytes.readUInt16BE(2), counts: [4, 6, 8, 10].map((o) => bytes.readUInt16BE(o)), ...p };
}

/** The limit respond() applies (edns.ts, amplification.ts), computed from the decoded query. */
function limitOf(query: Buffer, ctx: RespondContext): number {
  if (ctx.transport === 'tcp') return 65_535;
  const queryOpt = (dnsPacket.decode(query).additionals ?? []).find((a): a is OptAnswer => a.type === 'OPT');
  const edns = queryOpt === undefined ? 512 : Math.min(Math.max(512, queryOpt.udpPayloadSize), ctx.maxUdpPayloadBytes);
  return Math.min(edns, amplificationLimitBytes(query.length, ctx.amplificationFactor ?? 0));
}

/** Wire length of a name: what a compression pointer (2 bytes) replaces. */
const wireBytes = (name: string): number => (name === '' ? 1 : name.split('.').reduce((n, l) => n + 1 + l.length, 0) + 1);

describe('fast path vs respond(): generated queries', () => {
  const rand = prng(seed);
  const fast = new FastPath(baseContext.zone);
  const counts = { compared: 0, nodata: 0, ecs: 0, v6ecs: 0, tcp: 0, fellBack: 0, fastSmaller: 0, oracleTruncatedOnly: 0 };

  test('6,000 queries: the same reply as respond(), field by field; the policy asked once, with the same client', () => {
    for (let i = 0; i < 6000; i++) {
      const c = generatedCase(rand);
      const at = `case ${i}: ${c.describe}; ${replay}`;
      const fastCalls: Call[] = [];
      const oracleCalls: Call[] = [];
      const before = fast.stats();
      const f = fast.tryRespond(c.query, { ...c.ctx, answer: recorded(c.ctx.answer, fastCalls) });
      const o = respond(c.query, { ...c.ctx, answer: recorded(c.ctx.answer, oracleCalls) });
      assert.ok(f !== null, `the fast path took it: ${at}`);
      assert.equal(f.kind, 'reply', at);
      assert.equal(o.kind, 'reply', at);
      if (f.kind !== 'reply' || o.kind !== 'reply') continue;
      assert.equal(fastCalls.length, 1, `the policy asked once by the fast path: ${at}`);
      assert.deepEqual(fastCalls, oracleCalls, `the same name, family and client: ${at}`);
      assert.equal(f.error, undefined, at);
      assert.equal(f.rcode, o.rcode, at);

      const after = fast.stats();
      const fellBack = after.fallbacks > before.fallbacks;
      counts.compared++;
      if (fellBack) {
        // Too big for its limit: respond() answered, with its own bytes.
        counts.fellBack++;
        assert.deepEqual(f.bytes, o.bytes, `a fallback is respond()'s reply: ${at}`);
        assert.equal(f.truncated, true, at);
        continue;
      }
      assert.equal(after.replies, before.replies + 1, at);
      assert.equal(f.truncated, false, at);

      const fr = parseReply(f.bytes);
      const limit = limitOf(c.query, c.ctx);
      assert.ok(f.bytes.length <= limit, `${f.bytes.length} bytes within the limit ${limit}: ${at}`);
      let oracle = o;
      if (o.truncated) {
        // The fast reply fits where respond()'s, uncompressed, did not: compare the content
        // with respond()'s untruncated reply (over TCP: no size limit, nothing else differs).
        counts.oracleTruncatedOnly++;
        const full = respond(c.query, { ...c.ctx, transport: 'tcp' });
        assert.ok(full.kind === 'reply' && !full.truncated && full.bytes.length > limit, at);
        oracle = full;
      }
      if (oracle.kind !== 'reply') continue;
      assert.deepEqual(decoded(f.bytes), decoded(oracle.bytes), `every field equal: ${at}; fast ${f.bytes.toString('hex')}; respond ${oracle.bytes.toString('hex')}`);

      // Bytes differ only by compression: each answer's owner is a 2-byte pointer (the
      // SOA's is not: a pointer into the question would carry its letter case).
      const q = fr.packet.questions![0]!.name;
      const ancount = fr.packet.answers!.length;
      const nscount = fr.packet.authorities!.length;
      assert.equal(oracle.bytes.length - f.bytes.length, ancount * (wireBytes(q) - 2), `only compression differs: ${at}`);
      if (ancount > 0) counts.fastSmaller++;
      if (nscount > 0) counts.nodata++;
      if (c.ctx.transport === 'tcp') counts.tcp++;
      const ecs = (fr.packet.additionals ?? []).find((a): a is OptAnswer => a.type === 'OPT')?.options?.find((x) => x.code === 8);
      if (ecs !== undefined) {
        counts.ecs++;
        if (ecs.family === 2) counts.v6ecs++;
      }
    }
    // The run reached every kind of reply.
    console.log(`fast path vs respond(): ${JSON.stringify(counts)}`);
    assert.ok(counts.nodata > 500 && counts.ecs > 1500 && counts.v6ecs > 500 && counts.tcp > 500 && counts.fellBack > 50 && counts.fastSmaller > 2000, JSON.stringify(counts));
  });
});

describe('fast path vs respond(): mutated queries', () => {
  test('20,000 common queries with a byte or bit changed: whatever the fast path still takes, respond() answers the same', () => {
    const rand = prng(seed ^ 0x5eed);
    const fast = new FastPath(baseContext.zone);
    let taken = 0;
    let refused = 0;
    for (let i = 0; i < 20_000; i++) {
      const c = generatedCase(rand);
      const q = Buffer.from(c.query);
      for (let e = 1 + Math.floor(rand() * 2); e > 0; e--) {
        const at = Math.floor(rand() * q.length);
        q[at] = rand() < 0.5 ? q[at]! ^ (1 << Math.floor(rand() * 8)) : Math.floor(rand() * 256);
      }
      const f = fast.tryRespond(q, c.ctx);
      if (f === null) {
        refused++;
        continue;
      }
      taken++;
      const o = respond(q, c.ctx);
      const at = `case ${i}: ${c.describe}; mutated ${q.toString('hex')}; ${replay}`;
      assert.ok(f.kind === 'reply' && o.kind === 'reply', at);
      if (o.truncated && !f.truncated) {
        const full = respond(q, { ...c.ctx, transport: 'tcp' });
        assert.ok(full.kind === 'reply', at);
        assert.deepEqual(decoded(f.bytes), decoded(full.bytes), at);
      } else {
        assert.equal(f.rcode, o.rcode, at);
        assert.deepEqual(decoded(f.bytes), decoded(o.bytes), at);
      }
    }
    // Many mutations leave a query the fast path still takes (id, flags, ECS address, case,
    // EDNS size), most make one it must refuse (about 13% and 87%).
    assert.ok(taken > 1500 && refused > 5000, JSON.stringify({ taken, refused }));
  });
});

describe('fast path: what it must not take', () => {
  const ctx = context();
  const fast = new FastPath(ctx.zone);
  const www = () => queryBytes('www.shop.example.test', 'A', { opt: opt(1232) });
  const refused = (label: string, q: Buffer, c: RespondContext = ctx) => assert.equal(fast.tryRespond(q, c), null, `${label}: ${q.toString('hex')}`);

  test('the baseline query is taken (so each refusal below is for its one difference)', () => {
    assert.notEqual(fast.tryRespond(www(), ctx), null);
    assert.notEqual(fast.tryRespond(queryBytes('www.shop.example.test', 'A'), ctx), null);
  });

  test('two questions; answer, authority or a second additional record', () => {
    const two = dnsPacket.encode({ type: 'query', id: 1, questions: [{ type: 'A', name: 'www.shop.example.test' }, { type: 'A', name: 'api.shop.example.test' }] });
    refused('two questions', two);
    for (const at of [6, 8]) {
      const q = www();
      q.writeUInt16BE(1, at);
      refused(`count at ${at}`, q);
    }
    const withAnswer = dnsPacket.encode({ type: 'query', id: 1, questions: [{ type: 'A', name: 'www.shop.example.test' }], answers: [{ type: 'A', name: 'www.shop.example.test', data: '192.0.2.1' }] });
    refused('an answer record', withAnswer);
    const twoAdditional = dnsPacket.encode({ type: 'query', id: 1, questions: [{ type: 'A', name: 'www.shop.example.test' }], additionals: [opt(1232), { type: 'A', name: 'x.test', data: '192.0.2.1' }] });
    refused('two additional records', twoAdditional);
    const notOpt = dnsPacket.encode({ type: 'query', id: 1, questions: [{ type: 'A', name: 'www.shop.example.test' }], additionals: [{ type: 'A', name: 'x.test', data: '192.0.2.1' }] });
    refused('an additional record that is not an OPT', notOpt);
  });

  test('EDNS the fast path does not understand: other options, a second ECS, a bad ECS, version 1, a non-root owner', () => {
    refused('cookie', queryBytes('www.shop.example.test', 'A', { opt: opt(1232, { options: [rawOption(10, Buffer.alloc(8, 7))] }) }));
    refused('padding', queryBytes('www.shop.example.test', 'A', { opt: opt(1232, { options: [{ code: 12, length: 20 }] }) }));
    refused('ECS then cookie', queryBytes('www.shop.example.test', 'A', { opt: opt(1232, { options: [rawOption(8, Buffer.from([0, 1, 24, 0, 1, 2, 3])), rawOption(10, Buffer.alloc(8))] }) }));
    refused('two ECS', queryBytes('www.shop.example.test', 'A', { opt: opt(1232, { options: [rawOption(8, Buffer.from([0, 1, 24, 0, 1, 2, 3])), rawOption(8, Buffer.from([0, 1, 24, 0, 1, 2, 3]))] }) }));
    for (const data of [[0, 3, 24, 0, 1, 2, 3], [1, 1, 24, 0, 1, 2, 3], [0, 1, 33, 0, 1, 2, 3, 4], [0, 2, 129, 0], [0, 1, 8, 0, 1, 2, 3, 4, 5], [0, 1, 8]]) {
      refused(`ECS ${JSON.stringify(data)}`, queryBytes('www.shop.example.test', 'A', { opt: opt(1232, { options: [rawOption(8, Buffer.from(data))] }) }));
    }
    refused('version 1', queryBytes('www.shop.example.test', 'A', { opt: opt(1232, { ednsVersion: 1 }) }));
    const owner = Buffer.concat([queryBytes('www.shop.example.test', 'A').subarray(0, 39), Buffer.from([1, 0x61, 0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0])]);
    owner.writeUInt16BE(1, 10);
    refused('OPT owned by a.', owner);
  });

  test('other opcodes, a response, other types and classes', () => {
    for (const opcode of [1, 2, 4, 5, 15]) {
      const q = www();
      q[2] = (q[2]! & 0x87) | (opcode << 3);
      refused(`opcode ${opcode}`, q);
    }
    const response = www();
    response[2] = response[2]! | 0x80;
    refused('QR set', response);
    for (const type of ['NS', 'SOA', 'MX', 'TXT', 'CNAME', 'ANY', 'SRV', 'CAA', 'HINFO', 'AXFR'] as const) refused(type, queryBytes('www.shop.example.test', type));
    for (const klass of [3, 4, 254, 255]) {
      const q = queryBytes('www.shop.example.test', 'A');
      q.writeUInt16BE(klass, q.length - 2);
      refused(`class ${klass}`, q);
    }
  });

  test('names that are not a service host: outside the zone, static records, below a host, a compression pointer', () => {
    for (const name of ['nope.shop.example.test', 'example.com', 'www.shop.example.test.evil.test', 'mail.shop.example.test', 'ns1.shop.example.test', 'a.www.shop.example.test', 'ww.shop.example.test', 'wwx.shop.example.test', 'shop.example', 'store.shop.example.test']) {
      refused(name, queryBytes(name, 'A'));
    }
    // A label with a dot inside ('www.shop' as one label) is not the name www.shop...
    const dotted = Buffer.concat([Buffer.from([0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]), Buffer.from([8, ...Buffer.from('www.shop'), 7, ...Buffer.from('example'), 4, ...Buffer.from('test'), 0, 0, 1, 0, 1])]);
    refused('a label holding a dot', dotted);
    const pointer = Buffer.from([0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]);
    refused('a compression pointer as the name', pointer);
  });

  test('every truncation of a query, and bytes after it', () => {
    for (const q of [www(), queryBytes('www.shop.example.test', 'AAAA', { opt: opt(1232, { options: [{ code: 8, family: 1, sourcePrefixLength: 24, scopePrefixLength: 0, ip: '81.2.69.160' }] }) }), queryBytes('www.shop.example.test', 'A')]) {
      for (let n = 0; n < q.length; n++) refused(`cut at ${n}`, q.subarray(0, n));
      refused('a byte after it', Buffer.concat([q, Buffer.from([0])]));
    }
  });

  test('a rate-limit slip goes to respond() (the empty TC=1 reply)', () => {
    refused('slip', www(), { ...ctx, truncate: true });
  });

  test('parseFastQuery matches the host in any case, and only the hosts', () => {
    const hosts = compileFastHosts(ctx.zone);
    assert.equal(parseFastQuery(queryBytes('WwW.sHoP.ExAmPlE.tEsT', 'A'), hosts)?.host.policyHost, 'www');
    assert.equal(parseFastQuery(queryBytes('SHOP.EXAMPLE.TEST', 'AAAA'), hosts)?.host.policyHost, '@');
    assert.equal(parseFastQuery(queryBytes('api.shop.example.test', 'A'), hosts)?.family, 4);
    assert.equal(parseFastQuery(queryBytes('api.shop.example.test', 'AAAA'), hosts)?.family, 6);
    // Bytes that fold to a host's letters only by a wider folding than ASCII: not a match.
    const q = queryBytes('www.shop.example.test', 'A');
    q[13] = 0xd7; // 'w' (0x77) | 0xa0
    assert.equal(parseFastQuery(q, hosts), null);
  });
});

describe('fast path: errors, limits, the policy once', () => {
  test('a policy that throws or answers badly: respond()\'s SERVFAIL, reported, the policy asked once', () => {
    const bad: [string, Policy][] = [
      ['throws', () => { throw new Error('routing table gone'); }],
      ['an IPv6 address for A', () => ({ addresses: ['2001:db8::1'], ttlSec: 30 })],
      ['a negative TTL', () => ({ addresses: ['192.0.2.1'], ttlSec: -1 })],
      ['not an object', () => null as unknown as DnsPolicyAnswer],
      ['addresses not an array', () => ({ addresses: '192.0.2.1', ttlSec: 30 }) as unknown as DnsPolicyAnswer],
    ];
    for (const [label, policy] of bad) {
      let calls = 0;
      const ctx = context({ answer: policy }, { transport: 'udp' });
      const counted: Policy = (n, f, c) => {
        calls++;
        return policy(n, f, c);
      };
      const fast = new FastPath(ctx.zone);
      const q = queryBytes('www.shop.example.test', 'A', { id: 77 });
      const f = fast.tryRespond(q, { ...ctx, answer: counted });
      const o = respond(q, ctx);
      assert.ok(f !== null && f.kind === 'reply' && o.kind === 'reply', label);
      assert.equal(calls, 1, `${label}: asked once`);
      assert.deepEqual([f.rcode, f.bytes], [o.rcode, o.bytes], label);
      assert.equal(f.rcode, 'SERVFAIL', label);
      assert.equal(f.error?.message, o.error?.message, label);
      assert.deepEqual(fast.stats(), { replies: 0, fallbacks: 1 }, label);
    }
  });

  test('too big for the client\'s 512 bytes or the amplification bound: respond() truncates it', () => {
    const sixty: Policy = () => ({ addresses: Array.from({ length: 60 }, (_, i) => `10.0.0.${i + 1}`), ttlSec: 30 });
    for (const [label, q, extra] of [
      ['no EDNS: 512 bytes', queryBytes('www.shop.example.test', 'A'), { amplificationFactor: 0 }],
      ['amplification 10x of a 50-byte query', queryBytes('www.shop.example.test', 'A', { opt: opt(4096) }), { amplificationFactor: 10, maxUdpPayloadBytes: 4096 }],
    ] as const) {
      const ctx = context({ answer: sixty }, extra);
      const fast = new FastPath(ctx.zone);
      const f = fast.tryRespond(q, ctx);
      const o = respond(q, ctx);
      assert.ok(f !== null && f.kind === 'reply' && o.kind === 'reply', label);
      assert.deepEqual([f.truncated, f.bytes], [true, o.bytes], label);
      assert.deepEqual(fast.stats(), { replies: 0, fallbacks: 1 }, label);
      // Over TCP the same answer goes out whole, from the fast path.
      const t = fast.tryRespond(q, { ...ctx, transport: 'tcp' });
      assert.ok(t !== null && t.kind === 'reply' && !t.truncated && parseReply(t.bytes).packet.answers?.length === 60, label);
    }
  });

  test('an answer changed in place after it was returned is re-encoded, not served stale', () => {
    const answer: DnsPolicyAnswer = { addresses: ['192.0.2.1'], ttlSec: 30 };
    const ctx = context({ answer: () => answer });
    const fast = new FastPath(ctx.zone);
    const ask = () => {
      const r = fast.tryRespond(queryBytes('www.shop.example.test', 'A'), ctx);
      assert.ok(r !== null && r.kind === 'reply');
      const p = parseReply(r.bytes);
      const first = answersOf(p)[0];
      return [answersOf(p).map((a) => a.type === 'A' && a.data), first !== undefined && first.type === 'A' ? first.ttl : null];
    };
    assert.deepEqual(ask(), [['192.0.2.1'], 30]);
    answer.addresses[0] = '192.0.2.2';
    assert.deepEqual(ask(), [['192.0.2.2'], 30]);
    answer.addresses.push('192.0.2.3');
    assert.deepEqual(ask(), [['192.0.2.2', '192.0.2.3'], 30]);
    answer.ttlSec = 5;
    assert.deepEqual(ask(), [['192.0.2.2', '192.0.2.3'], 5]);
    answer.addresses = [];
    assert.deepEqual(ask(), [[], null]);
  });

  test('serveQuery: the fast path for the common query, respond() for the rest', () => {
    const ctx = context();
    const fast = new FastPath(ctx.zone);
    for (const q of [queryBytes('www.shop.example.test', 'A'), queryBytes('shop.example.test', 'MX'), queryBytes('nope.shop.example.test', 'A')]) {
      const r = serveQuery(q, ctx, fast);
      const o = respond(q, ctx);
      assert.ok(r.kind === 'reply' && o.kind === 'reply');
      assert.deepEqual(decoded(r.bytes), decoded(o.bytes));
    }
    assert.deepEqual(fast.stats(), { replies: 1, fallbacks: 0 });
  });
});

describe('fast path in the server', () => {
  test('answers over UDP and TCP behind the rate limiter, and counts its replies', async () => {
    // Frozen clock, a bucket of 2: the third query from one /24 is slipped (TC=1, empty).
    const s = await startServer({ rateLimit: { responsesPerSecond: 1, burst: 2, slip: 1, ipv4PrefixLength: 24, ipv6PrefixLength: 56 }, clockMs: () => 0 });
    try {
      const queries = [1, 2, 3].map((id) => queryBytes('WWW.shop.example.test', 'A', { id, opt: opt(1232, { options: [{ code: 8, family: 1, sourcePrefixLength: 24, scopePrefixLength: 0, ip: '81.2.69.160' }] }) }));
      const replies = (await udpExchange(s.udpPort, queries, 3)).map(parseReply).sort((a, b) => (a.packet.id ?? 0) - (b.packet.id ?? 0));
      assert.deepEqual(replies.map((r) => [r.packet.id, r.tc, r.aa, r.rcode, answersOf(r, 'A').length]), [[1, false, true, rcode.NOERROR, 1], [2, false, true, rcode.NOERROR, 1], [3, true, false, rcode.NOERROR, 0]]);
      assert.equal(replies[0]!.packet.answers![0]!.name, 'WWW.shop.example.test', 'the owner is the question, as asked');
      assert.deepEqual(s.calls.map((c) => c.client), [1, 2].map(() => ({ ip: '81.2.69.0', prefixLength: 24, source: 'ecs' })), 'the slipped query asked no policy');
      // TCP: no limiter, and the fast path answers there too.
      const t = await tcpQuery(s.tcpPort, queries[2]!);
      assert.deepEqual([t.packet.id, t.tc, t.aa, answersOf(t, 'A').map((a) => a.type === 'A' && a.data)], [3, false, true, ['203.0.113.10']]);
      const stats = s.server.stats();
      assert.deepEqual([stats.fastPath, stats.rateLimit.slipped, stats.truncated], [{ replies: 3, fallbacks: 0 }, 1, 1]);
    } finally {
      await s.stop();
    }
  });
});
