// `meridian route --config FILE --client-ip IP`: which region, and why.

import type { Command } from 'commander';
import { clientSubnet, GeoLocator } from '../geo/index.js';
import { regionId, type RegionId } from '../lib/index.js';
import { route, routingTable, type ClientInfo, type RegionHealth } from '../routing/index.js';
import { formatProblem, latencyModel, loadTopologyFile, regionById } from '../topology/index.js';
import { exitInvalid } from './validate.js';

interface RouteOptions {
  config: string;
  clientIp: string;
  down?: string;
  home?: string;
  json?: boolean;
}

export function registerRoute(program: Command): void {
  program
    .command('route')
    .description('show the regions the routing policy ranks for a client, each with its reason and estimated RTT')
    .requiredOption('-c, --config <file>', 'the topology file')
    .requiredOption('--client-ip <ip>', 'the client address (IPv4 or IPv6), as ECS or the resolver would give it')
    .option('--down <regions>', 'comma-separated regions to treat as down')
    .option('--home <region>', 'geo-partitioned: the region the request\'s data is homed in')
    .option('--json', 'print the decision as JSON')
    .action((opts: RouteOptions) => {
      process.exitCode = runRoute(opts);
    });
}

function runRoute(opts: RouteOptions): number {
  const r = loadTopologyFile(opts.config);
  if (!r.ok) {
    for (const p of r.problems) console.error(formatProblem(p, opts.config));
    return exitInvalid;
  }
  const t = r.topology;
  const down: RegionId[] = (opts.down ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '').map(regionId);
  for (const id of [...down, ...(opts.home !== undefined ? [opts.home] : [])]) {
    if (regionById(t, id) === undefined) {
      console.error(`unknown region ${JSON.stringify(id)}; expected one of: ${t.regions.map((x) => x.id).join(', ')}`);
      return exitInvalid;
    }
  }
  // The mmdb rather than the compact index: a one-off lookup, and it names the city.
  const loc = new GeoLocator(undefined, { ipv4: 'mmdb' }).lookup(opts.clientIp);
  if (!loc.known && loc.reason === 'invalid') {
    console.error(`--client-ip: ${JSON.stringify(opts.clientIp)} is not an IP address; expected IPv4 or IPv6, like 81.2.69.160`);
    return exitInvalid;
  }
  const client: ClientInfo = {
    location: loc.known ? { lat: loc.lat, lon: loc.lon, country: loc.country, continent: loc.continent } : null,
    source: loc.known ? 'request' : 'none',
    subnet: clientSubnet(loc.ip) ?? loc.ip,
  };
  const health = new Map<RegionId, RegionHealth>(t.regions.map((x) => [x.id, { up: !down.includes(x.id) }]));
  const decision = route(routingTable(t, latencyModel(t)), {
    client,
    health,
    ...(opts.home !== undefined && { homeRegion: regionId(opts.home) }),
  });

  if (opts.json === true) {
    console.log(JSON.stringify({ client: loc, subnet: client.subnet, ...decision }, null, 2));
    return 0;
  }
  const where = loc.known
    ? `${loc.city ?? 'somewhere'}, ${loc.country} (${loc.continent}) at ${loc.lat.toFixed(2)}, ${loc.lon.toFixed(2)}`
    : `location unknown (${loc.reason})`;
  console.log(`client ${loc.ip}: ${where}`);
  console.log(`policy ${decision.policy}, model ${decision.model}: answer ${decision.answer.join(', ')}`);
  console.log(`  ${decision.summary}`);
  const w = Math.max(...decision.ranked.map((x) => x.region.length));
  decision.ranked.forEach((x, i) => {
    const rtt = x.rttMs === null ? '     ?' : `${x.rttMs.toFixed(0).padStart(4)} ms`;
    console.log(`${String(i + 1).padStart(3)}. ${x.region.padEnd(w)}  ${x.up ? 'up  ' : 'DOWN'}  ${rtt}  ${x.reason}`);
  });
  return 0;
}
