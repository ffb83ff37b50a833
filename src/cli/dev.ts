// `meridian dev`: a whole world on this machine, with a live view and a report.

import type { Command } from 'commander';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadRegionCatalog } from '../geo/index.js';
import { formatDurationMs, parseDurationMs } from '../lib/index.js';
import { buildReport, defaultWorldRegions, renderReport, renderView, startControl, World, worldTopologyFile, yamlOf } from '../world/index.js';
import { exitInvalid } from './validate.js';

interface DevOptions {
  config?: string;
  regions?: string;
  users: string;
  duration?: string;
  json?: boolean;
  seed: string;
  controlPort: string;
  dir?: string;
  think: string;
  loopbackOctet: string;
}

export function registerDev(program: Command): void {
  program
    .command('dev')
    .description('run a local world: every region as real processes on loopback, an emulated WAN, simulated users, a live view')
    .option('-c, --config <file>', 'a topology with loopback addresses (default: a built-in world)')
    .option('--regions <ids>', `comma-separated region ids for the built-in world (default: ${defaultWorldRegions.join(',')})`)
    .option('--users <n>', 'simulated users', '60')
    .option('--duration <d>', 'stop after this long (like 30s, 5m); default: until Ctrl-C')
    .option('--json', 'print the final report as JSON on stdout (the live view goes to stderr)')
    .option('--seed <n>', 'seed for the population and the WAN jitter', '1')
    .option('--control-port <port>', 'the supervisor\'s control endpoint on 127.0.0.1 (0: any free port)', '7999')
    .option('--dir <dir>', 'where the run\'s topology, logs and world.json go (default: .meridian/run-<time>)')
    .option('--think <d>', 'mean pause between one user\'s requests', '1s')
    .option('--loopback-octet <n>', 'built-in world: regions on 127.N.i.1, WAN relays on 127.(N+1).i.j', '0')
    .action(async (opts: DevOptions) => {
      process.exitCode = await runDev(opts);
    });
}

function fail(message: string): number {
  console.error(`meridian dev: ${message}`);
  return exitInvalid;
}

async function runDev(opts: DevOptions): Promise<number> {
  const users = Number(opts.users);
  if (!Number.isInteger(users) || users < 0 || users > 10_000) return fail(`--users: expected 0..10000, got ${opts.users}`);
  const seed = Number(opts.seed);
  if (!Number.isInteger(seed)) return fail(`--seed: expected an integer, got ${opts.seed}`);
  const durationMs = opts.duration === undefined ? null : parseDurationMs(opts.duration);
  if (durationMs === null && opts.duration !== undefined) return fail(`--duration: ${JSON.stringify(opts.duration)} is not a duration; expected like 30s or 5m`);
  const thinkMs = parseDurationMs(opts.think);
  if (thinkMs === null || thinkMs < 10) return fail(`--think: expected a duration of at least 10ms, got ${opts.think}`);
  const controlPort = Number(opts.controlPort);
  if (!Number.isInteger(controlPort) || controlPort < 0 || controlPort > 65535) return fail(`--control-port: expected 0..65535`);
  const octet = Number(opts.loopbackOctet);
  if (!Number.isInteger(octet) || octet < 0 || octet > 254) return fail('--loopback-octet: expected 0..254');
  if (opts.config !== undefined && opts.regions !== undefined) return fail('--config and --regions do not go together: the config names its regions');

  let topologyYaml: string;
  if (opts.config !== undefined) {
    if (!existsSync(opts.config)) return fail(`--config: no such file ${opts.config}`);
    topologyYaml = readFileSync(opts.config, 'utf8');
  } else {
    const ids = (opts.regions ?? defaultWorldRegions.join(',')).split(',').map((s) => s.trim()).filter((s) => s !== '');
    try {
      topologyYaml = yamlOf(worldTopologyFile(ids, loadRegionCatalog(), octet));
    } catch (e) {
      return fail((e as Error).message);
    }
  }
  const runDir = resolve(opts.dir ?? join('.meridian', `run-${new Date().toISOString().replace(/[:.]/g, '-')}`));

  let world: World;
  try {
    world = new World({ topologyYaml, users, seed, runDir, thinkMs, relayOctet: octet + 1 });
  } catch (e) {
    return fail((e as Error).message);
  }
  // Whatever happens to this process, the world's processes go with it.
  process.on('exit', () => world.killAllNow());

  const out = opts.json === true ? process.stderr : process.stdout;
  const tty = out.isTTY === true;
  const say = (s: string): void => void out.write(`${s}\n`);
  say(`meridian dev: starting ${world.topology.regions.length} regions (${world.regionIds().join(', ')}), ${users} users; logs in ${runDir}`);

  let control: Awaited<ReturnType<typeof startControl>>;
  try {
    control = await startControl(world, '127.0.0.1', controlPort);
  } catch (e) {
    return fail(`cannot open the control endpoint on 127.0.0.1:${controlPort} (${(e as Error).message}); is another world running? Use --control-port 0`);
  }
  writeFileSync(join(runDir, 'world.json'), JSON.stringify({ control: control.url, token: world.secret, regions: world.regionIds(), supervisorPid: process.pid }, null, 2));

  let stopping: ((why: string) => void) | undefined;
  const stopped = new Promise<string>((r) => (stopping = r));
  const onSignal = (sig: string): void => stopping?.(sig);
  process.once('SIGINT', () => onSignal('Ctrl-C'));
  process.once('SIGTERM', () => onSignal('SIGTERM'));

  try {
    await world.start();
  } catch (e) {
    say(`meridian dev: the world did not start: ${(e as Error).message}`);
    await world.stop();
    control.server.close();
    return 1;
  }
  say(`meridian dev: world up; control endpoint ${control.url} (token in ${join(runDir, 'world.json')})`);
  if (durationMs !== null) setTimeout(() => stopping?.(`--duration ${formatDurationMs(durationMs)}`), durationMs).unref();

  const tick = setInterval(() => void redraw(), 1000);
  let lastLinesPrinted = 0;
  let ticks = 0;
  async function redraw(): Promise<void> {
    await world.sample(800);
    const text = renderView({
      elapsedSec: (Date.now() - world.startedMs) / 1000,
      durationSec: durationMs === null ? null : durationMs / 1000,
      users,
      rows: world.regionIds().map((id) => ({ region: id, health: world.health.get(id) ?? '?', window: world.stats.byRegion.get(id) })),
      total: world.stats.total,
      windowSec: 1,
      lastEvents: world.events.slice(-4).map((e) => `${((e.atMs - world.startedMs) / 1000).toFixed(1)}s ${e.kind}: ${e.detail}`),
      control: control.url,
      data: world.data.snapshot(),
    });
    world.stats.nextWindow();
    if (tty) {
      out.write(`${lastLinesPrinted > 0 ? `\x1b[${lastLinesPrinted}A\x1b[J` : ''}${text}\n`);
      lastLinesPrinted = text.split('\n').length;
    } else if (ticks % 5 === 0) {
      // Not a terminal (a log, CI): the view every 5 s rather than a redraw every second.
      say(text);
    }
    ticks++;
  }

  const why = await stopped;
  clearInterval(tick);
  say(`meridian dev: stopping (${why})`);
  await world.sample(800); // the last counts and lags, for the report
  const states = Object.fromEntries(world.regions.map((r) => [r.wr.region.id, r.node.state === 'running' ? world.health.get(r.wr.region.id) ?? 'up' : r.node.state]));
  await world.stop();
  control.server.close();
  const report = buildReport(world.stats, states, world.startedMs, Date.now(), world.events, world.data.report((Date.now() - world.startedMs) / 1000));
  writeFileSync(join(runDir, 'report.json'), JSON.stringify(report, null, 2));
  if (opts.json === true) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else say(renderReport(report));
  return 0;
}
