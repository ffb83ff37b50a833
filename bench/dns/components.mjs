// Per-query cost of each stage of Meridian's DNS answer, in one process, no sockets: how
// many microseconds of the budget the geolocation, the routing decision, the policy
// callback as a whole, dns-packet's decode, respond() (the whole pure path: parse,
// EDNS/ECS, lookup, policy, encode) and the fast path the server puts in front of it
// take. Complements the CPU profile with plain numbers.
//
//   node bench/dns/components.mjs QUERIES.bin [--config examples/world.yaml] [--ms 1500]
//
// QUERIES.bin is dnsperf's -B format (2-byte length, then the message), as run.mjs writes it.
// Prints one JSON object: { stage: { usPerOp, opsPerSec } }, the last ones "what-if"s:
// the same code with one cost taken away in memory (src/ is not touched).

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import dnsPacket from 'dns-packet';
import { compileZone, FastPath, respond, serveQuery } from '../../dist/dns/index.js';
import { clientSubnet } from '../../dist/geo/index.js';
import { route } from '../../dist/routing/index.js';
import { nodeDns } from './meridian-node-dns.mjs';

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    config: { type: 'string', default: fileURLToPath(new URL('../../examples/world.yaml', import.meta.url)) },
    ms: { type: 'string', default: '1500' },
  },
});
if (positionals.length !== 1) {
  console.error('usage: node bench/dns/components.mjs QUERIES.bin [--config FILE] [--ms 1500]');
  process.exit(2);
}

const blob = readFileSync(positionals[0]);
const queries = [];
for (let off = 0; off + 2 <= blob.length; ) {
  const len = blob.readUInt16BE(off);
  queries.push(blob.subarray(off + 2, off + 2 + len));
  off += 2 + len;
}
/** The ECS address of each query (the last 3 bytes of our fixed layout: a /24). */
const clients = queries.map((q) => ({ ip: `${q[q.length - 3]}.${q[q.length - 2]}.${q[q.length - 1]}.0`, prefixLength: 24, source: 'ecs' }));

const node = nodeDns(args.config);
node.geo.preload(4);
const options = node.serverOptions('127.0.0.1', 0);
const zone = compileZone(options);
/** As DnsServer.handle() builds it for a UDP query (the rate limiter's take() aside). */
const ctx = { zone, answer: options.answer, transport: 'udp', remoteAddress: '127.0.0.1', maxUdpPayloadBytes: options.maxUdpPayload, amplificationFactor: options.amplificationFactor, truncate: false };
const health = new Map(node.topology.regions.map((r) => [r.id, { up: true }]));
const locs = clients.map((c) => {
  const loc = node.geo.lookup(c.ip);
  return loc.known ? { lat: loc.lat, lon: loc.lon, country: loc.country, continent: loc.continent } : null;
});

const budgetMs = Number(args.ms);
let sink = 0;
/** Runs fn(i) over the inputs round-robin for about budgetMs, after a short warm-up. */
function time(fn) {
  const n = queries.length;
  for (let i = 0; i < Math.min(n, 5000); i++) fn(i);
  let ops = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(budgetMs) * 1_000_000n;
  let now = start;
  while (now < deadline) {
    for (let k = 0; k < 1000; k++) fn((ops + k) % n);
    ops += 1000;
    now = process.hrtime.bigint();
  }
  const us = Number(now - start) / 1000 / ops;
  return { usPerOp: Math.round(us * 100) / 100, opsPerSec: Math.round(1e6 / us) };
}

// A typical reply, encoded the way respond() has dns-packet do it.
const replyPacket = {
  type: 'response',
  id: 1,
  flags: 0x8400,
  questions: [],
  answers: [{ type: 'A', name: 'www.shop.example.test', ttl: 30, class: 'IN', data: '127.0.5.1' }],
  additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [{ code: 8, data: Buffer.from([0, 1, 24, 24, 81, 2, 69]) }] }],
};
const routeQuery = (i) => ({ client: { location: locs[i], source: 'ecs', subnet: `${clients[i].ip}/24` }, health });

const out = {
  'geo.lookup (GeoLocator, IPv4 /24)': time((i) => (sink += node.geo.lookup(clients[i].ip).known ? 1 : 0)),
  'clientSubnet() (ipaddr.js parse, CIDR, string)': time((i) => (sink += clientSubnet(clients[i].ip, 24, 56).length)),
  'route() (latency policy, 6 regions)': time((i) => (sink += route(node.table, routeQuery(i)).answer.length)),
  'policy decision, uncached (node computeDnsAnswer: geo + route + addresses)': time((i) => (sink += node.computeDnsAnswer(4, clients[i]).addresses.length)),
  'policy callback, cached (node dnsAnswer: subnet key + cache hit)': time((i) => (sink += node.dnsAnswer(4, clients[i]).addresses.length)),
  'dns-packet decode (query)': time((i) => (sink += dnsPacket.decode(queries[i]).questions.length)),
  'dns-packet encode (A + OPT with ECS)': time(() => (sink += dnsPacket.encode(replyPacket).length)),
  'respond() (whole pure path)': time((i) => (sink += respond(queries[i], ctx).kind.length)),
};
{
  // What DnsServer.handle() runs (the rate limiter's take() aside): the fast path for these
  // queries, with the node's cached policy answers and their pre-encoded records.
  const fast = new FastPath(zone);
  out['serveQuery() (fast path: hand parse, cached policy, pre-encoded answer)'] = time((i) => (sink += serveQuery(queries[i], ctx, fast).kind.length));
}

// What-ifs, measured without touching src/: the same route() with the latency model's
// nearestAnchor() computed once per query instead of once per region (an in-memory patch
// of this process's LatencyModel instance), and a per-/24 decision cache hit.
{
  const model = node.table.latency;
  const original = model.nearestAnchor;
  let lastPoint = null;
  let lastAnchor;
  model.nearestAnchor = function (p) {
    if (p !== lastPoint) {
      lastPoint = p;
      lastAnchor = original.call(this, p);
    }
    return lastAnchor;
  };
  out['what-if: route() with nearestAnchor once per query'] = time((i) => (sink += route(node.table, routeQuery(i)).answer.length));
  out['what-if: respond() with nearestAnchor once per query'] = time((i) => (sink += respond(queries[i], ctx).kind.length));
  model.nearestAnchor = original;
  delete model.nearestAnchor; // back to the prototype's
  const cache = new Map();
  for (const c of clients) cache.set(c.ip, node.dnsAnswer(4, c));
  out['what-if: policy callback as a per-/24 cache hit'] = time((i) => (sink += cache.get(clients[i].ip).addresses.length));
  const cachedCtx = { ...ctx, answer: (_n, _f, client) => cache.get(client.ip) ?? node.dnsAnswer(4, client) };
  out['what-if: respond() with the policy answer cached per /24'] = time((i) => (sink += respond(queries[i], cachedCtx).kind.length));
}
process.stdout.write(`${JSON.stringify({ ...out, sink: sink > 0 })}\n`);
