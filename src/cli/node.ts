// `meridian node --config FILE --region ID`: one region, in production or in the world.

import { mkdirSync } from 'node:fs';
import type { Command } from 'commander';
import { openCoordinator, parseCoordAddress } from '../coord/index.js';
import { createLogger, regionId, type RegionId } from '../lib/index.js';
import type { MeshAddress } from '../mesh/index.js';
import { RegionNode } from '../node/index.js';
import { formatProblem, loadTopologyFile, regionById, type NodeRole } from '../topology/index.js';
import { exitInvalid } from './validate.js';

interface NodeOptions {
  config: string;
  region: string;
  httpPort?: string;
  dnsPort?: string;
  roles?: string;
  meshVia?: string;
  dataDir?: string;
  exitWithParent?: boolean;
  coord?: string;
  clockSkew?: string;
}

export const minSecretLength = 16;

export function registerNode(program: Command): void {
  program
    .command('node')
    .description('run one region node: gateway, DNS and the mesh/admin server')
    .requiredOption('-c, --config <file>', 'the topology file')
    .requiredOption('-r, --region <id>', 'which region this node is')
    .option('--http-port <port>', 'gateway port on the public address (default: node.http_port, 8080)')
    .option('--dns-port <port>', 'DNS port, UDP and TCP, on the public address (default: node.dns_port, 5353)')
    .option('--roles <roles>', 'comma-separated roles besides the mesh: dns, gateway (default: node.roles)')
    .option('--mesh-via <map>', 'dial peers through other addresses: region=host:port,... (the local world\'s WAN relays)')
    .option('--data-dir <dir>', 'where the region keeps its store (created if missing)', './meridian-data')
    .option('--clock-skew <ms>', 'add this many ms to the node\'s clock (drills: clock safety)')
    .option('--coord <host:port>', 'the embedded coordinator\'s address (coord.kind embedded; meridian dev passes it)')
    .option('--exit-with-parent', 'exit when standard input closes (a supervisor that dies takes its nodes along)')
    .action(async (opts: NodeOptions) => {
      process.exitCode = await runNode(opts);
    });
}

function fail(message: string): number {
  console.error(`meridian node: ${message}`);
  return exitInvalid;
}

function parsePort(flag: string, v: string | undefined, fallback: number): number | string {
  if (v === undefined) return fallback;
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 && n <= 65535 ? n : `${flag}: ${JSON.stringify(v)} is not a port; expected 0..65535`;
}

export function parseMeshVia(text: string | undefined): Map<RegionId, MeshAddress> | string {
  const out = new Map<RegionId, MeshAddress>();
  for (const part of (text ?? '').split(',').filter((s) => s.trim() !== '')) {
    const m = /^([a-z0-9-]+)=(\[[0-9a-f:.]+\]|[0-9.]+):(\d+)$/i.exec(part.trim());
    if (m === null) return `--mesh-via: ${JSON.stringify(part)} is not region=host:port`;
    out.set(regionId(m[1] as string), { host: (m[2] as string).replace(/^\[|\]$/g, ''), port: Number(m[3]) });
  }
  return out;
}

async function runNode(opts: NodeOptions): Promise<number> {
  const r = loadTopologyFile(opts.config);
  if (!r.ok) {
    for (const p of r.problems) console.error(formatProblem(p, opts.config));
    return exitInvalid;
  }
  const t = r.topology;
  if (regionById(t, opts.region) === undefined) return fail(`--region: unknown region ${JSON.stringify(opts.region)}; expected one of ${t.regions.map((x) => x.id).join(', ')}`);
  const envName = t.file.security.mesh_secret_env;
  const secret = process.env[envName];
  if (secret === undefined || secret.length < minSecretLength) {
    return fail(`the mesh secret is missing: set ${envName} to a random string of at least ${minSecretLength} characters, the same in every region (security.mesh_secret_env)`);
  }
  const httpPort = parsePort('--http-port', opts.httpPort, t.file.node.http_port);
  const dnsPort = parsePort('--dns-port', opts.dnsPort, t.file.node.dns_port);
  if (typeof httpPort === 'string') return fail(httpPort);
  if (typeof dnsPort === 'string') return fail(dnsPort);
  const roles = opts.roles === undefined ? t.file.node.roles : opts.roles.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const badRole = roles.find((x) => x !== 'dns' && x !== 'gateway');
  if (badRole !== undefined) return fail(`--roles: unknown role ${JSON.stringify(badRole)}; expected dns, gateway`);
  const meshDial = parseMeshVia(opts.meshVia);
  if (typeof meshDial === 'string') return fail(meshDial);

  const tokenEnv = t.file.security.app_token_env;
  const appToken = process.env[tokenEnv];
  if (appToken !== undefined && appToken.length < minSecretLength) return fail(`${tokenEnv} is too short: the application token needs at least ${minSecretLength} characters`);
  const dataDir = opts.dataDir ?? './meridian-data';
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  } catch (e) {
    return fail(`--data-dir: cannot create ${dataDir}: ${(e as Error).message}`);
  }

  const skew = opts.clockSkew === undefined ? 0 : Number(opts.clockSkew);
  if (!Number.isInteger(skew) || Math.abs(skew) > 86_400_000) return fail(`--clock-skew: ${JSON.stringify(opts.clockSkew)} is not a whole number of ms within a day`);
  const coordAddress = opts.coord === undefined ? undefined : parseCoordAddress(opts.coord);
  if (typeof coordAddress === 'string') return fail(coordAddress);
  const coord = openCoordinator(t.file.coord, { secret, from: opts.region, ...(coordAddress !== undefined && { address: coordAddress }) });

  const logger = createLogger('meridian-node', { region: opts.region });
  if (typeof coord === 'string') logger.warn(`no coordinator: ${coord}`);
  if (appToken === undefined) logger.warn(`${tokenEnv} is not set: applications cannot use the data API (only the mesh can)`);
  let node: RegionNode;
  try {
    node = new RegionNode({
    topology: t,
    region: regionId(opts.region),
    meshSecret: secret,
    meshDial,
    httpPort,
    dnsPort,
    roles: roles as NodeRole[],
    drainTimeoutMs: t.file.node.drain_timeout,
    logger,
    dataDir,
    ...(appToken !== undefined && { appToken }),
    ...(typeof coord !== 'string' && { coord }),
    ...(skew !== 0 && { clockSkewMs: skew }),
  });
  } catch (e) {
    return fail(`cannot open region ${opts.region}'s store in ${dataDir}: ${(e as Error).message}`);
  }
  try {
    await node.start();
  } catch (e) {
    logger.error({ err: (e as Error).message }, 'start failed');
    await node.stop();
    return fail(`cannot start region ${opts.region}: ${(e as Error).message}`);
  }
  await new Promise<void>((resolve) => {
    const stop = (why: string): void => {
      logger.info(`stopping (${why})`);
      // A hard deadline: whatever the drain does, the process is gone within 5 s.
      setTimeout(() => process.exit(0), 4900).unref();
      void node.stop().then(async () => {
        if (typeof coord !== 'string') await coord.close().catch(() => undefined);
      }).then(resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    if (opts.exitWithParent === true) {
      process.stdin.on('end', () => stop('parent gone'));
      process.stdin.on('error', () => stop('parent gone'));
      process.stdin.resume();
    }
  });
  // Stopped and drained: exit now rather than wait for stray handles (stdin, pools).
  process.exit(0);
}
