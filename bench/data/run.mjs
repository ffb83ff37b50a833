#!/usr/bin/env node
// bench/data: Meridian's data path on this machine, in one run (DESIGN.md §8, issue #6).
//
//   npm run build && node bench/data/run.mjs [options]     (--help for the options)
//
// 1. Local-commit write throughput. A real `meridian node` (bin/meridian.js, roles [] —
//    the mesh/admin server with the data API only; durability fsync, the default) pinned to
//    the last CPU, loaded by wrk (put.lua: PUTs of distinct keys with ~100-byte JSON values
//    to a `writes: anywhere` global table, keep-alive, 128 connections) pinned to CPU 0.
//    Twice: a node alone (a one-region topology) and a node in a three-region set (its two
//    peers, on CPU 0 beside wrk, receive its replication stream over the mesh directly, no
//    WAN emulation), alternating ABBA. Per run: writes/s, latency, the node's CPU µs per
//    write, its RSS, writes per transaction (/status data.writes: committed / batches), and
//    for the set how long the peers took to catch up. The anchor, same run, same CPU:
//    bare better-sqlite3 (anchor.mjs) inserting the same rows with the same pragmas in
//    transactions of the batch size the node was measured to use.
// 2. Replication lag. A local world from dist/world (the World supervisor `meridian dev`
//    runs: one node process per region, the example application, the WAN relays holding
//    each chunk for half the measured RTT, ±1 ms jitter), three regions, no users, roles [].
//    pace.mjs writes at a fixed open-loop rate to every region (its own keys, the same
//    global table) for a warm-up and a measured window. Per ordered pair (source → dest):
//    the link's RTT, lag p50/p99 from the destination's /status (its window of the last
//    1,024 changes, sampled every second) and from the /metrics histogram (per applied
//    batch, the batch's oldest change), against RTT + 25 ms.
//
// Writes bench/data/last-run.json. Everything listens on 127.60–127.63.x.x; every process
// is stopped at the end, on Ctrl-C, on errors (and, through setpriv --pdeathsig and the
// world's --exit-with-parent, if this process is killed).

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { release, totalmem } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuLayout, cpuMeter, exited, has, log, machineBusyTicks, machineTicks, clkTck, memory, processes, round, runnerOptions, sleep, treeTicks, waitQuiet } from '../lib.mjs';
// The flags a region node runs with (dist: run `npm run build` first, as the benchmark says).
import { regionNodeV8Flags } from '../../dist/world/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');

const usage = `usage: node bench/data/run.mjs [options]
  --duration S        seconds of wrk load per node per round (default 10)
  --rounds R          throughput rounds, alone and set alternating ABBA (default 2)
  --warmup S          seconds of unmeasured wrk load per node first (default 3)
  --connections C     wrk -c (default 128: group commit waits for the previous batch's
                      fsync, so the writes in flight make its batches; 64 made ~30 per
                      transaction, 128 ~55, at less CPU per write)
  --anchor-seconds S  seconds per anchor run (default 4)
  --lag-regions N     regions in the lag world, 2..4 (default 3: us-east-1, eu-west-1,
                      ap-southeast-1; 4 adds us-west-2)
  --lag-rate N        writes/s per region in the lag world (default 1000)
  --lag-warmup S      seconds of paced writes before the lag window (default 5)
  --lag-seconds S     seconds of the measured lag window (default 25)
  --no-throughput     skip part 1
  --no-lag            skip part 2
  --no-what-if        skip the second lag world (the what-if)
  --what-if-replication YAML
                      the what-if world's data.replication (default '{ anti_entropy: 0 }':
                      anti-entropy off)
  --survive-rate N    writes/s per home table per home region in the survive: region world
                      (default 100: 200 writes/s per home, half survive: region, half survive: zone)
  --survive-seconds S seconds of the measured survive window (default 15, after 3 s warm-up)
  --survive-jitter MS the WAN emulator's jitter in the survive world (default 2, as in the
                      other worlds; 0 shows the overhead against the nominal RTT alone)
  --takeover-reps N   SIGKILLs of the home per lease TTL (default 3)
  --takeover-ttls L   lease TTLs, comma-separated (default 2s,1s)
  --takeover-rate N   writes/s through the third region during a takeover run (default 200)
  --no-survive        skip part 3 (survive: region write latency)
  --no-takeover       skip part 4 (takeover after the home's loss)
  --quiet-timeout S   before each measured part, wait up to S s for the machine to be quiet
                      (every process together ≤ 25% of a CPU over 3 s; default 300)
  --no-pin            do not pin with taskset
  --out FILE          results (default bench/data/last-run.json)`;

const { args, num } = runnerOptions(usage, {
  duration: { type: 'string', default: '10' },
  rounds: { type: 'string', default: '2' },
  warmup: { type: 'string', default: '3' },
  connections: { type: 'string', default: '128' },
  'anchor-seconds': { type: 'string', default: '4' },
  'lag-regions': { type: 'string', default: '3' },
  'lag-rate': { type: 'string', default: '1000' },
  'lag-warmup': { type: 'string', default: '5' },
  'lag-seconds': { type: 'string', default: '25' },
  'no-throughput': { type: 'boolean', default: false },
  'no-lag': { type: 'boolean', default: false },
  'no-pin': { type: 'boolean', default: false },
  'survive-rate': { type: 'string', default: '100' },
  'survive-seconds': { type: 'string', default: '15' },
  'survive-jitter': { type: 'string', default: '2' },
  'takeover-reps': { type: 'string', default: '3' },
  'takeover-ttls': { type: 'string', default: '2s,1s' },
  'takeover-rate': { type: 'string', default: '200' },
  'no-survive': { type: 'boolean', default: false },
  'quiet-timeout': { type: 'string', default: '300' },
  'no-takeover': { type: 'boolean', default: false },
  'no-what-if': { type: 'boolean', default: false },
  'what-if-replication': { type: 'string', default: '{ anti_entropy: 0 }' },
  out: { type: 'string', default: join(here, 'last-run.json') },
});
const settings = {
  durationSec: num('duration', 1),
  rounds: num('rounds', 1),
  warmupSec: num('warmup', 0),
  connections: num('connections', 1),
  anchorSec: num('anchor-seconds', 1),
  lagRegions: num('lag-regions', 2, 4),
  lagRate: num('lag-rate', 1),
  lagWarmupSec: num('lag-warmup', 0),
  lagSec: num('lag-seconds', 1),
  surviveRate: num('survive-rate', 1),
  surviveSec: num('survive-seconds', 1),
  surviveJitterMs: num('survive-jitter', 0),
  takeoverReps: num('takeover-reps', 1),
  takeoverTtls: args['takeover-ttls'].split(',').filter((x) => x !== ''),
  takeoverRate: num('takeover-rate', 1),
  quietTimeoutSec: num('quiet-timeout', 0),
};
const targets = { writesPerSec: 10_000, lagSlackMs: 25, idleRssMiB: 150, surviveSlackMs: 5, missingAcknowledged: 0 };
/** Other processes' CPU (% of one CPU) above which a measured run counts as disturbed. */
const disturbedPct = 25;

if (!args['no-throughput'] && !has('wrk')) {
  console.error('bench/data needs wrk: apt-get update && apt-get install -y wrk');
  process.exit(2);
}
if (!existsSync(join(root, 'dist/world/index.js'))) {
  console.error('dist/ is not built: run `npm run build` first');
  process.exit(2);
}
const { ncpu, pin, serverCpu, clientCpu } = cpuLayout(args['no-pin']);
const meridianBin = join(root, 'bin/meridian.js');
/** As bin/meridian.js's first line (and the local world) runs a node. */
const nodeFlags = [...regionNodeV8Flags, ...(process.env.MERIDIAN_NODE_FLAGS ? process.env.MERIDIAN_NODE_FLAGS.split(' ') : []), ...(process.env.MERIDIAN_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.MERIDIAN_PROF_DIR}`] : [])];

// The world's processes are its supervisor's, not the lab's: kill them on exit before the
// lab removes the directory they write to (listeners run in the order they were added).
let world;
process.on('exit', () => world?.killAllNow());
const lab = processes({ pin, tempPrefix: 'meridian-bench-data-' });
const { start, stop } = lab;

const { sign } = await import('../../dist/mesh/index.js');
const { latencyModel, parseTopology, syncFollower } = await import('../../dist/topology/index.js');
const { loadRegionCatalog } = await import('../../dist/geo/index.js');

// ---------------------------------------------------------------- helpers

const fmtInt = (x) => (x === null || x === undefined || Number.isNaN(x) ? '?' : Math.round(x).toLocaleString('en-US'));
const fmt = (x, d = 1) => (x === null || x === undefined || Number.isNaN(x) ? '?' : x.toFixed(d));

/** A signed GET on a node's mesh server (/status, /metrics), as an operator would. */
async function meshGet(secret, host, path, timeoutMs = 10_000) {
  const r = await fetch(`http://${host}:7070${path}`, { headers: sign(secret, 'operator', 'GET', path, Date.now()), signal: AbortSignal.timeout(timeoutMs) });
  if (r.status !== 200) throw new Error(`${host} ${path}: ${r.status}`);
  return path === '/metrics' ? r.text() : r.json();
}

function topologyYaml(regions, octet, replication = '') {
  return `# generated by bench/data/run.mjs
service: { name: bench, zone: bench.example.test, hosts: [www] }
regions:
${regions.map((id, i) => `  - { id: ${id}, jurisdiction: x${i}, public: 127.${octet}.${i + 1}.1, mesh: "127.${octet}.${i + 1}.1:7070", app: "http://127.${octet}.${i + 1}.1:9000" }`).join('\n')}
deployment: { model: active-active, primary: ${regions[0]} }
node: { roles: [] }
data:
  durability: fsync
${replication}  tables:
    bench: { locality: global, writes: anywhere }
`;
}

const secret = randomBytes(24).toString('base64url');
const token = randomBytes(24).toString('base64url');

async function waitStatus(host, child, what, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}):\n${child.stderrText}`);
    try {
      return await meshGet(secret, host, '/status', 1000);
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`${what} did not answer /status within ${timeoutMs / 1000} s (${e.message}):\n${child.stderrText}`, { cause: e });
      await sleep(200);
    }
  }
}

function startNode(cpu, configPath, region, dataDir) {
  const child = start(cpu, process.execPath, [...nodeFlags, meridianBin, 'node', '--config', configPath, '--region', region, '--data-dir', dataDir, '--exit-with-parent'], {
    env: { ...process.env, MERIDIAN_MESH_SECRET: secret, MERIDIAN_APP_TOKEN: token, MERIDIAN_LOG_LEVEL: 'warn' },
  });
  child.stdout.resume();
  return child;
}

/** Every wait for a quiet machine, for last-run.json. */
const waits = [];

/** Waits (bounded) until the rest of the machine is quiet before a measured part. */
async function quiet(what) {
  const t0 = Date.now();
  const r = await waitQuiet({ maxPct: disturbedPct, windowSec: 3, timeoutSec: settings.quietTimeoutSec, onWait: (pct, sec) => log(`  (${what}: the machine is busy, ${pct}% of a CPU; waiting, ${sec} s so far)`) });
  waits.push({ what, at: new Date(t0).toISOString(), ...r });
  if (!r.quiet) log(`  (${what}: still busy after ${r.waitedSec} s, ${r.lastPct}% of a CPU: measuring anyway)`);
  return r;
}

/** A world's measured window, run again once (after waiting for quiet) when other
 *  processes used more than disturbedPct of a CPU during it; the discarded one is kept. */
async function undisturbed(what, fn) {
  const discarded = [];
  for (let attempt = 0; ; attempt++) {
    await quiet(what);
    const r = await fn();
    if (r.cpu.othersPct <= disturbedPct || attempt === 1) return { ...r, discarded };
    log(`  (others used ${r.cpu.othersPct}% of a CPU during ${what}: run again)`);
    discarded.push({ othersPct: r.cpu.othersPct, result: r });
  }
}

// ---------------------------------------------------------------- part 1: throughput

let wrkSeq = 0;

/** One wrk run of PUTs against a node: wrk's figures, the node's CPU and writes, the peers' CPU. */
async function wrkRun(target, seconds, measured) {
  const prefix = `w${++wrkSeq}`;
  const s0 = await meshGet(secret, target.host, '/status');
  const node0 = treeTicks(target.child.pid);
  const child = start(clientCpu, 'wrk', [`-t1`, `-c${settings.connections}`, `-d${seconds}s`, '--latency', '-s', join(here, 'put.lua'), `http://${target.host}:7070`], {
    env: { ...process.env, BENCH_TOKEN: token, BENCH_PREFIX: prefix, BENCH_TABLE: 'bench' },
  });
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  const meter = cpuMeter({ node: target.child.pid, wrk: child.pid, ...Object.fromEntries(target.peers.map((p) => [p.region, p.child.pid])) });
  let cpu = null;
  const sampler = setTimeout(() => (cpu = meter.read()), Math.max(0, seconds * 1000 - 300));
  const done = await exited(child, (seconds + 20) * 1000);
  clearTimeout(sampler);
  if (!done) {
    await stop(child);
    throw new Error(`wrk did not stop within ${seconds + 20} s`);
  }
  lab.forget(child);
  const node1 = treeTicks(target.child.pid);
  const s1 = await meshGet(secret, target.host, '/status');
  if (child.exitCode !== 0) throw new Error(`wrk exited ${child.exitCode}:\n${stdout}\n${child.stderrText}`);
  const line = stdout.split('\n').find((l) => l.startsWith('WRK-JSON '));
  if (line === undefined) throw new Error(`no WRK-JSON line from wrk:\n${stdout}`);
  const w = JSON.parse(line.slice('WRK-JSON '.length));
  const secs = w.durationUs / 1e6;
  const committed = s1.data.writes.committed - s0.data.writes.committed;
  const batches = s1.data.writes.batches - s0.data.writes.batches;
  const r = {
    node: target.name,
    measured,
    writesPerSec: round(w.requests / secs),
    requests: w.requests,
    seconds: round(secs, 3),
    errors: w.errors,
    p50Ms: round(w.latencyUs.p50 / 1000, 2),
    p90Ms: round(w.latencyUs.p90 / 1000, 2),
    p99Ms: round(w.latencyUs.p99 / 1000, 2),
    p999Ms: round(w.latencyUs.p999 / 1000, 2),
    maxMs: round(w.latencyUs.max / 1000, 1),
    committed,
    batches,
    writesPerTransaction: batches > 0 ? round(committed / batches, 1) : null,
    nodeCpuUsPerWrite: committed > 0 ? round((((node1.user + node1.sys - node0.user - node0.sys) / clkTck) * 1e6) / committed, 1) : null,
    nodeUserUsPerWrite: committed > 0 ? round((((node1.user - node0.user) / clkTck) * 1e6) / committed, 1) : null,
    nodeSysUsPerWrite: committed > 0 ? round((((node1.sys - node0.sys) / clkTck) * 1e6) / committed, 1) : null,
    cpu,
    rssAfterMiB: memory(target.child.pid),
  };
  if (target.peers.length > 0) r.catchUp = await catchUp(target, committed, node0);
  log(`  ${target.name}${measured ? '' : ' (warm-up)'}: ${fmtInt(r.writesPerSec)} writes/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, max ${r.maxMs} ms, errors ${JSON.stringify(w.errors)}, ${r.writesPerTransaction} writes/tx, node ${r.nodeCpuUsPerWrite} µs/write, CPU: ${cpu === null ? '?' : Object.entries(cpu.byName).map(([k, v]) => `${k} ${v?.pct ?? '?'}%`).join(', ')}, others ${cpu?.othersPct ?? '?'}%${r.catchUp ? `, peers caught up in ${r.catchUp.seconds} s (source ${r.catchUp.sourceCpuUsPerWrite} µs/write incl. shipping)` : ''}`);
  return r;
}

/** After a set run: how long until both peers acknowledged everything, and the source's CPU
 *  per write including the shipping that went on after wrk stopped. */
async function catchUp(target, committed, node0) {
  const t0 = Date.now();
  let st;
  for (;;) {
    st = await meshGet(secret, target.host, '/status');
    const pending = Object.values(st.data.replication.outbound).map((o) => o.pending);
    if (pending.every((p) => p === 0) || Date.now() - t0 > 60_000) break;
    await sleep(100);
  }
  const node1 = treeTicks(target.child.pid);
  const pending = Object.fromEntries(Object.entries(st.data.replication.outbound).map(([d, o]) => [d, o.pending]));
  return {
    seconds: round((Date.now() - t0) / 1000, 1),
    pending,
    sourceCpuUsPerWrite: committed > 0 ? round((((node1.user + node1.sys - node0.user - node0.sys) / clkTck) * 1e6) / committed, 1) : null,
  };
}

function anchorRun(batch, schema) {
  const a = [...(pin ? ['taskset', '-c', serverCpu] : []), process.execPath, join(here, 'anchor.mjs'), '--dir', join(lab.workDir(), 'anchor'), '--batch', String(batch), '--seconds', String(settings.anchorSec), '--schema', schema];
  const m0 = machineTicks();
  const t0 = performance.now();
  const r = spawnSync(a[0], a.slice(1), { encoding: 'utf8', timeout: (settings.anchorSec + 30) * 1000 });
  const seconds = (performance.now() - t0) / 1000;
  const m1 = machineTicks();
  if (r.status !== 0) throw new Error(`anchor.mjs failed (${r.status ?? r.signal}):\n${r.stderr}`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop());
  // What the rest of the machine used meanwhile (the anchor's own CPU, and node's start-up
  // of it, subtracted as an estimate: its measured loop's CPU over the whole spawn).
  out.othersPct = round(Math.max(0, (100 * ((m1.processes - m0.processes) / clkTck - (out.cpuUsPerWrite * out.writes) / 1e6)) / seconds), 1);
  log(`  anchor (${schema}, ${batch} writes/tx): ${fmtInt(out.writesPerSec)} writes/s, ${out.cpuUsPerWrite} µs/write, tx p99 ${out.txP99Ms} ms, others ${out.othersPct}% (incl. the anchor's start-up)`);
  return out;
}

function mean(xs) {
  const v = xs.filter((x) => x !== null && x !== undefined);
  return v.length === 0 ? null : v.reduce((s, x) => s + x, 0) / v.length;
}

/** The measured runs of one node, pooled: writes/s over all of them, the rest averaged. */
function pool(runs) {
  const requests = runs.reduce((s, r) => s + r.requests, 0);
  const seconds = runs.reduce((s, r) => s + r.seconds, 0);
  const committed = runs.reduce((s, r) => s + r.committed, 0);
  const batches = runs.reduce((s, r) => s + r.batches, 0);
  const errors = runs.reduce((s, r) => s + Object.values(r.errors).reduce((a, b) => a + b, 0), 0);
  return {
    writesPerSec: round(requests / seconds),
    byRun: runs.map((r) => r.writesPerSec),
    p50Ms: round(mean(runs.map((r) => r.p50Ms)), 2),
    p99Ms: round(mean(runs.map((r) => r.p99Ms)), 2),
    maxMs: Math.max(...runs.map((r) => r.maxMs)),
    errors,
    writesPerTransaction: round(committed / batches, 1),
    nodeCpuUsPerWrite: round(mean(runs.map((r) => r.nodeCpuUsPerWrite)), 1),
    nodeUserUsPerWrite: round(mean(runs.map((r) => r.nodeUserUsPerWrite)), 1),
    nodeSysUsPerWrite: round(mean(runs.map((r) => r.nodeSysUsPerWrite)), 1),
    nodeCpuPct: round(mean(runs.map((r) => r.cpu?.byName.node?.pct)), 0),
    wrkCpuPct: round(mean(runs.map((r) => r.cpu?.byName.wrk?.pct)), 0),
    othersMaxPct: Math.max(...runs.map((r) => r.cpu?.othersPct ?? 0)),
    catchUpSec: runs[0].catchUp === undefined ? null : Math.max(...runs.map((r) => r.catchUp.seconds)),
    sourceCpuUsPerWriteWithShipping: runs[0].catchUp === undefined ? null : round(mean(runs.map((r) => r.catchUp.sourceCpuUsPerWrite)), 1),
    peersCpuPct: runs[0].catchUp === undefined ? null : Object.fromEntries(Object.keys(runs[0].cpu?.byName ?? {}).filter((k) => k !== 'node' && k !== 'wrk').map((k) => [k, round(mean(runs.map((r) => r.cpu?.byName[k]?.pct)), 0)])),
  };
}

async function throughput() {
  const dir = lab.workDir();
  const aloneCfg = join(dir, 'alone.yaml');
  const setCfg = join(dir, 'set.yaml');
  const setRegions = ['us-east-1', 'us-west-2', 'eu-west-1'];
  writeFileSync(aloneCfg, topologyYaml(['us-east-1'], 60));
  writeFileSync(setCfg, topologyYaml(setRegions, 61));

  log('part 1: local-commit write throughput');
  const alone = { name: 'alone', host: '127.60.1.1', child: startNode(serverCpu, aloneCfg, 'us-east-1', join(dir, 'alone')), peers: [] };
  const setPeers = setRegions.slice(1).map((region, i) => ({ region, host: `127.61.${i + 2}.1`, child: startNode(clientCpu, setCfg, region, join(dir, `set-${region}`)) }));
  const set = { name: 'in a set of 3', host: '127.61.1.1', child: startNode(serverCpu, setCfg, 'us-east-1', join(dir, 'set-us-east-1')), peers: setPeers };
  await waitStatus(alone.host, alone.child, 'the lone node');
  await waitStatus(set.host, set.child, 'the set\'s source node');
  for (const p of setPeers) await waitStatus(p.host, p.child, `the set's ${p.region} node`);
  await sleep(2000); // let start-up settle before the idle figures
  const rss = {
    aloneIdle: memory(alone.child.pid),
    setIdle: memory(set.child.pid),
    peersIdle: Object.fromEntries(setPeers.map((p) => [p.region, memory(p.child.pid)])),
  };
  log(`  idle RSS: alone ${rss.aloneIdle?.rssMiB} MiB, set source ${rss.setIdle?.rssMiB} MiB, peers ${Object.values(rss.peersIdle).map((m) => m?.rssMiB).join(', ')} MiB`);

  await quiet('throughput');
  const runs = [];
  if (settings.warmupSec > 0) {
    runs.push(await wrkRun(alone, settings.warmupSec, false));
    runs.push(await wrkRun(set, settings.warmupSec, false));
  }
  const discarded = [];
  for (let round_ = 0; round_ < settings.rounds; round_++) {
    const order = round_ % 2 === 0 ? [alone, set] : [set, alone];
    for (const t of order) {
      // A run during which other processes used more than a quarter of a CPU is done again
      // (twice at most); the last attempt counts whatever it saw, and says so.
      for (let attempt = 0; ; attempt++) {
        const r = await wrkRun(t, settings.durationSec, true);
        if ((r.cpu?.othersPct ?? 0) <= disturbedPct || attempt === 2) {
          runs.push(r);
          break;
        }
        log(`  (others used ${r.cpu.othersPct}% of a CPU during that run: discarded, run again)`);
        discarded.push({ ...r, measured: false, discarded: true });
        await quiet(`throughput ${t.name}, again`);
      }
    }
  }
  rss.aloneAfter = memory(alone.child.pid);
  rss.setAfter = memory(set.child.pid);
  rss.peersAfter = Object.fromEntries(setPeers.map((p) => [p.region, memory(p.child.pid)]));
  const finalStatus = { alone: (await meshGet(secret, alone.host, '/status')).data, set: (await meshGet(secret, set.host, '/status')).data };
  const peerStatus = {};
  for (const p of setPeers) peerStatus[p.region] = (await meshGet(secret, p.host, '/status')).data.replication.inbound['us-east-1'];
  for (const c of [alone.child, set.child, ...setPeers.map((p) => p.child)]) await stop(c);

  const measured = runs.filter((r) => r.measured);
  const pooled = { alone: pool(measured.filter((r) => r.node === alone.name)), set: pool(measured.filter((r) => r.node === set.name)) };

  log('  anchors (bare better-sqlite3, same pragmas, same CPU):');
  const batchSizes = [...new Set([Math.round(pooled.alone.writesPerTransaction), Math.round(pooled.set.writesPerTransaction)])];
  if (batchSizes.length === 2 && Math.abs(batchSizes[0] - batchSizes[1]) / batchSizes[0] < 0.2) batchSizes.pop();
  const anchors = [];
  for (const b of batchSizes) for (const schema of ['plain', 'meridian']) anchors.push(anchorRun(b, schema));
  return { runs, discarded, pooled, anchors, rss, finalStatus, peerStatus };
}

// ---------------------------------------------------------------- part 2: replication lag

/** The lag histogram's cumulative buckets per (source, dest) from /metrics text. */
function lagBuckets(text) {
  const out = {};
  const re = /^meridian_replication_lag_seconds_bucket\{([^}]*)\} (\S+)$/gm;
  for (const m of text.matchAll(re)) {
    const labels = Object.fromEntries([...m[1].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    const k = `${labels.source}>${labels.dest}`;
    (out[k] ??= []).push({ le: labels.le === '+Inf' ? Infinity : Number(labels.le), count: Number(m[2]) });
  }
  return out;
}

/** The q-quantile of a histogram delta, interpolated linearly inside its bucket (as
 *  Prometheus's histogram_quantile does); in ms. */
function histQuantile(buckets, q) {
  const total = buckets[buckets.length - 1]?.count ?? 0;
  if (total === 0) return null;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of buckets) {
    if (b.count >= rank) {
      if (b.le === Infinity) return prevLe * 1000;
      return (prevLe + ((b.le - prevLe) * (rank - prevCount)) / Math.max(1, b.count - prevCount)) * 1000;
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return prevLe * 1000;
}

/** pace.mjs (the open-loop writer) on the client CPU: its child and phase(p, timeoutMs), which
 *  waits for its {"phase": p} line and answers it. */
function startPace(argv, appToken) {
  const child = start(clientCpu, process.execPath, [join(here, 'pace.mjs'), ...argv], { env: { ...process.env, BENCH_TOKEN: appToken } });
  const lines = [];
  let buf = '';
  const waiters = [];
  child.stdout.on('data', (d) => {
    buf += d;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const l = JSON.parse(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
      lines.push(l);
      for (const w of waiters.splice(0)) w();
    }
  });
  const phase = async (p, timeoutMs) => {
    const deadline = Date.now() + timeoutMs;
    while (!lines.some((l) => l.phase === p)) {
      if (child.exitCode !== null) throw new Error(`pace.mjs exited (${child.exitCode}) before ${p}:\n${child.stderrText}`);
      if (Date.now() > deadline) throw new Error(`pace.mjs: no ${p} within ${timeoutMs / 1000} s`);
      await new Promise((r) => {
        waiters.push(r);
        setTimeout(r, 500);
      });
    }
    return lines.find((l) => l.phase === p);
  };
  return { child, phase };
}

async function lagWorld(variant) {
  const { World } = await import('../../dist/world/index.js');
  const regions = ['us-east-1', 'eu-west-1', 'ap-southeast-1', 'us-west-2'].slice(0, settings.lagRegions);
  const yaml = topologyYaml(regions, 62, variant.replicationYaml);
  const parsed = parseTopology(yaml, loadRegionCatalog());
  if (!parsed.ok) throw new Error(`lag world topology: ${JSON.stringify(parsed.problems)}`);
  const model = latencyModel(parsed.topology);
  const runDir = join(lab.workDir(), `world-${variant.name}`);
  mkdirSync(runDir, { recursive: true });
  log(`part 2 (${variant.name}): replication lag — a world of ${regions.length} regions (${regions.join(', ')}), ${settings.lagRate} writes/s per region`);
  world = new World({ topologyYaml: yaml, users: 0, seed: 1, runDir, relayOctet: 63, jitterMs: 2 });
  await world.start();
  const hosts = Object.fromEntries(regions.map((id, i) => [id, `127.62.${i + 1}.1`]));
  const pids = Object.fromEntries(world.regions.flatMap((r) => [[`${r.wr.region.id}/node`, r.node.pid], [`${r.wr.region.id}/app`, r.app.pid]]));
  const wsecret = world.secret;
  const rssIdle = Object.fromEntries(regions.map((id) => [id, memory(pids[`${id}/node`])]));

  const { child: writer, phase } = startPace(['--targets', regions.map((id) => `${id}=${world.dataUrl(id)}`).join(','), '--rate', String(settings.lagRate), '--warmup', String(settings.lagWarmupSec), '--seconds', String(settings.lagSec), '--table', 'bench'], world.appToken);
  await phase('measure', (settings.lagWarmupSec + 10) * 1000);
  const metrics0 = Object.fromEntries(await Promise.all(regions.map(async (id) => [id, lagBuckets(await meshGet(wsecret, hosts[id], '/metrics'))])));
  const status0 = Object.fromEntries(await Promise.all(regions.map(async (id) => [id, (await meshGet(wsecret, hosts[id], '/status')).data])));
  const meter = cpuMeter({ ...pids, writer: writer.pid });
  const self0 = process.cpuUsage();
  // Each destination's /status every second: its window of the last 1,024 changes per source.
  const windows = [];
  const poll = setInterval(() => {
    void Promise.all(regions.map(async (id) => [id, (await meshGet(wsecret, hosts[id], '/status', 900)).data.replication.inbound])).then(
      (xs) => windows.push({ atMs: Date.now(), inbound: Object.fromEntries(xs) }),
      () => windows.push({ atMs: Date.now(), error: true }),
    );
  }, 1000);
  let cpu = null;
  const cpuTimer = setTimeout(() => (cpu = meter.read()), settings.lagSec * 1000 - 200);
  const done = await phase('done', (settings.lagSec + 30) * 1000);
  clearInterval(poll);
  clearTimeout(cpuTimer);
  cpu ??= meter.read();
  const selfCpu = process.cpuUsage(self0);
  cpu.byName['runner (WAN relays)'] = { pct: round(((selfCpu.user + selfCpu.system) / 1e6 / cpu.seconds) * 100, 1) };
  const metrics1 = Object.fromEntries(await Promise.all(regions.map(async (id) => [id, lagBuckets(await meshGet(wsecret, hosts[id], '/metrics'))])));
  const status1 = Object.fromEntries(await Promise.all(regions.map(async (id) => [id, (await meshGet(wsecret, hosts[id], '/status')).data])));
  const rssEnd = Object.fromEntries(regions.map((id) => [id, memory(pids[`${id}/node`])]));
  await exited(writer, 15_000);
  lab.forget(writer);

  // Convergence: every destination has applied everything each source committed.
  const t0 = Date.now();
  let converged = null;
  while (Date.now() - t0 < 30_000) {
    const st = Object.fromEntries(await Promise.all(regions.map(async (id) => [id, (await meshGet(wsecret, hosts[id], '/status')).data])));
    if (regions.every((s) => regions.every((d) => d === s || st[d].replication.inbound[s].applied >= st[s].replication.log.lastSeq))) {
      converged = round((Date.now() - t0) / 1000, 1);
      break;
    }
    await sleep(100);
  }

  const pairs = [];
  for (const src of regions) {
    for (const dst of regions) {
      if (src === dst) continue;
      const rtt = model.regionRtt(src, dst).ms;
      const k = `${src}>${dst}`;
      const b0 = metrics0[dst][k] ?? [];
      const b1 = metrics1[dst][k] ?? [];
      const delta = b1.map((b, i) => ({ le: b.le, count: b.count - (b0[i]?.count ?? 0) }));
      const bound = rtt + targets.lagSlackMs;
      const within = [...delta].reverse().find((b) => b.le * 1000 <= bound);
      const total = delta[delta.length - 1]?.count ?? 0;
      const ws = windows.filter((w) => !w.error && w.inbound[dst]?.[src] !== undefined).map((w) => w.inbound[dst][src]);
      const p50s = ws.map((w) => w.lagMsP50).sort((x, y) => x - y);
      const p99s = ws.map((w) => w.lagMsP99).sort((x, y) => x - y);
      const med = (xs) => (xs.length === 0 ? null : xs[Math.floor(xs.length / 2)]);
      const applied = status1[dst].replication.inbound[src].changesApplied - status0[dst].replication.inbound[src].changesApplied;
      pairs.push({
        source: src,
        dest: dst,
        rttMs: rtt,
        boundMs: round(bound, 1),
        statusSamples: ws.length,
        statusP50MsMedian: med(p50s),
        statusP99MsMedian: med(p99s),
        statusP99MsMax: p99s.length === 0 ? null : p99s[p99s.length - 1],
        batches: total,
        changesApplied: applied,
        changesPerBatch: total > 0 ? round(applied / total, 1) : null,
        histP50Ms: round(histQuantile(delta, 0.5), 1),
        histP99Ms: round(histQuantile(delta, 0.99), 1),
        batchesWithinBoundPct: within === undefined || total === 0 ? null : round((100 * within.count) / total, 2),
        withinBoundBucketMs: within === undefined ? null : within.le * 1000,
        histBuckets: delta,
        meetsStatusMax: p99s.length > 0 && p99s[p99s.length - 1] <= bound,
        // The target's own reading: p99 over the whole window (the histogram's, per batch).
        meetsWholeRun: histQuantile(delta, 0.99) <= bound,
        meetsStatusMedian: p99s.length > 0 && med(p99s) <= bound,
      });
    }
  }
  await world.stop();
  world = undefined;
  for (const p of pairs) log(`  ${p.source} → ${p.dest}: RTT ${p.rttMs} ms, lag p50 ${p.statusP50MsMedian} ms, p99 ${p.statusP99MsMedian} ms (worst second ${p.statusP99MsMax} ms), histogram p99 ≈ ${p.histP99Ms} ms; bound ${p.boundMs} ms: whole run ${p.meetsWholeRun ? 'met' : 'NOT met'}, worst second ${p.meetsStatusMax ? 'met' : 'NOT met'}`);
  const conflicts = Object.fromEntries(regions.map((id) => [id, status1[id].replication.conflicts.total]));
  const antiEntropy = Object.fromEntries(regions.map((id) => [id, status1[id].replication.antiEntropy]));
  return { variant: variant.name, regions, rate: settings.lagRate, writer: done, pairs, cpu, rssIdle, rssEnd, convergedSec: converged, conflicts, antiEntropy, statusWindows: windows.length };
}

// ---------------------------------------------------------------- parts 3 and 4: home tables

/** A world of home tables with leadership (issue #7 item 7): strong home tables, one
 *  survive: region and one survive: zone, the embedded coordinator in the supervisor.
 *  failback: auto (as test/data/failover.test.ts): at a cold start whichever node first
 *  sees a partition's lease free may take it (500 ms per rank ahead, lease_ttl / 4), and
 *  with failback: manual (the default) a home whose node started later never leads its
 *  own rows (src fixed that in de567af: a start-up grace); the runner waits until every
 *  home leads its partition. */
function homeTopologyYaml(regions, octet, leaseTtl) {
  return `# generated by bench/data/run.mjs
service: { name: bench, zone: bench.example.test, hosts: [www] }
regions:
${regions.map((id, i) => `  - { id: ${id}, jurisdiction: us, public: 127.${octet}.${i + 1}.1, mesh: "127.${octet}.${i + 1}.1:7070", app: "http://127.${octet}.${i + 1}.1:9000" }`).join('\n')}
deployment: { model: active-active, primary: ${regions[0]}, failback: auto }
coord: { kind: embedded, lease_ttl: ${leaseTtl} }
node: { roles: [] }
data:
  durability: fsync
  tables:
    acct_region: { locality: home, home_from: client, consistency: strong, survive: region }
    acct_zone: { locality: home, home_from: client, consistency: strong, survive: zone }
`;
}

function parseOrThrow(yaml, what) {
  const parsed = parseTopology(yaml, loadRegionCatalog());
  if (!parsed.ok) throw new Error(`${what} topology: ${JSON.stringify(parsed.problems)}`);
  return parsed.topology;
}

/** Waits until each of `homes` leads and serves its own partition; answers the epochs. */
async function waitServing(w, homes, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const parts = await Promise.all(homes.map(async (id) => (await w.nodeRequest(id, '/status', 2000).catch(() => null))?.body?.data?.leadership?.partitions?.[id] ?? null));
    if (parts.every((p, i) => p !== null && p.serving !== false && p.serving !== undefined && p.leader?.region === homes[i])) return Object.fromEntries(homes.map((id, i) => [id, parts[i].leader.epoch]));
    if (Date.now() > deadline) throw new Error(`home partitions not served by their homes within ${timeoutMs / 1000} s: ${JSON.stringify(parts)}`);
    await sleep(100);
  }
}

const quantile = (sorted, q) => (sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]);

/** Part 3: survive: region write latency against the RTT to the synchronous follower. */
async function surviveWorld() {
  const { World } = await import('../../dist/world/index.js');
  const regions = ['us-east-1', 'us-east-2', 'eu-west-1'];
  const yaml = homeTopologyYaml(regions, 64, '2s');
  const topo = parseOrThrow(yaml, 'survive world');
  const model = latencyModel(topo);
  const runDir = join(lab.workDir(), 'world-survive');
  mkdirSync(runDir, { recursive: true });
  log(`part 3: survive: region write latency — a world of ${regions.join(', ')}, ${settings.surviveRate} writes/s per table per home (survive: region and survive: zone), at each home's node`);
  world = new World({ topologyYaml: yaml, users: 0, seed: 1, runDir, relayOctet: 65, jitterMs: settings.surviveJitterMs });
  await world.start();
  const epochs = await waitServing(world, regions);
  const pids = Object.fromEntries(world.regions.flatMap((r) => [[`${r.wr.region.id}/node`, r.node.pid], [`${r.wr.region.id}/app`, r.app.pid]]));
  const status0 = Object.fromEntries(await Promise.all(regions.map(async (id) => [id, (await world.nodeRequest(id, '/status', 3000)).body.data])));
  const { child: writer, phase } = startPace(['--targets', regions.map((id) => `${id}=${world.dataUrl(id)}`).join(','), '--rate', String(2 * settings.surviveRate), '--warmup', '3', '--seconds', String(settings.surviveSec), '--tables', 'acct_region,acct_zone', '--home', 'self', '--prefix', 's'], world.appToken);
  await phase('measure', 15_000);
  const meter = cpuMeter({ ...pids, writer: writer.pid });
  const self0 = process.cpuUsage();
  let cpu = null;
  const cpuTimer = setTimeout(() => (cpu = meter.read()), settings.surviveSec * 1000 - 200);
  // The round trip each home's node measures to its follower through the emulated link: its
  // health probe (an HTTP GET of /healthz, every second) — the link's nominal RTT plus the
  // emulator's jitter and timer granularity and the follower's answer.
  const probeRtts = Object.fromEntries(regions.map((id) => [id, new Map()]));
  const sampler = setInterval(() => {
    for (const id of regions) {
      const follower = syncFollower(topo, id);
      world.nodeRequest(id, '/status', 2000).then((r) => {
        const o = r.body?.clock?.offsets?.[follower];
        if (o !== undefined) probeRtts[id].set(o.atMs, 2 * o.uncertaintyMs);
      }, () => undefined);
    }
  }, 1000);
  const done = await phase('done', (settings.surviveSec + 30) * 1000);
  clearInterval(sampler);
  clearTimeout(cpuTimer);
  cpu ??= meter.read();
  const selfCpu = process.cpuUsage(self0);
  cpu.byName['runner (WAN relays, coordinator)'] = { pct: round(((selfCpu.user + selfCpu.system) / 1e6 / cpu.seconds) * 100, 1) };
  await exited(writer, 15_000);
  lab.forget(writer);
  const status1 = Object.fromEntries(await Promise.all(regions.map(async (id) => [id, (await world.nodeRequest(id, '/status', 3000)).body.data])));
  const rssEnd = Object.fromEntries(regions.map((id) => [id, memory(pids[`${id}/node`])]));
  await world.stop();
  world = undefined;
  const homes = regions.map((id) => {
    const follower = syncFollower(topo, id);
    const rtt = model.regionRtt(id, follower).ms;
    const probes = [...probeRtts[id].values()].sort((a, b) => a - b);
    const probeRttMs = probes.length === 0 ? null : round(probes[Math.floor(probes.length / 2)], 1);
    const t = done.regions[id].byTable;
    const r = t.acct_region;
    const z = t.acct_zone;
    const bound = rtt + targets.surviveSlackMs;
    const h = {
      home: id,
      syncFollower: follower,
      rttMs: rtt,
      boundMs: round(bound, 1),
      epoch: epochs[id],
      region: r,
      zone: z,
      syncPushed: status1[id].writes.syncReplicated - status0[id].writes.syncReplicated,
      probeRttMs,
      probeSamples: probes.length,
      p50OverRttMs: r.latencyMs.p50 === null ? null : round(r.latencyMs.p50 - rtt, 1),
      p50OverProbeRttMs: r.latencyMs.p50 === null || probeRttMs === null ? null : round(r.latencyMs.p50 - probeRttMs, 1),
      p50ToRtt: r.latencyMs.p50 === null ? null : round(r.latencyMs.p50 / rtt, 2),
      regionMinusZoneP50Ms: r.latencyMs.p50 === null || z.latencyMs.p50 === null ? null : round(r.latencyMs.p50 - z.latencyMs.p50, 1),
      meets: r.latencyMs.p50 !== null && r.latencyMs.p50 <= bound && Object.keys(r.errors).length === 0,
    };
    log(`  ${id} → ${follower} (RTT ${rtt} ms, probe RTT ${probeRttMs} ms): survive: region p50 ${r.latencyMs.p50} ms (${r.latencyFromScheduleMs.p50} from the scheduled time), p99 ${r.latencyMs.p99} ms (${r.ok}/${r.scheduled} ok, errors ${JSON.stringify(r.errors)}); survive: zone p50 ${z.latencyMs.p50} ms, p99 ${z.latencyMs.p99} ms; p50 − RTT ${h.p50OverRttMs} ms: ${h.meets ? 'met' : 'NOT met'}`);
    return h;
  });
  return { regions, ratePerTable: settings.surviveRate, seconds: settings.surviveSec, jitterMs: settings.surviveJitterMs, homes, cpu, rssEnd, writer: done };
}

/** One takeover run: paced writes of rows homed in regions[0], sent through regions[2];
 *  regions[0]'s node is SIGKILLed; the time until a write started after the kill is
 *  acknowledged; afterwards, every acknowledged write compared with the surviving stores. */
async function takeoverRun(leaseTtl, rep) {
  const { World } = await import('../../dist/world/index.js');
  const { Store } = await import('../../dist/store/index.js');
  const regions = ['us-east-1', 'us-east-2', 'us-west-2'];
  const [home, , via] = regions;
  const yaml = homeTopologyYaml(regions, 66, leaseTtl);
  const topo = parseOrThrow(yaml, 'takeover world');
  const follower = syncFollower(topo, home);
  const runDir = join(lab.workDir(), `world-takeover-${leaseTtl}-${rep}`);
  mkdirSync(runDir, { recursive: true });
  world = new World({ topologyYaml: yaml, users: 0, seed: rep, runDir, relayOctet: 67, jitterMs: 2 });
  await world.start();
  const epochBefore = (await waitServing(world, [home]))[home];
  const recordsFile = join(runDir, 'records.json');
  const beforeKillSec = 3;
  const seconds = beforeKillSec + 12;
  const m0 = machineTicks();
  const t0 = performance.now();
  const { child: writer, phase } = startPace(['--targets', `${via}=${world.dataUrl(via)}`, '--rate', String(settings.takeoverRate), '--warmup', '0', '--seconds', String(seconds), '--table', 'acct_region', '--home', home, '--timeout', '3000', '--connections', '512', '--records', recordsFile, '--prefix', `t${rep}`], world.appToken);
  await phase('measure', 15_000);
  await sleep(beforeKillSec * 1000);
  const pidsBefore = world.pids();
  const killSentMs = Date.now();
  await world.killRegion(home);
  const killDoneMs = Date.now();
  const done = await phase('done', (seconds + 30) * 1000);
  await exited(writer, 15_000);
  lab.forget(writer);
  const busyPct = round((100 * ((machineTicks().processes - m0.processes) / clkTck)) / ((performance.now() - t0) / 1000), 1);
  const part = (await world.nodeRequest(follower, '/status', 3000)).body.data.leadership?.partitions?.[home] ?? null;
  await world.stop();
  world = undefined;
  const records = JSON.parse(readFileSync(recordsFile, 'utf8'));
  const ok = (r) => typeof r.status === 'number' && r.status >= 200 && r.status < 300;
  const acked = records.filter(ok);
  const after = acked.filter((r) => r.startedMs > killDoneMs);
  const firstAfter = after.length === 0 ? null : Math.min(...after.map((r) => r.endedMs));
  const lastBefore = acked.filter((r) => r.endedMs <= killSentMs).reduce((m, r) => Math.max(m, r.endedMs), 0);
  const body = (r) => `{"user":"${r.key}","score":${r.i},"tags":["a","b"],"note":"${'x'.repeat(40)}"}`;
  const missing = {};
  for (const id of regions.filter((x) => x !== home)) {
    const store = new Store({ path: join(runDir, id, 'data', `${id}.db`), region: id, mayStore: () => true, synchronous: 'normal', maxClockOffsetMs: 500 });
    try {
      const m = acked.filter((r) => store.get('acct_region', r.key)?.value !== body(r));
      missing[id] = { count: m.length, keys: m.slice(0, 10).map((r) => r.key) };
    } finally {
      store.close();
    }
  }
  const outcomes = {};
  for (const r of records) {
    const k = ok(r) ? 'acked' : r.status === null ? 'unanswered' : `${r.status}${r.error ? ` ${r.error}` : ''}`;
    outcomes[k] = (outcomes[k] ?? 0) + 1;
  }
  // From when on every write was acknowledged again: the start of the first write after
  // which no write started (and answered before the end) failed.
  const byStart = records.filter((r) => r.startedMs > killDoneMs).sort((x, y) => x.startedMs - y.startedMs);
  let lastFail = -1;
  byStart.forEach((r, i) => {
    if (!ok(r)) lastFail = i;
  });
  const steady = byStart[lastFail + 1];
  // Per 500 ms after the kill (by start time): acknowledged, and refusals by error code.
  const timeline = [];
  for (const r of byStart) {
    const b = (timeline[Math.floor((r.startedMs - killSentMs) / 500)] ??= {});
    const k = ok(r) ? 'acked' : r.error ?? String(r.status);
    b[k] = (b[k] ?? 0) + 1;
  }
  // The refusals' reasons (numbers masked), most frequent first: who refused, and why.
  const reasons = {};
  for (const r of records) if (r.reason) reasons[r.reason.replace(/\d+/g, 'N')] = (reasons[r.reason.replace(/\d+/g, 'N')] ?? 0) + 1;
  const failedAfterFirstAck = firstAfter === null ? null : byStart.filter((r) => r.startedMs > Math.min(...after.map((x) => x.startedMs)) && !ok(r)).length;
  const res = {
    leaseTtl,
    rep,
    home,
    syncFollower: follower,
    via,
    epochBefore,
    leaderAfter: part?.leader ?? null,
    killSentMs,
    killMs: killDoneMs - killSentMs,
    takeoverMs: firstAfter === null ? null : Math.round(firstAfter - killSentMs),
    lastAckBeforeKillMsBefore: lastBefore === 0 ? null : Math.round(killSentMs - lastBefore),
    allAckedFromMs: steady === undefined ? null : Math.round(steady.startedMs - killSentMs),
    failedAfterFirstAck,
    timelinePer500Ms: Array.from(timeline, (b = {}) => b),
    refusalReasons: Object.fromEntries(Object.entries(reasons).sort((x, y) => y[1] - x[1]).slice(0, 12)),
    writes: records.length,
    outcomes,
    ackedTotal: acked.length,
    ackedAfterKill: after.length,
    missing,
    othersAndOursBusyPct: busyPct,
    pidsBefore: pidsBefore.length,
    writerLatency: done.regions[via].latencyMs,
  };
  log(`  lease ${leaseTtl}, run ${rep}: first write started after the SIGKILL acknowledged ${res.takeoverMs} ms after it; every write started from ${res.allAckedFromMs} ms on acknowledged (${failedAfterFirstAck} failed in between); leader now ${JSON.stringify(res.leaderAfter)}; ${acked.length} acknowledged, outcomes ${JSON.stringify(outcomes)}; missing: ${Object.entries(missing).map(([k, v]) => `${k} ${v.count}`).join(', ')}; machine ${busyPct}% busy`);
  return res;
}

async function takeover() {
  log(`part 4: takeover after the home's loss — us-east-1 SIGKILLed under ${settings.takeoverRate} writes/s of its survive: region rows sent through us-west-2; lease TTLs ${settings.takeoverTtls.join(', ')}, ${settings.takeoverReps} runs each`);
  const runs = [];
  for (const ttl of settings.takeoverTtls) {
    for (let i = 1; i <= settings.takeoverReps; i++) {
      await quiet(`takeover ${ttl} #${i}`);
      runs.push(await takeoverRun(ttl, i));
    }
  }
  const byTtl = {};
  for (const ttl of settings.takeoverTtls) {
    const xs = runs.filter((r) => r.leaseTtl === ttl);
    const t = xs.map((r) => r.takeoverMs).filter((x) => x !== null).sort((a, b) => a - b);
    byTtl[ttl] = { runs: xs.length, takeoverMs: t, medianMs: quantile(t, 0.5), maxMs: t.length === 0 ? null : t[t.length - 1], resumedRuns: t.length, missingAcknowledged: xs.reduce((s, r) => s + Object.values(r.missing).reduce((a, m) => a + m.count, 0), 0) };
  }
  return { regions: ['us-east-1', 'us-east-2', 'us-west-2'], rate: settings.takeoverRate, runs, byTtl };
}

function printSurvive(sv) {
  console.log(`\nsurvive: region write latency (strong home tables, writes at each home's node, ${sv.ratePerTable} writes/s per table per home, open loop, ${sv.seconds} s measured, WAN jitter ${sv.jitterMs} ms; latency from the write's hand-off to the client's HTTP pool; sender late: how long after its scheduled time the writer's 1 ms tick handed it over, and the p50 counted from the scheduled time beside it; probe RTT: the median round trip each home's health probe measured to its follower through the emulated link, samples in brackets):`);
  console.log('| home → synchronous follower | RTT ms | probe RTT ms | bound (RTT + 5) | region p50 ms | p90 | p99 | max | ok / scheduled | errors | p50 − RTT | p50 − probe RTT | sender late p50 / p99 | p50 from schedule | zone p50 ms | zone p99 | region − zone p50 | p50 ≤ bound |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const h of sv.homes) {
    const r = h.region.latencyMs;
    const z = h.zone.latencyMs;
    const late = h.region.senderLateMs;
    console.log(`| ${h.home} → ${h.syncFollower} | ${h.rttMs} | ${h.probeRttMs} (${h.probeSamples}) | ${h.boundMs} | ${r.p50} | ${r.p90} | ${r.p99} | ${r.max} | ${fmtInt(h.region.ok)} / ${fmtInt(h.region.scheduled)} | ${JSON.stringify(h.region.errors)} | ${h.p50OverRttMs} | ${h.p50OverProbeRttMs} | ${late?.p50} / ${late?.p99} | ${h.region.latencyFromScheduleMs?.p50} | ${z.p50} | ${z.p99} | ${h.regionMinusZoneP50Ms} | ${h.meets ? 'yes' : 'NO'} |`);
  }
  if (sv.cpu.othersPct > disturbedPct) console.log(`DISTURBED: other processes used ${sv.cpu.othersPct}% of a CPU during this window`);
  console.log(`CPU (% of one CPU): ${Object.entries(sv.cpu.byName).map(([k, v]) => `${k} ${v?.pct ?? '?'}`).join(', ')}; others ${sv.cpu.othersPct}; RSS at the end: ${Object.entries(sv.rssEnd).map(([k, v]) => `${k} ${v?.rssMiB} MiB (peak ${v?.peakRssMiB})`).join(', ')}`);
}

function printTakeover(tk) {
  console.log(`\nTakeover after the home's loss (us-east-1 SIGKILLed; its rows written through us-west-2 at ${tk.rate} writes/s, open loop, 512 connections, 3 s timeout, no retries):`);
  console.log('| lease TTL | run | kill → first ack of a write started after it, ms | every write acknowledged from, ms after the kill | failed between | last ack before the kill, ms before | leader after (epoch) | acknowledged | outcomes | missing acknowledged (us-east-2, us-west-2) | machine busy % |');
  console.log('|---|---:|---:|---:|---:|---:|---|---:|---|---|---:|');
  for (const r of tk.runs) console.log(`| ${r.leaseTtl} | ${r.rep} | ${r.takeoverMs ?? 'never'} | ${r.allAckedFromMs ?? '?'} | ${r.failedAfterFirstAck ?? '?'} | ${r.lastAckBeforeKillMsBefore} | ${r.leaderAfter?.region} (${r.epochBefore} → ${r.leaderAfter?.epoch}) | ${fmtInt(r.ackedTotal)} | ${JSON.stringify(r.outcomes)} | ${Object.values(r.missing).map((m) => m.count).join(', ')} | ${r.othersAndOursBusyPct} |`);
  for (const [ttl, b] of Object.entries(tk.byTtl)) console.log(`lease TTL ${ttl}: takeover ${b.takeoverMs.join(', ')} ms (median ${b.medianMs}, max ${b.maxMs}; ${b.resumedRuns}/${b.runs} runs resumed); missing acknowledged writes: ${b.missingAcknowledged}${b.missingAcknowledged === targets.missingAcknowledged ? '' : ' — NOT 0'}`);
}

// ---------------------------------------------------------------- machine

function machine() {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const git = (argv) => spawnSync('git', ['-C', root, ...argv], { encoding: 'utf8' }).stdout?.trim() ?? '';
  const pkgVersion = (p) => {
    try {
      return JSON.parse(readFileSync(join(root, 'node_modules', p, 'package.json'), 'utf8')).version;
    } catch {
      return null;
    }
  };
  return {
    nproc: ncpu,
    cpuModel: cpuinfo.match(/^model name\s*:\s*(.*)$/m)?.[1] ?? null,
    memoryGiB: round(totalmem() / 2 ** 30, 1),
    kernel: release(),
    node: process.version,
    betterSqlite3: pkgVersion('better-sqlite3'),
    sqlite: (() => {
      const r = spawnSync(process.execPath, ['-e', "const D=require('better-sqlite3');const d=new D(':memory:');console.log(d.prepare('select sqlite_version() v').get().v)"], { cwd: root, encoding: 'utf8' });
      return r.stdout.trim() || null;
    })(),
    undici: pkgVersion('undici'),
    wrk: spawnSync('wrk', ['-v'], { encoding: 'utf8' }).stdout?.match(/wrk (\S+)/)?.[1] ?? null,
    tmpFilesystem: spawnSync('df', ['-T', lab.workDir()], { encoding: 'utf8' }).stdout.trim().split('\n').pop()?.split(/\s+/)[1] ?? null,
    commit: git(['rev-parse', '--short', 'HEAD']),
    uncommitted: git(['status', '--porcelain', '--', 'src']).split('\n').filter((l) => l !== ''),
    pinned: pin,
  };
}

// ---------------------------------------------------------------- main

function printThroughput(t) {
  console.log('\nLocal-commit writes (PUT, ~100-byte JSON, distinct keys; wrk -c%d, node pinned to CPU %s, wrk to CPU %s):', settings.connections, serverCpu, clientCpu);
  console.log('| node | writes/s | by run | p50 ms | p99 ms | max ms | errors | writes/tx | node CPU | µs/write (user + sys) | wrk CPU | others max |');
  console.log('|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const [k, p] of Object.entries(t.pooled)) {
    console.log(`| ${k} | ${fmtInt(p.writesPerSec)} | ${p.byRun.map(fmtInt).join(' · ')} | ${p.p50Ms} | ${p.p99Ms} | ${p.maxMs} | ${p.errors} | ${p.writesPerTransaction} | ${p.nodeCpuPct}% | ${p.nodeCpuUsPerWrite} (${p.nodeUserUsPerWrite} + ${p.nodeSysUsPerWrite}) | ${p.wrkCpuPct}% | ${p.othersMaxPct}% |`);
  }
  for (const a of t.anchors) console.log(`| anchor: better-sqlite3, ${a.schema} schema, ${a.batch} writes/tx | ${fmtInt(a.writesPerSec)} | — | tx ${a.txP50Ms} | tx ${a.txP99Ms} | — | 0 | ${a.batch} | ${a.cpuPct}% | ${a.cpuUsPerWrite} (${a.userUsPerWrite} + ${a.sysUsPerWrite}) | — | ${a.othersPct}% |`);
  const plain = t.anchors.filter((a) => a.schema === 'plain');
  for (const [k, p] of Object.entries(t.pooled)) {
    const a = plain.reduce((best, x) => (Math.abs(x.batch - p.writesPerTransaction) < Math.abs(best.batch - p.writesPerTransaction) ? x : best), plain[0]);
    const m = t.anchors.find((x) => x.schema === 'meridian' && x.batch === a.batch);
    console.log(`Meridian ${k} / anchor (plain, ${a.batch}/tx): ${fmt(p.writesPerSec / a.writesPerSec, 3)} by writes/s, ${fmt(a.cpuUsPerWrite / p.nodeCpuUsPerWrite, 3)} by CPU per write; / anchor (Meridian's schema): ${fmt(p.writesPerSec / m.writesPerSec, 3)} by writes/s. Target ≥ ${fmtInt(targets.writesPerSec)} writes/s: ${p.writesPerSec >= targets.writesPerSec ? 'met' : 'NOT met'}`);
  }
  const s = t.pooled.set;
  console.log(`In the set: the source's CPU per write including the shipping after wrk stopped ${s.sourceCpuUsPerWriteWithShipping} µs; peers caught up within ${s.catchUpSec} s of wrk stopping; peers' CPU while loaded: ${Object.entries(s.peersCpuPct ?? {}).map(([k, v]) => `${k} ${v}%`).join(', ')}`);
  const r = t.rss;
  console.log(`RSS (VmRSS): alone ${r.aloneIdle?.rssMiB} MiB idle → ${r.aloneAfter?.rssMiB} MiB after (peak ${r.aloneAfter?.peakRssMiB}); set source ${r.setIdle?.rssMiB} → ${r.setAfter?.rssMiB} (peak ${r.setAfter?.peakRssMiB}); peers ${Object.entries(r.peersAfter).map(([k, v]) => `${k} ${r.peersIdle[k]?.rssMiB} → ${v?.rssMiB} (peak ${v?.peakRssMiB})`).join(', ')}`);
}

function printLag(l) {
  const w = l.writer.regions;
  console.log(`\nReplication lag, ${l.variant}: ${l.regions.length} regions, ${l.rate} writes/s per region (open loop), ${settings.lagSec} s measured after ${settings.lagWarmupSec} s:`);
  console.log('| region | scheduled | 2xx | achieved writes/s | errors | write p50 ms | p99 ms | max ms | node RSS idle → end MiB |');
  console.log('|---|---:|---:|---:|---|---:|---:|---:|---|');
  for (const id of l.regions) {
    const x = w[id];
    console.log(`| ${id} | ${fmtInt(x.scheduled)} | ${fmtInt(x.ok)} | ${x.achievedPerSec} | ${JSON.stringify(x.errors)}${x.unanswered ? ` +${x.unanswered} unanswered` : ''} | ${x.latencyMs.p50} | ${x.latencyMs.p99} | ${x.latencyMs.max} | ${l.rssIdle[id]?.rssMiB} → ${l.rssEnd[id]?.rssMiB} (peak ${l.rssEnd[id]?.peakRssMiB}) |`);
  }
  console.log('| source → dest | RTT ms | bound (RTT + 25) | lag p50 ms | lag p99 ms (median s) | p99 worst second | batches | changes/batch | hist p50 ≈ | hist p99 ≈ | batches ≤ bucket | p99 ≤ bound (whole run; worst second) |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|');
  for (const p of l.pairs) {
    console.log(`| ${p.source} → ${p.dest} | ${p.rttMs} | ${p.boundMs} | ${p.statusP50MsMedian} | ${p.statusP99MsMedian} | ${p.statusP99MsMax} | ${fmtInt(p.batches)} | ${p.changesPerBatch} | ${p.histP50Ms} | ${p.histP99Ms} | ${p.batchesWithinBoundPct ?? '?'}% ≤ ${p.withinBoundBucketMs} ms | ${p.meetsWholeRun ? 'yes' : 'NO'}; ${p.meetsStatusMax ? 'yes' : p.meetsStatusMedian ? 'median second yes, worst no' : 'NO'} |`);
  }
  if (l.cpu.othersPct > disturbedPct) console.log(`DISTURBED: other processes used ${l.cpu.othersPct}% of a CPU during this window; its figures are not the data path's`);
  console.log(`CPU (% of one CPU): ${Object.entries(l.cpu.byName).map(([k, v]) => `${k} ${v?.pct ?? '?'}`).join(', ')}; others ${l.cpu.othersPct}, softirq ${l.cpu.irqPct}`);
  console.log(`Converged ${l.convergedSec === null ? 'NOT within 30 s' : `${l.convergedSec} s`} after the writer stopped; conflicts ${JSON.stringify(l.conflicts)}; anti-entropy ${JSON.stringify(l.antiEntropy)}`);
}

async function main() {
  const t0 = Date.now();
  const busy0 = machineBusyTicks();
  await sleep(1000);
  const busyBeforeStartPct = round((100 * (machineBusyTicks() - busy0)) / clkTck);
  if (busyBeforeStartPct > 20) log(`warning: the machine was ${busyBeforeStartPct}% busy (of one CPU) before the benchmark started: other work will disturb the figures`);
  const mach = { ...machine(), busyBeforeStartPct };
  const result = { startedAt: new Date(t0).toISOString(), settings, targets, machine: mach };
  if (!args['no-throughput']) result.throughput = await throughput();
  if (!args['no-lag']) {
    result.lag = await undisturbed('lag world', () => lagWorld({ name: 'as configured (defaults: flush 5 ms, anti-entropy every 10 s)', replicationYaml: '' }));
    // What-if (diagnosis): the same world with anti-entropy off (`anti_entropy: 0`, off since
    // 5ffb4ed; before, src/node/node.ts turned 0 into a ten-year setInterval that overflowed
    // Node's 32-bit timer and ran every 1 ms), to see what the rounds still cost.
    if (!args['no-what-if']) result.lagWhatIf = await undisturbed('what-if lag world', () => lagWorld({ name: `what-if: replication ${args['what-if-replication']}`, replicationYaml: `  replication: ${args['what-if-replication']}\n` }));
  }
  if (!args['no-survive']) result.survive = await undisturbed('survive world', surviveWorld);
  if (!args['no-takeover']) result.takeover = await takeover();
  result.waits = waits;
  result.seconds = round((Date.now() - t0) / 1000);
  if (result.throughput) printThroughput(result.throughput);
  if (result.lag) printLag(result.lag);
  if (result.lagWhatIf) printLag(result.lagWhatIf);
  if (result.survive) printSurvive(result.survive);
  if (result.takeover) printTakeover(result.takeover);
  writeFileSync(args.out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\n${relative(process.cwd(), args.out)} written; ${result.seconds} s in all.`);
}

main().then(
  () => {
    lab.cleanup();
    process.exit(0);
  },
  async (e) => {
    console.error(`bench/data: ${e.stack ?? e.message}`);
    // The world's node logs (its run directory goes with the lab's), for what failed.
    for (const r of world?.regions ?? []) {
      const f = join(world.o.runDir, 'logs', `${r.wr.region.id}.node.log`);
      if (existsSync(f)) console.error(`--- ${f} (last lines)\n${readFileSync(f, 'utf8').split('\n').slice(-12).join('\n')}`);
    }
    if (world !== undefined) await world.stop().catch(() => world?.killAllNow());
    lab.cleanup();
    process.exit(1);
  },
);
