// Meridian's authoritative DNS as a region node runs it, alone in a process, for the
// benchmark: the same DnsServer, zone, SOA/NS and policy callback that src/node/node.ts
// builds (see meridian-node-dns.mjs), every region up.
//
//   node bench/dns/meridian-harness.mjs [--config examples/world.yaml] [--host 127.0.0.1] [--port 0]
//
// Prints one JSON line {"ready":true,"port":N,"pid":P,...} on stdout once it listens.
// Stops (and exits 0, so that `node --cpu-prof` writes its profile) on SIGTERM, SIGINT, or
// when standard input closes (its parent died).

import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DnsServer } from '../../dist/dns/index.js';
import { nodeDns } from './meridian-node-dns.mjs';

const { values: args } = parseArgs({
  options: {
    config: { type: 'string', default: fileURLToPath(new URL('../../examples/world.yaml', import.meta.url)) },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
  },
});

let node;
try {
  node = nodeDns(args.config);
} catch (e) {
  console.error(`meridian-harness: ${e.message}`);
  process.exit(2);
}
let errors = 0;
const options = node.serverOptions(args.host, Number(args.port), () => errors++);
const server = new DnsServer(options);
node.geo.preload(4); // as RegionNode.start() does for the dns role
const ports = await server.start();

let stopping = false;
async function stop(code) {
  if (stopping) return;
  stopping = true;
  await server.stop().catch(() => {});
  process.stderr.write(`meridian-harness stats: ${JSON.stringify({ ...server.stats(), errors })}\n`);
  process.exit(code);
}
process.on('SIGTERM', () => void stop(0));
process.on('SIGINT', () => void stop(0));
process.stdin.on('end', () => void stop(0));
process.stdin.on('error', () => void stop(0));
process.stdin.resume();

process.stdout.write(`${JSON.stringify({
  ready: true,
  host: args.host,
  port: ports.udpPort,
  pid: process.pid,
  zone: node.zone,
  regions: node.topology.regions.map((r) => r.id),
  policy: node.table.policy,
  geoIpv4: node.geo.ipv4Source ?? null, // newer GeoLocators say what IPv4 is answered from
  rateLimit: options.rateLimit,
  amplificationFactor: options.amplificationFactor,
  maxUdpPayload: options.maxUdpPayload,
})}\n`);
