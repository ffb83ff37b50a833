// A SKETCH, for the benchmark only: how fast a node:dgram server answers the benchmark's
// queries when the hot path does the least it can, so that the README's "what would move
// the figure" is measured rather than guessed. Not Meridian's server, not a proposal of
// its code; src/dns is untouched.
//
// The hot path (anything else falls back to Meridian's respond(), so answers stay right):
//   - a hand parser for the one shape that matters: one question, no answers, at most one
//     OPT carrying at most an IPv4 ECS option;
//   - the routing decision cached per client /24 (the ECS address bytes as one integer),
//     computed by the node's own policy callback (geolocation + route()) on a miss; a real
//     server would also key it by the health view's generation;
//   - the reply assembled from bytes prepared once per region: header, the question echoed,
//     the A record (name compressed to the question), the OPT with the ECS echo;
//   - send() without a completion callback.
//
//   node bench/dns/fastpath-sketch.mjs [--config examples/world.yaml] [--host 127.0.0.1] [--port 0]
//
// Prints {"ready":true,"port":N,"pid":P} on stdout; stops on SIGTERM, SIGINT or stdin close.

import { createSocket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { compileZone, respond } from '../../dist/dns/index.js';
import { nodeDns } from './meridian-node-dns.mjs';

const { values: args } = parseArgs({
  options: {
    config: { type: 'string', default: fileURLToPath(new URL('../../examples/world.yaml', import.meta.url)) },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
  },
});

const node = nodeDns(args.config);
node.geo.preload(4);
const options = node.serverOptions(args.host, 0, () => {});
const zone = compileZone(options);
const slowCtx = { zone, answer: options.answer, transport: 'udp', remoteAddress: '', maxUdpPayloadBytes: options.maxUdpPayload, amplificationFactor: options.amplificationFactor, truncate: false };

/** Lower-cased question names (wire form, latin1) of the policy hosts -> host label. */
const hostByWireName = new Map();
for (const host of options.hosts) {
  const labels = [...(host === '@' ? [] : host.split('.')), ...node.zone.split('.')];
  hostByWireName.set(labels.map((l) => String.fromCharCode(l.length) + l.toLowerCase()).join('') + '\0', host);
}

/** Decision cache: ECS /24 (a<<16 | b<<8 | c) -> IPv4 address bytes of the answer + TTL. */
const cache = new Map();
const cacheMax = 100_000;

function decide(a, b, c) {
  const key = (a << 16) | (b << 8) | c;
  let hit = cache.get(key);
  if (hit === undefined) {
    const ans = node.dnsAnswer(4, { ip: `${a}.${b}.${c}.0`, prefixLength: 24, source: 'ecs' });
    if (ans.addresses.length !== 1) return null; // several or none: leave it to the full path
    hit = { addr: ans.addresses[0].split('.').map(Number), ttl: ans.ttlSec };
    if (cache.size >= cacheMax) cache.clear();
    cache.set(key, hit);
  }
  return hit;
}

function fast(msg) {
  const n = msg.length;
  if (n < 12 || (msg[2] & 0xf8) !== 0 || msg[4] !== 0 || msg[5] !== 1 || msg[6] !== 0 || msg[7] !== 0 || msg[8] !== 0 || msg[9] !== 0 || msg[10] !== 0 || msg[11] !== 1) return null;
  // The question name, lower-cased, as one string.
  let off = 12;
  let name = '';
  for (;;) {
    if (off >= n) return null;
    const len = msg[off];
    if (len === 0) break;
    if (len > 63 || off + 1 + len > n) return null;
    name += String.fromCharCode(len);
    for (let i = off + 1; i <= off + len; i++) {
      const ch = msg[i];
      name += String.fromCharCode(ch >= 65 && ch <= 90 ? ch + 32 : ch);
    }
    off += 1 + len;
  }
  name += '\0';
  off += 1;
  if (off + 4 > n || !hostByWireName.has(name) || msg[off] !== 0 || msg[off + 1] !== 1 || msg[off + 2] !== 0 || msg[off + 3] !== 1) return null; // A IN only
  const qEnd = off + 4;
  // The OPT: root owner, type 41, version 0, one ECS option (IPv4, source /24, scope 0).
  if (qEnd + 11 > n || msg[qEnd] !== 0 || msg[qEnd + 1] !== 0 || msg[qEnd + 2] !== 41 || msg[qEnd + 6] !== 0) return null;
  const rdlen = (msg[qEnd + 9] << 8) | msg[qEnd + 10];
  if (qEnd + 11 + rdlen !== n || rdlen !== 11) return null;
  const o = qEnd + 11;
  if (msg[o] !== 0 || msg[o + 1] !== 8 || msg[o + 2] !== 0 || msg[o + 3] !== 7 || msg[o + 4] !== 0 || msg[o + 5] !== 1 || msg[o + 6] !== 24) return null;
  const d = decide(msg[o + 8], msg[o + 9], msg[o + 10]);
  if (d === null) return null;

  // header + question + A (16) + OPT with ECS (11 + 11)
  const out = Buffer.allocUnsafe(qEnd + 16 + 22);
  msg.copy(out, 0, 0, qEnd);
  out[2] = 0x84 | (msg[2] & 0x01); // QR, AA, RD copied
  out[3] = 0;
  out[7] = 1; // ANCOUNT 1 (QDCOUNT, NSCOUNT, ARCOUNT as in the query: 1, 0, 1)
  let w = qEnd;
  out[w++] = 0xc0; out[w++] = 12; // name: pointer to the question
  out[w++] = 0; out[w++] = 1; out[w++] = 0; out[w++] = 1;
  out.writeUInt32BE(d.ttl, w); w += 4;
  out[w++] = 0; out[w++] = 4;
  out[w++] = d.addr[0]; out[w++] = d.addr[1]; out[w++] = d.addr[2]; out[w++] = d.addr[3];
  out[w++] = 0; out[w++] = 0; out[w++] = 41; out[w++] = 0x04; out[w++] = 0xd0; // root, OPT, 1232
  out[w++] = 0; out[w++] = 0; out[w++] = 0; out[w++] = 0; out[w++] = 0; out[w++] = 11;
  msg.copy(out, w, o, o + 11); // the ECS option as received...
  out[w + 7] = 24; // ...with our scope
  return out;
}

const socket = createSocket({ type: 'udp4' });
let fallbacks = 0;
socket.on('message', (msg, rinfo) => {
  let reply = fast(msg);
  if (reply === null) {
    fallbacks++;
    const r = respond(msg, { ...slowCtx, remoteAddress: rinfo.address });
    if (r.kind !== 'reply') return;
    reply = r.bytes;
  }
  socket.send(reply, rinfo.port, rinfo.address);
});
socket.bind({ port: Number(args.port), address: args.host, exclusive: true }, () => {
  process.stdout.write(`${JSON.stringify({ ready: true, host: args.host, port: socket.address().port, pid: process.pid })}\n`);
});

const stop = () => {
  process.stderr.write(`fastpath-sketch: ${cache.size} /24s cached, ${fallbacks} queries on the full path\n`);
  socket.close(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
