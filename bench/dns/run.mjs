#!/usr/bin/env node
// bench/dns: Meridian's authoritative DNS against gdnsd, on this machine, in one run.
//
//   npm run build && node bench/dns/run.mjs [options]     (--help for the options)
//
// Both servers answer `www.shop.example.test A` for queries that each carry an EDNS Client
// Subnet from a set of real /24s around the world (data/city-ips.json), so both parse the
// query, locate the client by its ECS, pick a region and answer with that region's address
// and the ECS echo (scope /24):
//   - Meridian: its DnsServer with the policy callback a region node builds (geolocation by
//     DB-IP, route() with examples/world.yaml's latency policy, every region up), alone in a
//     node process (bench/dns/meridian-harness.mjs);
//   - gdnsd: the geoip plugin with a `nets` map (no GeoIP database) that sends each of those
//     /24s to the regions in the order Meridian ranks them, the same addresses (127.0.N.1),
//     the same TTL (30 s), edns_client_subnet on.
// The answers are checked to agree before any load. dnsperf replays the same binary query
// file (-B: per-query ECS) against each for the same duration and settings; servers and
// runs alternate (ABBA by round). Also measured: the node:dgram floor (a node process that
// echoes each datagram: no DNS work), each server's CPU time, Meridian's RSS before and
// after the load. When Meridian is under half of gdnsd's queries/s (or with --profile), the
// Meridian process is profiled under the same load (node --cpu-prof) and each stage of its
// answer is timed without sockets (components.mjs).
//
// Writes bench/dns/last-run.json (and last-run.cpuprofile when profiled). Everything listens
// on 127.0.0.1 only; every run is bounded; servers are stopped at the end, on Ctrl-C and on
// errors (and, through setpriv --pdeathsig, if this process is killed outright).

import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, release, totalmem } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clkTck, cpuSplit, cpuTicks, exited, has, log, machineBusyTicks, machineTicks, memory, processes, readyLine, round, sleep, runnerOptions } from '../lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');

const usage = `usage: node bench/dns/run.mjs [options]
  --queries N          queries in the query file (default 20000)
  --duration S         seconds of load per server per round (default 15)
  --rounds R           measured rounds; servers alternate ABBA (default 2)
  --warmup S           seconds of unmeasured load per server first (default 3)
  --clients C          dnsperf -c (default 4)
  --threads T          dnsperf -T (default 1)
  --outstanding Q      dnsperf -q, queries in flight (default 100)
  --timeout S          dnsperf -t, seconds before a query counts as lost (default 2)
  --gdnsd-threads N    gdnsd udp_threads (default 1: one core against one core)
  --no-pin             do not pin servers and dnsperf to separate CPUs with taskset
  --no-floor           skip the node:dgram floor reference
  --no-sketch          skip the fast-path sketch reference (fastpath-sketch.mjs)
  --profile            profile Meridian even when it reaches half of gdnsd
  --no-profile         never profile
  --profile-duration S seconds of profiled load (default 10)
  --rate-qps N         then latency at this fixed rate, dnsperf -Q (default 5000; 0: skip)
  --rate-duration S    seconds of that fixed-rate run per server (default 10)
  --config FILE        topology (default examples/world.yaml)
  --out FILE           results (default bench/dns/last-run.json)`;

// Flags, --help and number checks: the runners' shared parser (bench/lib.mjs).
const { args, num } = runnerOptions(usage, {
  queries: { type: 'string', default: '20000' },
  duration: { type: 'string', default: '15' },
  rounds: { type: 'string', default: '2' },
  warmup: { type: 'string', default: '3' },
  clients: { type: 'string', default: '4' },
  threads: { type: 'string', default: '1' },
  outstanding: { type: 'string', default: '100' },
  timeout: { type: 'string', default: '2' },
  'gdnsd-threads': { type: 'string', default: '1' },
  'no-pin': { type: 'boolean', default: false },
  'no-floor': { type: 'boolean', default: false },
  'no-sketch': { type: 'boolean', default: false },
  profile: { type: 'boolean', default: false },
  'no-profile': { type: 'boolean', default: false },
  'profile-duration': { type: 'string', default: '10' },
  'rate-qps': { type: 'string', default: '5000' },
  'rate-duration': { type: 'string', default: '10' },
  config: { type: 'string', default: join(root, 'examples/world.yaml') },
  out: { type: 'string', default: join(here, 'last-run.json') },
});
const settings = {
  queries: num('queries', 1),
  durationSec: num('duration', 1),
  rounds: num('rounds', 1),
  warmupSec: num('warmup', 0),
  clients: num('clients', 1),
  threads: num('threads', 1),
  outstanding: num('outstanding', 1),
  timeoutSec: num('timeout', 1),
  gdnsdThreads: num('gdnsd-threads', 1),
  profileDurationSec: num('profile-duration', 1),
  rateQps: num('rate-qps', 0),
  rateDurationSec: num('rate-duration', 1),
};

// ---------------------------------------------------------------- prerequisites

const missing = ['dnsperf', 'gdnsd'].filter((c) => !has(c));
if (missing.length > 0) {
  console.error(`bench/dns needs ${missing.join(' and ')}, which ${missing.length > 1 ? 'are' : 'is'} not installed. On Debian or Ubuntu:\n  apt-get update && apt-get install -y dnsperf gdnsd`);
  process.exit(2);
}
if (!existsSync(join(root, 'dist/dns/index.js'))) {
  console.error('dist/ is not built: run `npm run build` first');
  process.exit(2);
}
const ncpu = cpus().length;
const pin = !args['no-pin'] && ncpu >= 2 && has('taskset');
const serverCpu = String(ncpu - 1);
const clientCpu = '0';

// ---------------------------------------------------------------- processes

const lab = processes({ pin, tempPrefix: 'meridian-bench-dns-' });
const { start, stop, wrapped, cleanup } = lab;

// ---------------------------------------------------------------- helpers

/** A port free for both TCP and UDP on 127.0.0.1, as far as one can tell beforehand. */
async function freePort() {
  for (let i = 0; i < 20; i++) {
    const port = await new Promise((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const p = s.address().port;
        s.close(() => resolve(p));
      });
    });
    const ok = await new Promise((resolve) => {
      const u = createSocket('udp4');
      u.once('error', () => resolve(false));
      u.bind(port, '127.0.0.1', () => u.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  throw new Error('no free port on 127.0.0.1');
}

// ---------------------------------------------------------------- queries

const qname = 'www.shop.example.test';

/** One A query for qname with an ECS option for a.b.c.0/24, EDNS payload 1232, RD clear
 *  (as a resolver asks an authoritative server). The ID is dnsperf's to overwrite. */
function encodeQuery([a, b, c]) {
  const name = Buffer.concat([...qname.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'ascii')])), Buffer.from([0])]);
  const header = Buffer.from([0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1]);
  const question = Buffer.concat([name, Buffer.from([0, 1, 0, 1])]);
  const ecs = Buffer.from([0, 1, 24, 0, a, b, c]); // family 1, source /24, scope 0, address
  const opt = Buffer.concat([Buffer.from([0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 4 + ecs.length, 0, 8, 0, ecs.length]), ecs]);
  return Buffer.concat([header, question, opt]);
}

/** Every distinct /24 of the city sample (data/city-ips.json: 1,337 cities worldwide), in a
 *  fixed pseudo-random order. */
function clientSubnets() {
  const cities = JSON.parse(readFileSync(join(root, 'data/city-ips.json'), 'utf8')).cities;
  const seen = new Map();
  for (const list of Object.values(cities)) {
    for (const { ip } of list) {
      const p = ip.split('.').map(Number).slice(0, 3);
      seen.set(p.join('.'), p);
    }
  }
  const subnets = [...seen.values()].sort((x, y) => x[0] - y[0] || x[1] - y[1] || x[2] - y[2]);
  let s = 20240601;
  const rand = () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = subnets.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [subnets[i], subnets[j]] = [subnets[j], subnets[i]];
  }
  return subnets;
}

// ---------------------------------------------------------------- answers

/** Sends one query, waits for the reply with its ID. */
function ask(port, query, timeoutMs = 2000) {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    const id = Math.floor(Math.random() * 65536);
    const q = Buffer.from(query);
    q.writeUInt16BE(id, 0);
    const t = setTimeout(() => {
      s.close();
      resolve(null);
    }, timeoutMs);
    s.on('message', (m) => {
      if (m.length < 12 || m.readUInt16BE(0) !== id) return;
      clearTimeout(t);
      s.close();
      resolve(m);
    });
    s.on('error', () => {});
    s.send(q, port, '127.0.0.1');
  });
}

function skipName(m, off) {
  for (;;) {
    const len = m[off];
    if (len === 0) return off + 1;
    if ((len & 0xc0) === 0xc0) return off + 2;
    off += 1 + len;
  }
}

/** rcode, A addresses and TTLs in the answer, ECS scope in the OPT. */
function readReply(m) {
  const rcode = m[3] & 0xf;
  const qd = m.readUInt16BE(4);
  const an = m.readUInt16BE(6);
  const ns = m.readUInt16BE(8);
  const ar = m.readUInt16BE(10);
  let off = 12;
  for (let i = 0; i < qd; i++) off = skipName(m, off) + 4;
  const a = [];
  let ttl = null;
  let scope = null;
  for (let i = 0; i < an + ns + ar; i++) {
    off = skipName(m, off);
    const type = m.readUInt16BE(off);
    const rttl = m.readUInt32BE(off + 4);
    const rdlen = m.readUInt16BE(off + 8);
    const rd = m.subarray(off + 10, off + 10 + rdlen);
    if (i < an && type === 1) {
      a.push([...rd].join('.'));
      ttl = rttl;
    }
    if (type === 41) {
      for (let o = 0; o + 4 <= rd.length; ) {
        const code = rd.readUInt16BE(o);
        const len = rd.readUInt16BE(o + 2);
        if (code === 8) scope = rd[o + 7];
        o += 4 + len;
      }
    }
    off += 10 + rdlen;
  }
  return { rcode, a: a.sort(), ttl, scope, bytes: m.length };
}

async function waitForDns(port, query, what, child, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}):\n${child.stderrText}`);
    if ((await ask(port, query, 200)) !== null) return;
    await sleep(100);
  }
  throw new Error(`${what} did not answer on 127.0.0.1:${port} within ${timeoutMs / 1000} s:\n${child.stderrText}`);
}

// ---------------------------------------------------------------- gdnsd

function gdnsdConfig(dir, port, regions, nets, ttlSec) {
  for (const d of ['zones', 'geoip', 'run', 'state']) mkdirSync(join(dir, d), { recursive: true });
  const dcmap = regions.map((r) => `${r.id} => ${r.public}`).join(', ');
  writeFileSync(join(dir, 'config'), `# generated by bench/dns/run.mjs
options => {
  listen => { 127.0.0.1:${port} => { udp_threads => ${settings.gdnsdThreads}, tcp_threads => 1 } }
  run_dir => ${join(dir, 'run')}
  state_dir => ${join(dir, 'state')}
  edns_client_subnet => true
}
plugins => {
  geoip => {
    maps => {
      world => {
        datacenters => [${regions.map((r) => r.id).join(', ')}]
        nets => nets
      }
    }
    resources => {
      www => {
        map => world
        service_types => up
        dcmap => { ${dcmap} }
      }
    }
  }
}
`);
  writeFileSync(join(dir, 'geoip/nets'), nets.map(([subnet, order]) => `${subnet} => [${order.join(', ')}]`).join('\n') + '\n');
  writeFileSync(join(dir, 'zones/shop.example.test'), `; generated by bench/dns/run.mjs
$TTL 3600
@ 60 SOA ns1 hostmaster 1 3600 600 86400 60
${regions.map((_, i) => `@ NS ns${i + 1}`).join('\n')}
${regions.map((r, i) => `ns${i + 1} A ${r.public}`).join('\n')}
www ${ttlSec} DYNA geoip!www
api ${ttlSec} DYNA geoip!www
`);
}

// ---------------------------------------------------------------- dnsperf

function parseDnsperf(text) {
  const n = (re) => {
    const m = text.match(re);
    return m === null ? null : Number(m[1]);
  };
  const lat = text.match(/Average Latency \(s\):\s+([\d.]+) \(min ([\d.]+), max ([\d.]+)\)/);
  const size = text.match(/Average packet size:\s+request (\d+), response (\d+)/);
  const out = {
    sent: n(/Queries sent:\s+(\d+)/),
    completed: n(/Queries completed:\s+(\d+)/),
    lost: n(/Queries lost:\s+(\d+)/),
    runTimeSec: n(/Run time \(s\):\s+([\d.]+)/),
    qps: n(/Queries per second:\s+([\d.]+)/),
    avgLatencyMs: lat === null ? null : Number(lat[1]) * 1000,
    minLatencyMs: lat === null ? null : Number(lat[2]) * 1000,
    maxLatencyMs: lat === null ? null : Number(lat[3]) * 1000,
    latencyStdDevMs: n(/Latency StdDev \(s\):\s+([\d.]+)/),
    responseCodes: text.match(/Response codes:\s+(.*)/)?.[1]?.trim() ?? null,
    requestBytes: size === null ? null : Number(size[1]),
    responseBytes: size === null ? null : Number(size[2]),
  };
  if (out.latencyStdDevMs !== null) out.latencyStdDevMs *= 1000;
  if (out.completed === null || out.runTimeSec === null) throw new Error(`cannot read dnsperf's output:\n${text}`);
  return out;
}

async function dnsperf(port, seconds, queryFile, serverPid, extra = []) {
  const argv = [...extra, '-B', '-d', queryFile, '-s', '127.0.0.1', '-p', String(port), '-l', String(seconds), '-c', String(settings.clients), '-T', String(settings.threads), '-q', String(settings.outstanding), '-t', String(settings.timeoutSec), '-O', 'suppress=timeouts,unexpected'];
  const child = start(clientCpu, 'dnsperf', argv);
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  const t0 = Date.now();
  const server0 = cpuSplit(serverPid);
  const client0 = cpuTicks(child.pid);
  const machine0 = machineTicks();
  // The client's CPU, and what everything else on the machine used meanwhile (other
  // people's builds and tests disturb a benchmark), sampled just before the client's end
  // (its /proc entry goes when it exits).
  let clientCpuPct = null;
  let otherCpuPct = null;
  let irqCpuPct = null;
  let stealCpuPct = null;
  const sample = setTimeout(() => {
    const secs = (Date.now() - t0) / 1000;
    const c1 = cpuTicks(child.pid);
    const s1 = cpuTicks(serverPid);
    const m1 = machineTicks();
    const pct = (ticks) => round(Math.max(0, (100 * ticks) / clkTck / secs));
    irqCpuPct = pct(m1.irq - machine0.irq);
    stealCpuPct = pct(m1.steal - machine0.steal);
    if (c1 !== null && client0 !== null) clientCpuPct = pct(c1 - client0);
    if (c1 !== null && client0 !== null && s1 !== null && server0 !== null) {
      otherCpuPct = pct(m1.processes - machine0.processes - (c1 - client0) - (s1 - server0.user - server0.sys));
    }
  }, Math.max(0, seconds * 1000 - 500));
  const done = await exited(child, (seconds + settings.timeoutSec + 15) * 1000);
  clearTimeout(sample);
  if (!done) {
    await stop(child);
    throw new Error(`dnsperf did not stop within ${seconds + settings.timeoutSec + 15} s`);
  }
  lab.forget(child);
  const server1 = cpuSplit(serverPid);
  if (child.exitCode !== 0) throw new Error(`dnsperf exited ${child.exitCode}:\n${stdout}\n${child.stderrText}`);
  const r = parseDnsperf(stdout);
  const known = server0 !== null && server1 !== null;
  const serverCpuSec = known ? (server1.user + server1.sys - server0.user - server0.sys) / clkTck : null;
  const serverSysSec = known ? (server1.sys - server0.sys) / clkTck : null;
  return { ...r, serverCpuSec, serverSysSec, serverCpuPct: serverCpuSec === null ? null : round((100 * serverCpuSec) / r.runTimeSec), clientCpuPct, otherCpuPct, irqCpuPct, stealCpuPct };
}

function aggregate(runs) {
  const completed = runs.reduce((s, r) => s + r.completed, 0);
  const time = runs.reduce((s, r) => s + r.runTimeSec, 0);
  const mean = runs.reduce((s, r) => s + r.completed * r.avgLatencyMs, 0) / completed;
  const variance = runs.reduce((s, r) => s + r.completed * (r.latencyStdDevMs ** 2 + (r.avgLatencyMs - mean) ** 2), 0) / completed;
  const cpu = runs.every((r) => r.serverCpuSec !== null) ? runs.reduce((s, r) => s + r.serverCpuSec, 0) : null;
  const sys = runs.every((r) => r.serverSysSec !== null) ? runs.reduce((s, r) => s + r.serverSysSec, 0) : null;
  return {
    qps: round(completed / time),
    qpsByRun: runs.map((r) => round(r.qps)),
    /** The best run: the one least disturbed by anything else on the machine. */
    qpsBest: round(Math.max(...runs.map((r) => r.qps))),
    avgLatencyMs: round(mean, 3),
    latencyStdDevMs: round(Math.sqrt(variance), 3),
    maxLatencyMs: round(Math.max(...runs.map((r) => r.maxLatencyMs)), 3),
    sent: runs.reduce((s, r) => s + r.sent, 0),
    completed,
    lost: runs.reduce((s, r) => s + r.lost, 0),
    seconds: round(time, 3),
    serverCpuPct: cpu === null ? null : round((100 * cpu) / time),
    serverCpuUsPerQuery: cpu === null ? null : round((cpu * 1e6) / completed, 2),
    serverUserUsPerQuery: cpu === null || sys === null ? null : round(((cpu - sys) * 1e6) / completed, 2),
    serverSysUsPerQuery: sys === null ? null : round((sys * 1e6) / completed, 2),
    clientCpuPct: runs.every((r) => r.clientCpuPct !== null) ? round(runs.reduce((s, r) => s + r.clientCpuPct, 0) / runs.length) : null,
    otherCpuPctMax: runs.every((r) => r.otherCpuPct !== null) ? Math.max(...runs.map((r) => r.otherCpuPct)) : null,
    irqCpuPct: runs.every((r) => r.irqCpuPct !== null) ? round(runs.reduce((s, r) => s + r.irqCpuPct, 0) / runs.length) : null,
    stealCpuPctMax: runs.every((r) => r.stealCpuPct !== null) ? Math.max(...runs.map((r) => r.stealCpuPct)) : null,
    responseCodes: [...new Set(runs.map((r) => r.responseCodes))].join(' | '),
    responseBytes: runs[0].responseBytes,
  };
}

// ---------------------------------------------------------------- machine

function machine() {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const version = (cmd, argv, re) => {
    const r = spawnSync(cmd, argv, { encoding: 'utf8' });
    return `${r.stdout}${r.stderr}`.match(re)?.[1] ?? null;
  };
  const git = (argv) => spawnSync('git', ['-C', root, ...argv], { encoding: 'utf8' }).stdout?.trim() ?? '';
  return {
    nproc: ncpu,
    cpuModel: cpuinfo.match(/^model name\s*:\s*(.*)$/m)?.[1] ?? null,
    cpuMHz: Number(cpuinfo.match(/^cpu MHz\s*:\s*(.*)$/m)?.[1] ?? NaN) || null,
    memoryGiB: round(totalmem() / 2 ** 30, 1),
    kernel: release(),
    node: process.version,
    gdnsd: version('gdnsd', ['-V'], /gdnsd version (\S+)/),
    dnsperf: version('dnsperf', ['-h'], /Version (\S+)/),
    gitCommit: git(['rev-parse', '--short', 'HEAD']) || null,
    uncommittedSrc: git(['status', '--porcelain', '--', 'src']).split('\n').filter((l) => l !== '').map((l) => l.trim()),
  };
}

// ---------------------------------------------------------------- main

async function main() {
  const mach = machine();
  const workDir = lab.workDir();
  const busy0 = machineBusyTicks();
  await sleep(1000);
  const idleCheckPct = round((100 * (machineBusyTicks() - busy0)) / clkTck);
  mach.busyBeforeStartPct = idleCheckPct;
  if (idleCheckPct > 20) log(`warning: the machine was ${idleCheckPct}% busy (of one CPU) before the benchmark started: other work will disturb the figures`);
  const { nodeDns } = await import('./meridian-node-dns.mjs');
  log(`bench/dns: ${mach.cpuModel}, ${mach.nproc} CPUs, node ${mach.node}, gdnsd ${mach.gdnsd}, dnsperf ${mach.dnsperf}`);
  log(pin ? `pinning: servers on CPU ${serverCpu}, dnsperf on CPU ${clientCpu}` : 'no CPU pinning');

  // The query file: N queries cycling through the shuffled /24s.
  const subnets = clientSubnets();
  const queryFile = join(workDir, 'queries.bin');
  const parts = [];
  for (let i = 0; i < settings.queries; i++) {
    const q = encodeQuery(subnets[i % subnets.length]);
    const len = Buffer.alloc(2);
    len.writeUInt16BE(q.length);
    parts.push(len, q);
  }
  writeFileSync(queryFile, Buffer.concat(parts));
  const used = subnets.slice(0, Math.min(subnets.length, settings.queries));
  log(`query file: ${settings.queries} A queries for ${qname}, ECS from ${used.length} distinct /24s (data/city-ips.json)`);

  // gdnsd's nets map: each /24 to the regions in Meridian's order for it.
  const node = nodeDns(args.config);
  const nets = used.map((p) => [`${p.join('.')}.0/24`, node.ranked(`${p.join('.')}.0`, 24)]);
  const firstChoice = {};
  for (const [, order] of nets) firstChoice[order[0]] = (firstChoice[order[0]] ?? 0) + 1;
  log(`Meridian's first choice over those /24s: ${Object.entries(firstChoice).map(([r, n]) => `${r} ${n}`).join(', ')}`);
  const gdnsdDir = join(workDir, 'gdnsd');
  const gdnsdPort = await freePort();
  gdnsdConfig(gdnsdDir, gdnsdPort, node.topology.regions, nets, node.ttlSec);

  const probe = encodeQuery(used[0]);
  const servers = [];

  const gd = start(serverCpu, 'gdnsd', ['-c', gdnsdDir, 'start']);
  await waitForDns(gdnsdPort, probe, 'gdnsd', gd, 20_000);
  servers.push({ key: 'gdnsd', label: `gdnsd ${mach.gdnsd} geoip nets, ${settings.gdnsdThreads} UDP thread${settings.gdnsdThreads > 1 ? 's' : ''}`, port: gdnsdPort, child: gd, pid: gd.pid });
  log(`gdnsd: 127.0.0.1:${gdnsdPort}, pid ${gd.pid}`);

  const mer = start(serverCpu, process.execPath, [join(here, 'meridian-harness.mjs'), '--config', args.config, '--port', '0']);
  const merReady = await readyLine(mer, 'the Meridian harness', 120_000);
  await waitForDns(merReady.port, probe, 'the Meridian harness', mer, 20_000);
  servers.push({ key: 'meridian', label: 'Meridian DnsServer (node, as in a region node)', port: merReady.port, child: mer, pid: mer.pid });
  log(`meridian: 127.0.0.1:${merReady.port}, pid ${mer.pid}, geo IPv4 from ${merReady.geoIpv4?.backend ?? 'the mmdb'}`);

  let sketchPort = null;
  if (!args['no-sketch']) {
    const sk = start(serverCpu, process.execPath, [join(here, 'fastpath-sketch.mjs'), '--config', args.config, '--port', '0']);
    const skReady = await readyLine(sk, 'the fast-path sketch', 120_000);
    sketchPort = skReady.port;
    servers.push({ key: 'sketch', label: 'fast-path sketch on node:dgram (bench only)', port: skReady.port, child: sk, pid: sk.pid });
  }
  if (!args['no-floor']) {
    const fl = start(serverCpu, process.execPath, [join(here, 'udp-floor.mjs'), '--port', '0']);
    const flReady = await readyLine(fl, 'the node:dgram floor', 20_000);
    servers.push({ key: 'floor', label: 'node:dgram floor (echo, no DNS work; reference)', port: flReady.port, child: fl, pid: fl.pid });
  }

  // Do they give the same answers (rcode, addresses, TTL)? Each distinct /24 once (up to
  // 500), one at a time. The ECS scope may differ: gdnsd merges adjacent nets with the same
  // answer into a supernet and returns its (shorter) prefix; Meridian always says /24.
  const sample = used.slice(0, 500);
  let agree = 0;
  const mismatches = [];
  const scopes = { gdnsd: {}, meridian: {} };
  const replyShape = {};
  let sketchAgree = 0;
  for (const p of sample) {
    const q = encodeQuery(p);
    const [g, m, k] = await Promise.all([ask(gdnsdPort, q), ask(merReady.port, q), sketchPort === null ? null : ask(sketchPort, q)]);
    const rg = g === null ? null : readReply(g);
    const rm = m === null ? null : readReply(m);
    const rk = k === null ? null : readReply(k);
    replyShape.sketch ??= rk;
    if (rk !== null && rm !== null && rk.rcode === rm.rcode && rk.a.join() === rm.a.join() && rk.ttl === rm.ttl && rk.scope === rm.scope) sketchAgree++;
    replyShape.gdnsd ??= rg;
    replyShape.meridian ??= rm;
    if (rg !== null) scopes.gdnsd[rg.scope] = (scopes.gdnsd[rg.scope] ?? 0) + 1;
    if (rm !== null) scopes.meridian[rm.scope] = (scopes.meridian[rm.scope] ?? 0) + 1;
    const same = rg !== null && rm !== null && rg.rcode === rm.rcode && rg.a.join() === rm.a.join() && rg.ttl === rm.ttl;
    if (same) agree++;
    else if (mismatches.length < 10) mismatches.push({ subnet: `${p.join('.')}.0/24`, gdnsd: rg, meridian: rm });
  }
  log(`answers (rcode, A, TTL) agree for ${agree} of ${sample.length} /24s${mismatches.length > 0 ? `; first mismatch: ${JSON.stringify(mismatches[0])}` : ''}`);
  if (sketchPort !== null) log(`fast-path sketch agrees with Meridian (rcode, A, TTL, scope) for ${sketchAgree} of ${sample.length}`);
  log(`ECS scopes returned: gdnsd ${JSON.stringify(scopes.gdnsd)}, Meridian ${JSON.stringify(scopes.meridian)}; reply bytes: gdnsd ${replyShape.gdnsd?.bytes}, Meridian ${replyShape.meridian?.bytes}`);

  const rssBefore = memory(mer.pid);
  log(`meridian RSS before load: ${rssBefore?.rssMiB} MiB`);

  // Warm-up, then ABBA rounds.
  if (settings.warmupSec > 0) {
    for (const s of servers) {
      log(`warm-up ${s.key}: ${settings.warmupSec} s`);
      await dnsperf(s.port, settings.warmupSec, queryFile, s.pid);
    }
  }
  const runs = Object.fromEntries(servers.map((s) => [s.key, []]));
  const rssByRound = [];
  const order = [];
  for (let round = 0; round < settings.rounds; round++) {
    const seq = round % 2 === 0 ? servers : [...servers].reverse();
    for (const s of seq) {
      log(`round ${round + 1}/${settings.rounds} ${s.key}: ${settings.durationSec} s`);
      const r = await dnsperf(s.port, settings.durationSec, queryFile, s.pid);
      log(`  ${round1(r.qps)} q/s, avg ${r.avgLatencyMs.toFixed(3)} ms, lost ${r.lost}, server CPU ${r.serverCpuPct}%, dnsperf CPU ${r.clientCpuPct ?? '?'}%, softirq ${r.irqCpuPct ?? '?'}%, other processes ${r.otherCpuPct ?? '?'}%, steal ${r.stealCpuPct ?? '?'}%`);
      runs[s.key].push({ round: round + 1, ...r });
      order.push(s.key);
      if (s.key === 'meridian') rssByRound.push(memory(mer.pid));
    }
  }
  const rssAfter = memory(mer.pid);
  const gdnsdMem = memory(gd.pid);

  // Latency at the same offered rate (below Meridian's ceiling), one run each.
  const fixedRate = {};
  if (settings.rateQps > 0) {
    for (const s of servers.filter((x) => x.key !== 'floor')) {
      log(`fixed rate ${s.key}: ${settings.rateQps} q/s for ${settings.rateDurationSec} s`);
      const r = await dnsperf(s.port, settings.rateDurationSec, queryFile, s.pid, ['-Q', String(settings.rateQps)]);
      fixedRate[s.key] = { qps: round(r.qps), avgLatencyMs: round(r.avgLatencyMs, 3), latencyStdDevMs: round(r.latencyStdDevMs, 3), maxLatencyMs: round(r.maxLatencyMs, 3), lost: r.lost, serverCpuPct: r.serverCpuPct };
      log(`  ${round1(r.qps)} q/s, avg ${r.avgLatencyMs.toFixed(3)} ms, sd ${r.latencyStdDevMs.toFixed(3)} ms, lost ${r.lost}, server CPU ${r.serverCpuPct}%`);
    }
  }
  const rssEnd = memory(mer.pid);

  const results = Object.fromEntries(servers.map((s) => [s.key, { label: s.label, ...aggregate(runs[s.key]), runs: runs[s.key] }]));
  const ratio = round(results.meridian.qps / results.gdnsd.qps, 3);
  const cpuRatio = results.meridian.serverCpuUsPerQuery && results.gdnsd.serverCpuUsPerQuery ? round(results.gdnsd.serverCpuUsPerQuery / results.meridian.serverCpuUsPerQuery, 3) : null;

  for (const s of servers) await stop(s.child);
  // The harness's own counters: every query answered NOERROR, none rate-limited or truncated?
  let meridianStats = null;
  const statsLine = mer.stderrText.match(/meridian-harness stats: (.*)/);
  if (statsLine !== null) {
    try {
      meridianStats = JSON.parse(statsLine[1]);
    } catch {
      // left null
    }
  }

  // The table.
  const rows = servers.map((s) => [s.label, results[s.key]]);
  const head = ['server', 'queries/s', 'by run', 'avg ms', 'sd ms', 'lost', 'server CPU', 'CPU us/q (user+sys)', 'dnsperf CPU', 'softirq', 'others max'];
  const body = rows.map(([label, r]) => [label, fmtInt(r.qps), r.qpsByRun.map((x) => fmtInt(x)).join(' '), r.avgLatencyMs.toFixed(3), r.latencyStdDevMs.toFixed(3), String(r.lost), `${r.serverCpuPct}%`, `${r.serverCpuUsPerQuery} (${r.serverUserUsPerQuery}+${r.serverSysUsPerQuery})`, `${r.clientCpuPct ?? '?'}%`, `${r.irqCpuPct ?? '?'}%`, `${r.otherCpuPctMax ?? '?'}%`]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log('');
  console.log(line(head));
  for (const b of body) console.log(line(b));
  console.log('');
  const bestRatio = round(results.meridian.qpsBest / results.gdnsd.qpsBest, 3);
  console.log(`ratio Meridian/gdnsd, queries/s: ${ratio.toFixed(3)} over all rounds, ${bestRatio.toFixed(3)} best round against best round   (target >= 0.5: ${ratio >= 0.5 ? 'met' : 'NOT met'})`);
  if (cpuRatio !== null) console.log(`ratio by CPU per query (gdnsd us/q / Meridian us/q): ${cpuRatio.toFixed(3)}`);
  if (results.floor) console.log(`Meridian / node:dgram floor, queries/s: ${(results.meridian.qps / results.floor.qps).toFixed(3)}`);
  if (results.sketch) console.log(`fast-path sketch / gdnsd, queries/s: ${(results.sketch.qps / results.gdnsd.qps).toFixed(3)}; by CPU per query: ${(results.gdnsd.serverCpuUsPerQuery / results.sketch.serverCpuUsPerQuery).toFixed(3)}`);
  console.log('(server CPU: the server process, all threads, % of one CPU; CPU us/q: its CPU time per answered query; dnsperf CPU: the load generator; softirq: kernel packet processing, charged to no process; others max: the most CPU any run saw other processes on the machine use)');
  if (results.gdnsd.clientCpuPct >= 90 && results.gdnsd.serverCpuPct < 95) {
    console.log(`note: dnsperf used ${results.gdnsd.clientCpuPct}% of its CPU against gdnsd, which used ${results.gdnsd.serverCpuPct}%: gdnsd's queries/s is bounded by the client here, so the queries/s ratio flatters Meridian; CPU per query is the fairer comparison`);
  }
  console.log(`Meridian RSS: ${rssBefore?.rssMiB} MiB before load, ${rssAfter?.rssMiB} MiB after (peak ${rssAfter?.peakRssMiB} MiB); gdnsd RSS ${gdnsdMem?.rssMiB} MiB`);
  if (settings.rateQps > 0) {
    console.log(`at a fixed ${fmtInt(settings.rateQps)} q/s: ${Object.entries(fixedRate).map(([k, r]) => `${k} avg ${r.avgLatencyMs.toFixed(3)} ms (sd ${r.latencyStdDevMs.toFixed(3)}, max ${r.maxLatencyMs.toFixed(1)}), lost ${r.lost}, CPU ${r.serverCpuPct}%`).join('; ')}`);
  }
  if (meridianStats !== null) {
    console.log(`Meridian's counters: ${meridianStats.queries} queries, responses ${JSON.stringify(meridianStats.responses)}, truncated ${meridianStats.truncated ?? '?'}, rate-limited ${meridianStats.rateLimit?.limited ?? '?'}, errors ${meridianStats.errors}`);
  }
  console.log(`answers (rcode, A, TTL) agreed for ${agree}/${sample.length} client /24s; dnsperf ${settings.clients} clients, ${settings.threads} thread, ${settings.outstanding} in flight, ${settings.durationSec} s x ${settings.rounds} rounds per server (order ${order.join(', ')})`);

  const out = {
    when: new Date().toISOString(),
    command: `node ${relative(root, fileURLToPath(import.meta.url))} ${process.argv.slice(2).join(' ')}`.trim(),
    machine: mach,
    settings: { ...settings, pinned: pin ? { servers: `CPU ${serverCpu}`, dnsperf: `CPU ${clientCpu}` } : null, config: relative(root, resolve(args.config)), order },
    queries: {
      count: settings.queries,
      name: qname,
      type: 'A',
      ecs: `per query, /24, from ${used.length} distinct /24s of data/city-ips.json; dnsperf -B (binary query file)`,
      edns: 'payload 1232, RD clear',
      meridianFirstChoice: firstChoice,
    },
    answersAgree: { compared: 'rcode, A addresses, TTL', agree, of: sample.length, mismatches, ecsScopes: scopes, replyShape, sketchAgreesWithMeridian: sketchPort === null ? null : sketchAgree },
    meridianGeoIpv4: merReady.geoIpv4 ?? null,
    meridianServer: { rateLimit: merReady.rateLimit ?? null, amplificationFactor: merReady.amplificationFactor ?? null, maxUdpPayload: merReady.maxUdpPayload ?? null, statsAtStop: meridianStats },
    results,
    ratio: {
      qps: ratio,
      qpsBestRound: bestRatio,
      cpuPerQuery: cpuRatio,
      target: 0.5,
      met: ratio >= 0.5,
      meridianOverFloor: results.floor ? round(results.meridian.qps / results.floor.qps, 3) : null,
      sketchOverGdnsd: results.sketch ? round(results.sketch.qps / results.gdnsd.qps, 3) : null,
      sketchOverGdnsdByCpu: results.sketch ? round(results.gdnsd.serverCpuUsPerQuery / results.sketch.serverCpuUsPerQuery, 3) : null,
      floorOverGdnsdByCpu: results.floor ? round(results.gdnsd.serverCpuUsPerQuery / results.floor.serverCpuUsPerQuery, 3) : null,
    },
    fixedRate: settings.rateQps > 0 ? { qps: settings.rateQps, seconds: settings.rateDurationSec, ...fixedRate } : null,
    meridianRss: { before: rssBefore, afterMaxLoad: rssAfter, byRound: rssByRound, atEnd: rssEnd },
    gdnsdRss: gdnsdMem,
  };

  // Diagnosis when short of the target (or asked for).
  if (args.profile || (!args['no-profile'] && ratio < 0.5)) {
    out.profile = await profileMeridian(queryFile);
    out.components = components(queryFile);
    if (out.components !== null) {
      console.log('\nper-query cost of each stage, no sockets (components.mjs):');
      for (const [k, v] of Object.entries(out.components)) console.log(`  ${String(v.usPerOp).padStart(7)} us  ${fmtInt(v.opsPerSec).padStart(9)}/s  ${k}`);
    }
  }

  writeFileSync(args.out, `${JSON.stringify(out, null, 2)}\n`);
  console.log(`\nwrote ${relative(process.cwd(), args.out)}`);
}

function round1(x) {
  return fmtInt(Math.round(x));
}

function fmtInt(x) {
  return Math.round(x).toLocaleString('en-US');
}

async function profileMeridian(queryFile) {
  const { summarise, formatSummary } = await import('./profile-summary.mjs');
  const profDir = join(lab.workDir(), 'profile');
  mkdirSync(profDir);
  log(`profiling Meridian: node --cpu-prof, ${settings.profileDurationSec} s of the same load`);
  const child = start(serverCpu, process.execPath, ['--cpu-prof', '--cpu-prof-dir', profDir, join(here, 'meridian-harness.mjs'), '--config', args.config, '--port', '0']);
  const ready = await readyLine(child, 'the profiled Meridian harness', 120_000);
  await dnsperf(ready.port, Math.min(3, settings.warmupSec || 3), queryFile, child.pid);
  const r = await dnsperf(ready.port, settings.profileDurationSec, queryFile, child.pid);
  await stop(child);
  const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  if (file === undefined) {
    log('no .cpuprofile was written');
    return null;
  }
  const keep = join(here, 'last-run.cpuprofile');
  copyFileSync(join(profDir, file), keep);
  const s = summarise(JSON.parse(readFileSync(join(profDir, file), 'utf8')), 25);
  console.log(`\nprofile of Meridian under load (${fmtInt(r.qps)} q/s while profiled; ${relative(process.cwd(), keep)}):`);
  console.log(formatSummary({ ...s, selfTop: s.selfTop.slice(0, 20), inclusiveTop: s.inclusiveTop.slice(0, 20) }));
  return { qpsWhileProfiled: round(r.qps), file: relative(root, keep), ...s };
}

function components(queryFile) {
  log('timing the stages without sockets (components.mjs)');
  const [c, a] = wrapped(serverCpu, process.execPath, [join(here, 'components.mjs'), queryFile, '--config', args.config]);
  const r = spawnSync(c, a, { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) {
    log(`components.mjs failed: ${r.stderr}`);
    return null;
  }
  const parsed = JSON.parse(r.stdout.trim().split('\n').pop());
  delete parsed.sink;
  return parsed;
}

main().then(
  () => {
    cleanup();
    process.exit(0);
  },
  (err) => {
    console.error(`bench/dns failed: ${err instanceof Error ? err.message : String(err)}`);
    cleanup();
    process.exit(1);
  },
);
