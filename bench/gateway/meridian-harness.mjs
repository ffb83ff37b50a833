// Meridian's gateway as a region node runs it, alone in a process, for the benchmark: a
// RegionNode from dist/ with roles ['gateway'] (the mesh/admin server always runs; no DNS),
// exactly as `meridian node --roles gateway` builds it (src/cli/node.ts), on the topology
// file the runner writes (one region whose `app` is the benchmark's origin).
//
//   MERIDIAN_MESH_SECRET=... node --max-semi-space-size=4 bench/gateway/meridian-harness.mjs \
//       --config FILE --region ID [--http-port 0] [--what-if no-cache-stage,no-metrics,origin-only]
//
// --what-if (diagnosis only, never the benchmark's Meridian row): after start(), patches this
// process's gateway object in memory (src/ is untouched) to measure what a stage costs:
//   no-cache-stage  the stages without the cache (as if the cache were skipped for requests
//                   it cannot serve or store);
//   origin-only     no cache, home or replay stage: Gateway.handle() straight to the local app;
//   no-metrics      no per-request Prometheus counter and histogram (onRequest).
//
// Prints one JSON line {"ready":true,"http":"host:port","mesh":"host:port","pid":P} on
// stdout once it listens. Stops (and exits 0, so that `node --cpu-prof` writes its profile)
// on SIGTERM, SIGINT, or when standard input closes (its parent died).

import { parseArgs } from 'node:util';
import { createLogger, regionId } from '../../dist/lib/index.js';
import { Gateway } from '../../dist/gateway/index.js';
import { origin } from '../../dist/gateway/stages/origin.js';
import { RegionNode } from '../../dist/node/index.js';
import { formatProblem, loadTopologyFile } from '../../dist/topology/index.js';

const { values: args } = parseArgs({
  options: {
    config: { type: 'string' },
    region: { type: 'string' },
    'http-port': { type: 'string', default: '0' },
    'what-if': { type: 'string', default: '' },
  },
});
if (args.config === undefined || args.region === undefined) {
  console.error('meridian-harness: --config and --region are required');
  process.exit(2);
}

const r = loadTopologyFile(args.config);
if (!r.ok) {
  for (const p of r.problems) console.error(formatProblem(p, args.config));
  process.exit(2);
}
const t = r.topology;
const secret = process.env[t.file.security.mesh_secret_env];
if (secret === undefined || secret.length < 16) {
  console.error(`meridian-harness: set ${t.file.security.mesh_secret_env} (16+ characters)`);
  process.exit(2);
}
const logger = createLogger('meridian-node', { region: args.region });
const node = new RegionNode({
  topology: t,
  region: regionId(args.region),
  meshSecret: secret,
  httpPort: Number(args['http-port']),
  dnsPort: t.file.node.dns_port,
  roles: ['gateway'],
  drainTimeoutMs: t.file.node.drain_timeout,
  logger,
});
const addrs = await node.start();

const whatIf = args['what-if'].split(',').filter((x) => x !== '');
for (const w of whatIf) {
  // TypeScript's `private` is not enforced at run time: the node's gateway and the gateway's
  // options and composed stages are reachable here, and only here.
  const g = node.gateway;
  if (w === 'no-cache-stage') g.run = new Gateway({ ...g.o, cache: undefined }).run;
  else if (w === 'origin-only') {
    const o = g.o;
    g.run = origin({ self: o.region, app: g.app, appUp: o.appUp, failoverCandidates: o.failoverCandidates, mesh: o.mesh, timeoutMs: o.limits.upstreamTimeoutMs, maxForwardAttempts: o.maxForwardAttempts });
  } else if (w === 'no-metrics') g.o = { ...g.o, onRequest: undefined };
  else {
    console.error(`meridian-harness: unknown --what-if ${w}`);
    process.exit(2);
  }
}

let stopping = false;
async function stop(code) {
  if (stopping) return;
  stopping = true;
  setTimeout(() => process.exit(code), 4900).unref();
  await node.stop().catch(() => {});
  process.exit(code);
}
process.on('SIGTERM', () => void stop(0));
process.on('SIGINT', () => void stop(0));
process.stdin.on('end', () => void stop(0));
process.stdin.on('error', () => void stop(0));
process.stdin.resume();

process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid, http: addrs.http, mesh: addrs.mesh, execArgv: process.execArgv, whatIf })}\n`);
