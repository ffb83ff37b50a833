#!/usr/bin/env node
// bench/gateway: Meridian's edge gateway against HAProxy and nginx (proxied requests) and
// against Varnish (cache hits), on this machine, in one run.
//
//   npm run build && node bench/gateway/run.mjs [options]     (--help for the options)
//
// One origin (nginx, `return 200` with a fixed 128-byte body, 1 worker) on 127.0.0.10
// answers /nostore (Cache-Control: no-store), /cacheable (Cache-Control: public,
// max-age=3600) and /healthz. In front of it, each on its own 127.0.0.x address:
//   - Meridian: a one-region RegionNode from dist/ with roles ['gateway'] whose app is the
//     origin (meridian-harness.mjs, node --max-semi-space-size=4 as bin/meridian.js runs);
//   - HAProxy: mode http, nbthread 1, keep-alive to the origin, http-reuse always;
//   - nginx: worker_processes 1, proxy_pass to an upstream with a keepalive pool,
//     proxy_http_version 1.1, proxy_set_header Connection "";
//   - Varnish: the cache-hit anchor, malloc 64 MB, thread_pools=1;
//   - two reference rows (node-floor.mjs): a bare node:http + undici proxy, and a bare
//     node:http server answering from memory: what node itself costs per request.
// wrk (-t1 -c64 --latency) loads one server at a time: /nostore through each proxy
// (Meridian's cache sees it and stores nothing: a proxy test, not a cache test), then
// /cacheable from Meridian's cache and from Varnish after a warm-up request. Servers and
// runs alternate (ABBA by round); all servers run throughout, only one is loaded at a time.
// The proxies are pinned to the last CPU, wrk and the origin to CPU 0 (taskset): one core
// against one core. Also measured: each server's CPU time per request, wrk's and the
// origin's CPU, Meridian's RSS before and after the load. When Meridian is short of the
// targets (proxied >= 0.5 x HAProxy, hits >= 0.8 x Varnish) or with --profile: a separate
// Meridian process is profiled (node --cpu-prof) under the same load, what-ifs run (the
// harness with a stage or the metrics patched out in memory, or without the V8 flag, ABBA
// against a plain one), and components.mjs times pieces of the path without sockets.
//
// Writes bench/gateway/last-run.json (and last-run-*.cpuprofile when profiled). Everything
// listens on 127.0.0.x only; every run is bounded (wrk -d); servers are stopped at the end,
// on Ctrl-C and on errors (and, through setpriv --pdeathsig, if this process is killed).

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { cpus, release, totalmem } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clkTck, cpuSplit, exited, has, log, machineBusyTicks, machineTicks, memory, processes, readyLine, round, sleep, treeRssMiB, treeTicks, runnerOptions } from '../lib.mjs';
// The flags a region node runs with (dist: run `npm run build` first, as the benchmark says).
import { regionNodeV8Flags } from '../../dist/world/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');

const usage = `usage: node bench/gateway/run.mjs [options]
  --duration S         seconds of load per server per round (default 15)
  --rounds R           measured rounds; servers alternate ABBA (default 2)
  --warmup S           seconds of unmeasured load per server first (default 3)
  --connections C      wrk -c (default 64)
  --threads T          wrk -t (default 1)
  --body-bytes N       size of the origin's response body (default 128)
  --no-pin             do not pin servers and wrk to separate CPUs with taskset
  --no-floor           skip the node reference rows (node-floor.mjs) and the no-proxy ceiling
  --ceiling-duration S seconds of the no-proxy ceiling run (default 5)
  --profile            profile Meridian (and run the what-ifs) even when it meets the targets
  --no-profile         never profile, no what-ifs
  --profile-duration S seconds of profiled load, and of each what-if run (default 6)
  --out FILE           results (default bench/gateway/last-run.json)
environment: MERIDIAN_NODE_FLAGS="--flag ..." adds node flags to Meridian and the node floors (a what-if)`;

// Flags, --help and number checks: the runners' shared parser (bench/lib.mjs).
const { args, num } = runnerOptions(usage, {
  duration: { type: 'string', default: '15' },
  rounds: { type: 'string', default: '2' },
  warmup: { type: 'string', default: '3' },
  connections: { type: 'string', default: '64' },
  threads: { type: 'string', default: '1' },
  'body-bytes': { type: 'string', default: '128' },
  'no-pin': { type: 'boolean', default: false },
  'no-floor': { type: 'boolean', default: false },
  'ceiling-duration': { type: 'string', default: '5' },
  profile: { type: 'boolean', default: false },
  'no-profile': { type: 'boolean', default: false },
  'profile-duration': { type: 'string', default: '6' },
  out: { type: 'string', default: join(here, 'last-run.json') },
});
const settings = {
  durationSec: num('duration', 1),
  rounds: num('rounds', 1),
  warmupSec: num('warmup', 0),
  connections: num('connections', 1),
  threads: num('threads', 1),
  bodyBytes: num('body-bytes', 1),
  ceilingDurationSec: num('ceiling-duration', 1),
  profileDurationSec: num('profile-duration', 1),
};
const targets = { proxied: 0.5, cacheHits: 0.8 };

// ---------------------------------------------------------------- prerequisites

const needed = { wrk: 'wrk', haproxy: 'haproxy', nginx: 'nginx', varnishd: 'varnish' };
const missing = Object.keys(needed).filter((c) => !has(c));
if (missing.length > 0) {
  console.error(`bench/gateway needs ${missing.join(', ')}, not installed. On Debian or Ubuntu:\n  apt-get update && apt-get install -y ${[...new Set(missing.map((c) => needed[c]))].join(' ')}`);
  process.exit(2);
}
if (!existsSync(join(root, 'dist/node/index.js'))) {
  console.error('dist/ is not built: run `npm run build` first');
  process.exit(2);
}
const ncpu = cpus().length;
const pin = !args['no-pin'] && ncpu >= 2 && has('taskset');
const serverCpu = String(ncpu - 1);
const clientCpu = '0';
/** As bin/meridian.js's first line runs a node; MERIDIAN_NODE_FLAGS adds flags for a what-if
 *  (a later V8 flag overrides an earlier one). */
const nodeFlags = [...regionNodeV8Flags, ...(process.env.MERIDIAN_NODE_FLAGS ? process.env.MERIDIAN_NODE_FLAGS.split(' ') : [])];

// ---------------------------------------------------------------- processes

const lab = processes({ pin, tempPrefix: 'meridian-bench-gateway-' });
const { start, stop, wrapped, cleanup } = lab;

// ---------------------------------------------------------------- helpers

function fmtInt(x) {
  return x === null || x === undefined ? '?' : Math.round(x).toLocaleString('en-US');
}

/** A TCP port free on this address, as far as one can tell beforehand. */
function freePort(host) {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

/** One GET on a fresh connection: status, headers, body (bounded in time). */
function get(host, port, path, headers = {}, timeoutMs = 2000) {
  return new Promise((resolve) => {
    const req = httpRequest({ host, port, path, method: 'GET', headers, agent: false, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (e) => resolve({ status: null, error: e.message }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ status: null, error: e.message }));
    req.end();
  });
}

async function waitForHttp(host, port, path, what, child, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last = null;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}):\n${child.stderrText}`);
    last = await get(host, port, path, {}, 500);
    if (last.status === 200) return last;
    await sleep(100);
  }
  throw new Error(`${what} did not answer 200 on http://${host}:${port}${path} within ${timeoutMs / 1000} s (last: ${JSON.stringify(last)}):\n${child.stderrText}`);
}

// ---------------------------------------------------------------- configurations

const hosts = {
  origin: '127.0.0.10',
  meridian: '127.0.0.11',
  haproxy: '127.0.0.12',
  nginx: '127.0.0.13',
  varnish: '127.0.0.14',
  floorProxy: '127.0.0.15',
  floorStatic: '127.0.0.16',
};

function tempPaths(dir) {
  return ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((k) => `  ${k}_temp_path ${join(dir, `${k}_temp`)};`).join('\n');
}

function originConfig(dir, port, body) {
  mkdirSync(dir, { recursive: true });
  // One worker, no logs, keep-alive connections that last (nginx's default closes a
  // connection after 1,000 requests, which would make every proxy reconnect all the time).
  writeFileSync(join(dir, 'nginx.conf'), `# generated by bench/gateway/run.mjs: the origin
worker_processes 1;
daemon off;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 10000000;
  keepalive_timeout 120s;
  default_type text/plain;
${tempPaths(dir)}
  server {
    listen ${hosts.origin}:${port};
    location = /healthz { return 200 "ok\\n"; }
    location = /nostore { add_header Cache-Control "no-store" always; return 200 "${body}"; }
    location = /cacheable { add_header Cache-Control "public, max-age=3600" always; return 200 "${body}"; }
  }
}
`);
  return join(dir, 'nginx.conf');
}

function nginxProxyConfig(dir, port, originPort) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'nginx.conf'), `# generated by bench/gateway/run.mjs: nginx as the reverse proxy
worker_processes 1;
daemon off;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 10000000;
  keepalive_timeout 120s;
${tempPaths(dir)}
  upstream origin {
    server ${hosts.origin}:${originPort};
    keepalive 128;
    keepalive_requests 10000000;
    keepalive_timeout 120s;
  }
  server {
    listen ${hosts.nginx}:${port};
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
  }
}
`);
  return join(dir, 'nginx.conf');
}

function haproxyConfig(dir, port, originPort) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'haproxy.cfg'), `# generated by bench/gateway/run.mjs
global
  nbthread 1
  maxconn 8000

defaults
  mode http
  option http-keep-alive
  http-reuse always
  option forwardfor
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  timeout http-keep-alive 120s

frontend bench
  bind ${hosts.haproxy}:${port}
  default_backend origin

backend origin
  server origin ${hosts.origin}:${originPort} maxconn 1000
`);
  return join(dir, 'haproxy.cfg');
}

function varnishVcl(dir, originPort) {
  mkdirSync(dir, { recursive: true });
  // The built-in VCL does the caching; this adds X-Cache (obj.hits) like Meridian's
  // x-meridian-cache, so both servers do comparable per-response work.
  writeFileSync(join(dir, 'bench.vcl'), `vcl 4.1;
# generated by bench/gateway/run.mjs
backend origin { .host = "${hosts.origin}"; .port = "${originPort}"; }
sub vcl_deliver {
  if (obj.hits > 0) { set resp.http.X-Cache = "HIT"; } else { set resp.http.X-Cache = "MISS"; }
}
`);
  return join(dir, 'bench.vcl');
}

function meridianTopology(dir, meshPort, originPort) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'topology.yaml'), `# generated by bench/gateway/run.mjs: one region whose app is the benchmark's origin
service:
  name: bench
  zone: bench.example.test
  hosts: [www]
regions:
  - id: us-east-1
    jurisdiction: us
    public: ${hosts.meridian}
    mesh: ${hosts.meridian}:${meshPort}
    app: http://${hosts.origin}:${originPort}
deployment:
  model: active-active
  primary: us-east-1
health:
  interval: 1s
  timeout: 500ms
  down_after: 3
  up_after: 3
  app_path: /healthz
cache:
  max_size: 256MB
security:
  mesh_secret_env: MERIDIAN_MESH_SECRET
`);
  return join(dir, 'topology.yaml');
}

// ---------------------------------------------------------------- wrk

function toMs(v, unit) {
  const x = Number(v);
  return unit === 'us' ? x / 1000 : unit === 'ms' ? x : unit === 's' ? x * 1000 : unit === 'm' ? x * 60_000 : unit === 'h' ? x * 3_600_000 : NaN;
}

function parseWrk(text) {
  const lat = (p) => {
    const m = text.match(new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m|h)\\s*$`, 'm'));
    return m === null ? null : round(toMs(m[1], m[2]), 3);
  };
  const avg = text.match(/^\s+Latency\s+([\d.]+)(us|ms|s|m|h)\s+([\d.]+)(us|ms|s|m|h)\s+([\d.]+)(us|ms|s|m|h)/m);
  const total = text.match(/(\d+) requests in ([\d.]+)(us|ms|s|m|h)/);
  const sock = text.match(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/);
  const non2xx = text.match(/Non-2xx or 3xx responses: (\d+)/);
  const rps = text.match(/Requests\/sec:\s+([\d.]+)/);
  if (rps === null || total === null) throw new Error(`cannot read wrk's output:\n${text}`);
  return {
    rps: Number(rps[1]),
    requests: Number(total[1]),
    seconds: toMs(total[2], total[3]) / 1000,
    p50Ms: lat(50),
    p75Ms: lat(75),
    p90Ms: lat(90),
    p99Ms: lat(99),
    avgMs: avg === null ? null : round(toMs(avg[1], avg[2]), 3),
    sdMs: avg === null ? null : round(toMs(avg[3], avg[4]), 3),
    maxMs: avg === null ? null : round(toMs(avg[5], avg[6]), 3),
    socketErrors: sock === null ? { connect: 0, read: 0, write: 0, timeout: 0 } : { connect: Number(sock[1]), read: Number(sock[2]), write: Number(sock[3]), timeout: Number(sock[4]) },
    non2xx: non2xx === null ? 0 : Number(non2xx[1]),
  };
}

/** One wrk run against url; CPU of the server tree, wrk, the origin and the machine alongside. */
async function wrk(url, seconds, serverPid, originPid) {
  const argv = [`-t${settings.threads}`, `-c${settings.connections}`, `-d${seconds}s`, '--latency', url];
  const child = start(clientCpu, 'wrk', argv);
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  const t0 = Date.now();
  const server0 = treeTicks(serverPid);
  const origin0 = originPid === null ? null : treeTicks(originPid);
  const client0 = cpuSplit(child.pid);
  const machine0 = machineTicks();
  // wrk's CPU and what everything else used meanwhile, sampled just before wrk's end (its
  // /proc entry goes when it exits).
  let sampled = null;
  const sample = setTimeout(() => {
    const secs = (Date.now() - t0) / 1000;
    const c1 = cpuSplit(child.pid);
    const s1 = treeTicks(serverPid);
    const o1 = originPid === null ? null : treeTicks(originPid);
    const m1 = machineTicks();
    const pct = (ticks) => round(Math.max(0, (100 * ticks) / clkTck / secs));
    const sum = (x) => (x === null ? 0 : x.user + x.sys);
    const d = (a, b) => (a === null || b === null ? null : sum(b) - sum(a));
    const dc = d(client0, c1);
    const ds = d(server0, s1);
    const dor = d(origin0, o1);
    sampled = {
      clientCpuPct: dc === null ? null : pct(dc),
      originCpuPct: dor === null ? null : pct(dor),
      irqCpuPct: pct(m1.irq - machine0.irq),
      stealCpuPct: pct(m1.steal - machine0.steal),
      otherCpuPct: dc === null || ds === null ? null : pct(m1.processes - machine0.processes - dc - ds - (dor ?? 0)),
    };
  }, Math.max(0, seconds * 1000 - 500));
  const done = await exited(child, (seconds + 20) * 1000);
  clearTimeout(sample);
  if (!done) {
    await stop(child);
    throw new Error(`wrk did not stop within ${seconds + 20} s`);
  }
  lab.forget(child);
  const server1 = treeTicks(serverPid);
  if (child.exitCode !== 0) throw new Error(`wrk exited ${child.exitCode}:\n${stdout}\n${child.stderrText}`);
  const r = parseWrk(stdout);
  const known = server0 !== null && server1 !== null;
  const serverCpuSec = known ? (server1.user + server1.sys - server0.user - server0.sys) / clkTck : null;
  const serverSysSec = known ? (server1.sys - server0.sys) / clkTck : null;
  return {
    ...r,
    serverCpuSec,
    serverSysSec,
    serverCpuPct: serverCpuSec === null ? null : round((100 * serverCpuSec) / r.seconds),
    ...(sampled ?? { clientCpuPct: null, originCpuPct: null, irqCpuPct: null, stealCpuPct: null, otherCpuPct: null }),
  };
}

function aggregate(runs) {
  const requests = runs.reduce((s, r) => s + r.requests, 0);
  const time = runs.reduce((s, r) => s + r.seconds, 0);
  const cpu = runs.every((r) => r.serverCpuSec !== null) ? runs.reduce((s, r) => s + r.serverCpuSec, 0) : null;
  const sys = runs.every((r) => r.serverSysSec !== null) ? runs.reduce((s, r) => s + r.serverSysSec, 0) : null;
  const mean = (k) => (runs.every((r) => r[k] !== null) ? round(runs.reduce((s, r) => s + r[k], 0) / runs.length) : null);
  // Percentiles do not average; the request-weighted mean of each run's percentile is a
  // summary, and each run's own figures are kept in `runs`.
  const pct = (k) => round(runs.reduce((s, r) => s + r.requests * r[k], 0) / requests, 3);
  return {
    rps: round(requests / time),
    rpsByRun: runs.map((r) => round(r.rps)),
    rpsBest: round(Math.max(...runs.map((r) => r.rps))),
    p50Ms: pct('p50Ms'),
    p99Ms: pct('p99Ms'),
    p99MsByRun: runs.map((r) => r.p99Ms),
    maxMs: Math.max(...runs.map((r) => r.maxMs ?? 0)),
    requests,
    seconds: round(time, 2),
    non2xx: runs.reduce((s, r) => s + r.non2xx, 0),
    socketErrors: runs.reduce((s, r) => s + r.socketErrors.connect + r.socketErrors.read + r.socketErrors.write + r.socketErrors.timeout, 0),
    serverCpuPct: cpu === null ? null : round((100 * cpu) / time),
    serverCpuUsPerRequest: cpu === null ? null : round((cpu * 1e6) / requests, 2),
    serverUserUsPerRequest: cpu === null || sys === null ? null : round(((cpu - sys) * 1e6) / requests, 2),
    serverSysUsPerRequest: sys === null ? null : round((sys * 1e6) / requests, 2),
    clientCpuPct: mean('clientCpuPct'),
    originCpuPct: mean('originCpuPct'),
    irqCpuPct: mean('irqCpuPct'),
    otherCpuPctMax: runs.every((r) => r.otherCpuPct !== null) ? Math.max(...runs.map((r) => r.otherCpuPct)) : null,
    stealCpuPctMax: runs.every((r) => r.stealCpuPct !== null) ? Math.max(...runs.map((r) => r.stealCpuPct)) : null,
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
    undici: (() => {
      try {
        return JSON.parse(readFileSync(join(root, 'node_modules/undici/package.json'), 'utf8')).version;
      } catch {
        return null;
      }
    })(),
    haproxy: version('haproxy', ['-v'], /HAProxy version (\S+)/),
    nginx: version('nginx', ['-v'], /nginx\/(\S+)/),
    varnish: version('varnishd', ['-V'], /varnish-(\S+)/),
    wrk: version('wrk', ['-v'], /wrk (\S+)/),
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
  mach.busyBeforeStartPct = round((100 * (machineBusyTicks() - busy0)) / clkTck);
  if (mach.busyBeforeStartPct > 20) log(`warning: the machine was ${mach.busyBeforeStartPct}% busy (of one CPU) before the benchmark started: other work will disturb the figures`);
  log(`bench/gateway: ${mach.cpuModel}, ${mach.nproc} CPUs, node ${mach.node}, HAProxy ${mach.haproxy}, nginx ${mach.nginx}, Varnish ${mach.varnish}, wrk ${mach.wrk}`);
  log(pin ? `pinning: servers on CPU ${serverCpu}, wrk and the origin on CPU ${clientCpu}` : 'no CPU pinning');

  const body = `${'x'.repeat(settings.bodyBytes - 1)}\n`;
  const bodyForNginx = body.replace(/\n$/, '\\n');

  // The origin.
  const originPort = await freePort(hosts.origin);
  const originConf = originConfig(join(workDir, 'origin'), originPort, bodyForNginx);
  const origin = start(clientCpu, 'nginx', ['-e', join(workDir, 'origin', 'error.log'), '-p', join(workDir, 'origin'), '-c', originConf]);
  await waitForHttp(hosts.origin, originPort, '/healthz', 'the origin (nginx)', origin, 20_000);
  log(`origin: nginx on ${hosts.origin}:${originPort}, pid ${origin.pid}`);

  const servers = {};
  const add = (key, label, host, port, child, extra = {}) => {
    servers[key] = { key, label, host, port, child, pid: child.pid, ...extra };
    log(`${key}: ${host}:${port}, pid ${child.pid}`);
  };

  // Meridian.
  const meshSecret = randomBytes(24).toString('hex');
  const meshPort = await freePort(hosts.meridian);
  const topo = meridianTopology(join(workDir, 'meridian'), meshPort, originPort);
  const merArgv = [...nodeFlags, join(here, 'meridian-harness.mjs'), '--config', topo, '--region', 'us-east-1', '--http-port', '0'];
  const merEnv = { ...process.env, MERIDIAN_MESH_SECRET: meshSecret, MERIDIAN_LOG_LEVEL: process.env.MERIDIAN_LOG_LEVEL ?? 'info' };
  const mer = start(serverCpu, process.execPath, merArgv, { env: merEnv });
  const merReady = await readyLine(mer, 'the Meridian harness', 60_000);
  const merPort = Number(merReady.http.split(':').pop());
  add('meridian', 'Meridian gateway (RegionNode, roles [gateway])', hosts.meridian, merPort, mer, { mesh: merReady.mesh });

  // HAProxy.
  const haPort = await freePort(hosts.haproxy);
  const ha = start(serverCpu, 'haproxy', ['-db', '-f', haproxyConfig(join(workDir, 'haproxy'), haPort, originPort)]);
  await waitForHttp(hosts.haproxy, haPort, '/healthz', 'HAProxy', ha, 20_000);
  add('haproxy', `HAProxy ${mach.haproxy} (nbthread 1, http-reuse always)`, hosts.haproxy, haPort, ha);

  // nginx as the proxy.
  const ngPort = await freePort(hosts.nginx);
  const ngDir = join(workDir, 'nginx-proxy');
  const ng = start(serverCpu, 'nginx', ['-e', join(ngDir, 'error.log'), '-p', ngDir, '-c', nginxProxyConfig(ngDir, ngPort, originPort)]);
  await waitForHttp(hosts.nginx, ngPort, '/healthz', 'nginx (proxy)', ng, 20_000);
  add('nginx', `nginx ${mach.nginx} (1 worker, upstream keepalive)`, hosts.nginx, ngPort, ng);

  // Varnish.
  const vaPort = await freePort(hosts.varnish);
  const vaDir = join(workDir, 'varnish');
  const vcl = varnishVcl(join(workDir, 'varnish-conf'), originPort);
  // -j none: no privilege separation jail. The jail changes the manager's credentials,
  // which clears the parent-death signal (setpriv --pdeathsig), and a runner killed outright
  // would leave Varnish behind.
  const va = start(serverCpu, 'varnishd', ['-F', '-j', 'none', '-n', vaDir, '-a', `${hosts.varnish}:${vaPort}`, '-T', `${hosts.varnish}:0`, '-f', vcl, '-s', 'malloc,64m', '-p', 'thread_pools=1']);
  await waitForHttp(hosts.varnish, vaPort, '/healthz', 'Varnish', va, 30_000);
  add('varnish', `Varnish ${mach.varnish} (malloc 64 MB, thread_pools=1)`, hosts.varnish, vaPort, va, { workDir: vaDir });

  // The node reference rows.
  const floor = !args['no-floor'];
  if (floor) {
    const fp = start(serverCpu, process.execPath, [...nodeFlags, join(here, 'node-floor.mjs'), '--mode', 'proxy', '--upstream', `http://${hosts.origin}:${originPort}`, '--host', hosts.floorProxy]);
    const fpReady = await readyLine(fp, 'the node proxy floor', 20_000);
    add('floorProxy', 'node:http + undici proxy floor (reference)', hosts.floorProxy, fpReady.port, fp, { reference: true });
    const fs = start(serverCpu, process.execPath, [...nodeFlags, join(here, 'node-floor.mjs'), '--mode', 'static', '--body-bytes', String(settings.bodyBytes), '--host', hosts.floorStatic]);
    const fsReady = await readyLine(fs, 'the node static floor', 20_000);
    add('floorStatic', 'node:http answering from memory, floor (reference)', hosts.floorStatic, fsReady.port, fs, { reference: true });
  }

  // ---- checks before any load
  const checks = {};
  const bearer = { authorization: `Bearer ${meshSecret}` };
  const [meshHost, meshP] = [hosts.meridian, meshPort];
  const proxyKeys = ['meridian', 'haproxy', 'nginx', ...(floor ? ['floorProxy'] : [])];
  for (const k of proxyKeys) {
    const s = servers[k];
    const r = await get(s.host, s.port, '/nostore');
    const ok = r.status === 200 && r.body === body && r.headers['cache-control'] === 'no-store';
    checks[`${k} /nostore`] = { ok, status: r.status, bodyBytes: r.body?.length ?? null, cacheControl: r.headers?.['cache-control'] ?? null, ...(k === 'meridian' && { route: r.headers?.['x-meridian-route'], cache: r.headers?.['x-meridian-cache'], region: r.headers?.['x-meridian-region'] }) };
    if (!ok) throw new Error(`${k}: GET /nostore did not return the origin's response: ${JSON.stringify(r)}`);
  }
  const mr = checks['meridian /nostore'];
  if (mr.route !== 'local: app up' || mr.cache !== 'miss') throw new Error(`Meridian did not serve /nostore from the local app as a cache miss: ${JSON.stringify(mr)}`);
  const healthz = await get(meshHost, meshP, '/healthz', bearer);
  checks['meridian mesh /healthz'] = { ok: healthz.status === 200, status: healthz.status, body: healthz.body };
  if (healthz.status !== 200) throw new Error(`Meridian's health prober does not see the origin as up: ${JSON.stringify(healthz)}`);
  log(`checks: every proxy returns the origin's /nostore (200, ${body.length} bytes, no-store); Meridian routes it "${mr.route}", x-meridian-cache ${mr.cache}; its prober: app ${JSON.parse(healthz.body).app}`);

  // Cache: a warm-up request each, then the second must be a hit.
  const cacheKeys = ['meridian', 'varnish', ...(floor ? ['floorStatic'] : [])];
  for (const k of ['meridian', 'varnish']) {
    const s = servers[k];
    const first = await get(s.host, s.port, '/cacheable');
    await sleep(1100); // so that Age shows a stored copy
    const second = await get(s.host, s.port, '/cacheable');
    const h = second.headers ?? {};
    const hit = k === 'meridian' ? h['x-meridian-cache'] === 'hit' : h['x-cache'] === 'HIT' && /^\d+ \d+$/.test(String(h['x-varnish']));
    const ok = first.status === 200 && second.status === 200 && second.body === body && hit && Number(h.age) >= 1;
    checks[`${k} /cacheable`] = {
      ok,
      first: { status: first.status, cache: k === 'meridian' ? first.headers?.['x-meridian-cache'] : first.headers?.['x-cache'] },
      second: { status: second.status, cache: k === 'meridian' ? h['x-meridian-cache'] : h['x-cache'], age: h.age ?? null, ...(k === 'meridian' ? { route: h['x-meridian-route'] } : { xVarnish: h['x-varnish'] }) },
    };
    if (!ok) throw new Error(`${k}: the second GET /cacheable was not a cache hit: ${JSON.stringify(checks[`${k} /cacheable`])}`);
  }
  log(`checks: after a warm-up request /cacheable is a hit: Meridian x-meridian-cache ${checks['meridian /cacheable'].second.cache} (age ${checks['meridian /cacheable'].second.age}), Varnish X-Cache ${checks['varnish /cacheable'].second.cache} (age ${checks['varnish /cacheable'].second.age}, X-Varnish ${checks['varnish /cacheable'].second.xVarnish})`);

  const statusBefore = JSON.parse((await get(meshHost, meshP, '/status', bearer)).body);
  const rss = { beforeLoad: memory(mer.pid) };
  log(`Meridian RSS before load: ${rss.beforeLoad?.rssMiB} MiB`);

  // ---- the no-proxy ceiling: wrk straight to the origin, both on CPU 0 as in every proxy run
  let ceiling = null;
  if (floor) {
    log(`no-proxy ceiling: wrk -> origin /nostore, ${settings.ceilingDurationSec} s`);
    const r = await wrk(`http://${hosts.origin}:${originPort}/nostore`, settings.ceilingDurationSec, origin.pid, null);
    ceiling = { label: 'wrk -> origin directly, no proxy (ceiling of CPU 0)', ...aggregate([r]), runs: [r] };
    log(`  ${fmtInt(r.rps)} req/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, origin+wrk CPU ${r.serverCpuPct}% + ${r.clientCpuPct}%`);
  }

  // ---- phases: proxied requests, then cache hits
  // The contenders run in every round, ABBA; the reference rows (node floors) once, in
  // round 1, to keep a full run near 5 minutes.
  const order = [];
  const sent = {}; // every request wrk sent to each server in each phase, warm-up included
  const phase = async (name, keys, path, originPid) => {
    const runs = Object.fromEntries(keys.map((k) => [k, []]));
    sent[name] = Object.fromEntries(keys.map((k) => [k, 0]));
    if (settings.warmupSec > 0) {
      for (const k of keys) {
        log(`${name} warm-up ${k}: ${settings.warmupSec} s`);
        const w = await wrk(`http://${servers[k].host}:${servers[k].port}${path}`, settings.warmupSec, servers[k].pid, originPid);
        sent[name][k] += w.requests;
      }
    }
    for (let round = 0; round < settings.rounds; round++) {
      const inRound = keys.filter((k) => round === 0 || !servers[k].reference);
      const seq = round % 2 === 0 ? inRound : [...inRound].reverse();
      for (const k of seq) {
        log(`${name} round ${round + 1}/${settings.rounds} ${k}: ${settings.durationSec} s`);
        const r = await wrk(`http://${servers[k].host}:${servers[k].port}${path}`, settings.durationSec, servers[k].pid, originPid);
        log(`  ${fmtInt(r.rps)} req/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, non-2xx ${r.non2xx}, errors ${JSON.stringify(r.socketErrors)}, server CPU ${r.serverCpuPct}%, wrk ${r.clientCpuPct ?? '?'}%, origin ${r.originCpuPct ?? '-'}%, softirq ${r.irqCpuPct}%, others ${r.otherCpuPct ?? '?'}%`);
        runs[k].push({ round: round + 1, ...r });
        sent[name][k] += r.requests;
        order.push(`${name}:${k}`);
      }
    }
    return Object.fromEntries(keys.map((k) => [k, { label: servers[k].label, ...aggregate(runs[k]), runs: runs[k] }]));
  };

  const proxied = await phase('proxied', proxyKeys, '/nostore', origin.pid);
  rss.afterProxiedLoad = memory(mer.pid);
  const originCpuBeforeCache = treeTicks(origin.pid);
  const statusMid = JSON.parse((await get(meshHost, meshP, '/status', bearer)).body);
  const varnishBefore = varnishStats(vaDir);
  const hits = await phase('cache', cacheKeys, '/cacheable', null);
  rss.afterCacheLoad = memory(mer.pid);
  const originCpuAfterCache = treeTicks(origin.pid);
  const statusAfter = JSON.parse((await get(meshHost, meshP, '/status', bearer)).body);
  const varnishAfter = varnishStats(vaDir);
  const metricsText = (await get(meshHost, meshP, '/metrics', bearer)).body ?? '';
  const healthChanges = [...metricsText.matchAll(/^meridian_health_changes_total\{[^}]*\} (\d+)/gm)].reduce((s, m) => s + Number(m[1]), 0);

  // What the servers say they did during the cache phase.
  const cacheCounts = (a, b) => Object.fromEntries(['hits', 'misses', 'stale', 'revalidated', 'bypass'].map((k) => [k, (b?.cache?.[k] ?? 0) - (a?.cache?.[k] ?? 0)]));
  const meridianDuringProxied = cacheCounts(statusBefore, statusMid);
  const meridianDuringHits = cacheCounts(statusMid, statusAfter);
  const varnishDuringHits = varnishBefore === null || varnishAfter === null ? null : Object.fromEntries(Object.keys(varnishAfter).map((k) => [k, varnishAfter[k] - (varnishBefore[k] ?? 0)]));
  const originTicksDuringHits = originCpuBeforeCache === null || originCpuAfterCache === null ? null : originCpuAfterCache.user + originCpuAfterCache.sys - originCpuBeforeCache.user - originCpuBeforeCache.sys;
  const appHealth = statusAfter.health?.['us-east-1'] ?? null;
  const otherRss = Object.fromEntries(Object.entries(servers).filter(([k]) => k !== 'meridian').map(([k, s]) => [k, treeRssMiB(s.pid)]));
  otherRss.origin = treeRssMiB(origin.pid);

  // Everything stops but the origin, which the diagnosis below uses again.
  for (const s of Object.values(servers)) await stop(s.child);

  // ---- ratios
  const ratio = (a, b) => (a && b ? round(a / b, 3) : null);
  const cpuRatio = (m, x) => (m?.serverCpuUsPerRequest && x?.serverCpuUsPerRequest ? round(x.serverCpuUsPerRequest / m.serverCpuUsPerRequest, 3) : null);
  const ratios = {
    meridianOverHaproxy: ratio(proxied.meridian.rps, proxied.haproxy.rps),
    meridianOverNginx: ratio(proxied.meridian.rps, proxied.nginx.rps),
    meridianOverHaproxyBestRun: ratio(proxied.meridian.rpsBest, proxied.haproxy.rpsBest),
    meridianOverNginxBestRun: ratio(proxied.meridian.rpsBest, proxied.nginx.rpsBest),
    meridianOverHaproxyByCpu: cpuRatio(proxied.meridian, proxied.haproxy),
    meridianOverNginxByCpu: cpuRatio(proxied.meridian, proxied.nginx),
    meridianOverNodeProxyFloor: floor ? ratio(proxied.meridian.rps, proxied.floorProxy.rps) : null,
    hitsMeridianOverVarnish: ratio(hits.meridian.rps, hits.varnish.rps),
    hitsMeridianOverVarnishBestRun: ratio(hits.meridian.rpsBest, hits.varnish.rpsBest),
    hitsMeridianOverVarnishByCpu: cpuRatio(hits.meridian, hits.varnish),
    hitsMeridianOverNodeStaticFloor: floor ? ratio(hits.meridian.rps, hits.floorStatic.rps) : null,
  };
  const met = { proxied: ratios.meridianOverHaproxy >= targets.proxied, cacheHits: ratios.hitsMeridianOverVarnish >= targets.cacheHits };

  // ---- tables
  const table = (title, rows, withOrigin) => {
    const head = ['server', 'req/s', 'by run', 'p50 ms', 'p99 ms', 'max ms', 'non-2xx', 'errors', 'server CPU', 'CPU us/req (user+sys)', 'wrk CPU', ...(withOrigin ? ['origin CPU'] : []), 'softirq', 'others max'];
    const body = rows.map((r) => [
      r.label, fmtInt(r.rps), r.rpsByRun.map((x) => fmtInt(x)).join(' '), r.p50Ms.toFixed(2), r.p99Ms.toFixed(2), r.maxMs.toFixed(1), String(r.non2xx), String(r.socketErrors),
      `${r.serverCpuPct}%`, `${r.serverCpuUsPerRequest} (${r.serverUserUsPerRequest}+${r.serverSysUsPerRequest})`, `${r.clientCpuPct ?? '?'}%`, ...(withOrigin ? [`${r.originCpuPct ?? '-'}%`] : []), `${r.irqCpuPct ?? '?'}%`, `${r.otherCpuPctMax ?? '?'}%`,
    ]);
    const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
    const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
    console.log(`\n${title}`);
    console.log(line(head));
    for (const b of body) console.log(line(b));
  };
  table(`proxied requests: GET /nostore (Cache-Control: no-store, ${settings.bodyBytes}-byte body), wrk -t${settings.threads} -c${settings.connections}, ${settings.durationSec} s x ${settings.rounds} rounds each`, [...proxyKeys.map((k) => proxied[k]), ...(ceiling ? [ceiling] : [])], true);
  table('cache hits: GET /cacheable (Cache-Control: public, max-age=3600), after a warm-up request', cacheKeys.map((k) => hits[k]), false);
  console.log('');
  const f = (x) => (x === null ? '?' : x.toFixed(3));
  console.log(`ratio Meridian/HAProxy, proxied req/s: ${f(ratios.meridianOverHaproxy)} (best run against best run ${f(ratios.meridianOverHaproxyBestRun)}; by CPU per request ${f(ratios.meridianOverHaproxyByCpu)})   target >= ${targets.proxied}: ${met.proxied ? 'met' : 'NOT met'}`);
  console.log(`ratio Meridian/nginx,   proxied req/s: ${f(ratios.meridianOverNginx)} (best run against best run ${f(ratios.meridianOverNginxBestRun)}; by CPU per request ${f(ratios.meridianOverNginxByCpu)})`);
  console.log(`ratio Meridian/Varnish, cache hits/s:  ${f(ratios.hitsMeridianOverVarnish)} (best run against best run ${f(ratios.hitsMeridianOverVarnishBestRun)}; by CPU per request ${f(ratios.hitsMeridianOverVarnishByCpu)})   target >= ${targets.cacheHits}: ${met.cacheHits ? 'met' : 'NOT met'}`);
  if (ceiling !== null) {
    const bound = ['haproxy', 'nginx'].filter((k) => proxied[k].rps >= 0.85 * ceiling.rps);
    if (bound.length > 0) console.log(`note: ${bound.join(' and ')} reached ${bound.map((k) => `${Math.round((100 * proxied[k].rps) / ceiling.rps)}%`).join(' and ')} of what wrk and the origin do on CPU 0 without any proxy (${fmtInt(ceiling.rps)} req/s): bounded by the client side here, so the req/s ratios flatter Meridian; CPU per request is the fairer comparison`);
  }
  if (floor) console.log(`Meridian / node floor: proxied ${f(ratios.meridianOverNodeProxyFloor)}, cache hits ${f(ratios.hitsMeridianOverNodeStaticFloor)}`);
  console.log('(server CPU: the server process tree, all threads, % of one CPU; CPU us/req: its CPU time per request; wrk and origin share CPU 0; softirq: kernel packet processing, charged to no process; others max: the most CPU any run saw other processes on the machine use; p50/p99: request-weighted mean of the runs\' wrk percentiles)');
  console.log(`Meridian RSS: ${rss.beforeLoad?.rssMiB} MiB before load, ${rss.afterProxiedLoad?.rssMiB} MiB after the proxied load, ${rss.afterCacheLoad?.rssMiB} MiB after the cache-hit load (peak ${rss.afterCacheLoad?.peakRssMiB} MiB); others: ${Object.entries(otherRss).map(([k, v]) => `${k} ${v} MiB`).join(', ')}`);
  console.log(`Meridian's cache during the proxied phase: ${JSON.stringify(meridianDuringProxied)}; during the cache phase: ${JSON.stringify(meridianDuringHits)} (wrk sent it ${fmtInt(sent.cache.meridian)} requests, warm-up included); Varnish during the cache phase: ${JSON.stringify(varnishDuringHits)} (wrk sent it ${fmtInt(sent.cache.varnish)}); origin CPU during the cache phase: ${originTicksDuringHits === null ? '?' : `${originTicksDuringHits} ticks`}`);
  console.log(`Meridian's prober at the end: app ${appHealth?.up ? 'up' : 'DOWN'} (${appHealth?.lastResult ?? '?'}), health changes during the run: ${healthChanges}`);

  const out = {
    when: new Date().toISOString(),
    command: `node ${relative(root, fileURLToPath(import.meta.url))} ${process.argv.slice(2).join(' ')}`.trim(),
    machine: mach,
    settings: {
      ...settings,
      wrk: `wrk -t${settings.threads} -c${settings.connections} -d${settings.durationSec}s --latency`,
      pinned: pin ? { servers: `CPU ${serverCpu}`, wrkAndOrigin: `CPU ${clientCpu}` } : null,
      meridianNodeFlags: nodeFlags,
      order,
      addresses: hosts,
    },
    checks,
    proxied,
    noProxyCeiling: ceiling,
    cacheHits: hits,
    ratios,
    targets,
    met,
    meridianRss: rss,
    otherRssMiB: otherRss,
    requestsSentIncludingWarmup: sent,
    meridianCacheCounts: { duringProxied: meridianDuringProxied, duringHits: meridianDuringHits, atEnd: statusAfter.cache ?? null },
    varnishCountersDuringHits: varnishDuringHits,
    originCpuTicksDuringHits: originTicksDuringHits,
    meridianHealth: { app: appHealth, healthChanges },
  };

  // ---- diagnosis when short of the targets (or asked for): a CPU profile of a fresh
  // Meridian process under the same load, and what-ifs (the same harness with one thing
  // patched out in memory, or without the V8 flag) against a plain one: all up at once,
  // each warmed up, then two rounds of half the profile duration, ABBA, like the servers.
  const wanted = (short) => args.profile || (!args['no-profile'] && short);
  const diagnosis = {};
  for (const [kind, path, short, whatIfs] of [
    ['proxied', '/nostore', !met.proxied, [
      { name: 'as run above (plain)', whatIf: [], flags: nodeFlags },
      { name: 'no cache stage', whatIf: ['no-cache-stage'], flags: nodeFlags },
      { name: 'no cache/home/replay stage, no metrics', whatIf: ['origin-only', 'no-metrics'], flags: nodeFlags },
      { name: "V8's default young generation (no --max-semi-space-size)", whatIf: [], flags: [] },
      { name: 'the 2 MB young generation it replaced: --max-semi-space-size=2', whatIf: [], flags: ['--max-semi-space-size=2'] },
    ]],
    ['hits', '/cacheable', !met.cacheHits, [
      { name: 'as run above (plain)', whatIf: [], flags: nodeFlags },
      { name: 'no metrics', whatIf: ['no-metrics'], flags: nodeFlags },
      { name: 'the 2 MB young generation it replaced: --max-semi-space-size=2', whatIf: [], flags: ['--max-semi-space-size=2'] },
    ]],
  ]) {
    if (!wanted(short)) continue;
    const profile = await meridianRun({ kind, path, whatIf: [], flags: nodeFlags, profile: true }, origin, originPort);
    // Hits cost more in the benchmark's process, which carried the proxied load first, than
    // in a fresh one: the same profile after as many seconds of proxied load, to compare.
    const afterProxied = kind === 'hits' ? await meridianRun({ kind: 'hits-after-proxied', path, whatIf: [], flags: nodeFlags, profile: true, preload: { path: '/nostore', seconds: 2 * settings.durationSec } }, origin, originPort) : undefined;
    diagnosis[kind] = { path, profile, ...(afterProxied !== undefined && { afterProxied }), whatIfs: await whatIfRuns(kind, path, whatIfs, origin, originPort) };
  }
  await stop(origin);
  if (Object.keys(diagnosis).length > 0) diagnosis.components = components();
  if (Object.keys(diagnosis).length > 0) {
    out.diagnosis = diagnosis;
    const { formatSummary } = await import('../dns/profile-summary.mjs');
    for (const [kind, d] of Object.entries(diagnosis)) {
      if (kind === 'components') continue;
      for (const [label, pr] of [['', d.profile], [`, after ${2 * settings.durationSec} s of proxied load`, d.afterProxied]]) {
        if (!pr?.summary) continue;
        const s = pr.summary;
        console.log(`\nprofile of Meridian under load, ${kind}${label} (GET ${d.path}; ${fmtInt(pr.rps)} req/s while profiled, ${pr.serverCpuUsPerRequest} us CPU/req; ${pr.file}; the ${settings.profileDurationSec} s of measured load only):`);
        console.log(formatSummary({ ...s, modules: s.modules.slice(0, 15), selfTop: s.selfTop.slice(0, 25), inclusiveTop: s.inclusiveTop.slice(0, 25) }));
      }
      console.log(`\nwhat-ifs, ${kind} (GET ${d.path}; one Meridian process each, ${settings.warmupSec} s warm-up, then 2 x ${settings.profileDurationSec / 2} s ABBA; patched in memory, src/ untouched):`);
      const base = d.whatIfs[0]?.rps;
      for (const w of d.whatIfs) console.log(`  ${fmtInt(w.rps).padStart(8)} req/s (${w.rpsByRun.map((x) => fmtInt(x)).join(' ')})  x${(w.rps / base).toFixed(2)}  p99 ${w.p99Ms.toFixed(2)} ms  CPU ${w.serverCpuUsPerRequest} us/req (user ${w.serverUserUsPerRequest})  others max ${w.otherCpuPctMax ?? '?'}%  peak RSS ${w.peakRssMiB} MiB  ${w.name}`);
    }
    if (diagnosis.components) {
      console.log('\npieces of the path without sockets, CPU us per call (components.mjs):');
      for (const [k, v] of Object.entries(diagnosis.components)) console.log(`  ${v.usPerOp.toFixed(3).padStart(9)}  ${k}`);
    }
  }

  writeFileSync(args.out, `${JSON.stringify(out, null, 2)}\n`);
  console.log(`\nwrote ${relative(process.cwd(), args.out)}`);
}

/** Varnish's hit and miss counters (shared memory, through varnishstat). */
function varnishStats(dir) {
  const r = spawnSync('varnishstat', ['-n', dir, '-1', '-f', 'MAIN.cache_hit', '-f', 'MAIN.cache_miss', '-f', 'MAIN.client_req', '-f', 'MAIN.backend_req'], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) return null;
  const out = {};
  for (const m of r.stdout.matchAll(/^MAIN\.(\w+)\s+(\d+)/gm)) out[m[1]] = Number(m[2]);
  return out;
}

/** A fresh Meridian process on the origin: warm-up, then a measured wrk run; with
 *  profile, under node --cpu-prof, the profile cut to the measured run and summarised. */
async function meridianRun({ kind, path, whatIf, flags, profile, preload }, origin, originPort) {
  const dir = mkdtempSync(join(lab.workDir(), `${kind}-`));
  log(`diagnosis, ${kind}: ${profile ? 'profile (node --cpu-prof)' : `what-if [${[...whatIf, ...(flags.length === 0 ? ['no node flags'] : flags)].join(', ')}]`}: ${settings.warmupSec} s warm-up + ${settings.profileDurationSec} s of wrk on ${path}`);
  const meshPort = await freePort(hosts.meridian);
  const topo = meridianTopology(join(dir, 'meridian'), meshPort, originPort);
  const env = { ...process.env, MERIDIAN_MESH_SECRET: randomBytes(24).toString('hex') };
  const argv = [...flags, ...(profile ? ['--cpu-prof', '--cpu-prof-dir', dir] : []), join(here, 'meridian-harness.mjs'), '--config', topo, '--region', 'us-east-1', '--http-port', '0', ...(whatIf.length > 0 ? ['--what-if', whatIf.join(',')] : [])];
  const t0 = Date.now();
  const child = start(serverCpu, process.execPath, argv, { env });
  const ready = await readyLine(child, 'a diagnosis Meridian harness', 60_000);
  const [host, port] = [ready.http.slice(0, ready.http.lastIndexOf(':')), Number(ready.http.split(':').pop())];
  const check = await get(host, port, path);
  if (check.status !== 200) throw new Error(`diagnosis Meridian (${whatIf.join(',')}): GET ${path} answered ${check.status}`);
  const url = `http://${ready.http}${path}`;
  if (preload !== undefined) await wrk(`http://${ready.http}${preload.path}`, preload.seconds, child.pid, origin.pid);
  if (settings.warmupSec > 0) await wrk(url, settings.warmupSec, child.pid, kind === 'proxied' ? origin.pid : null);
  const from = Date.now() - t0;
  const r = await wrk(url, settings.profileDurationSec, child.pid, kind === 'proxied' ? origin.pid : null);
  const to = Date.now() - t0;
  const mem = memory(child.pid);
  await stop(child);
  const result = { whatIf, nodeFlags: flags, rps: round(r.rps), p50Ms: r.p50Ms, p99Ms: r.p99Ms, non2xx: r.non2xx, serverCpuPct: r.serverCpuPct, serverCpuUsPerRequest: round((r.serverCpuSec * 1e6) / r.requests, 2), serverUserUsPerRequest: round(((r.serverCpuSec - r.serverSysSec) * 1e6) / r.requests, 2), rssMiB: mem?.rssMiB ?? null, peakRssMiB: mem?.peakRssMiB ?? null, xMeridianCache: check.headers['x-meridian-cache'] ?? null };
  if (!profile) return result;
  const file = readdirSync(dir).find((x) => x.endsWith('.cpuprofile'));
  if (file === undefined) {
    log('no .cpuprofile was written');
    return result;
  }
  const { summarise } = await import('../dns/profile-summary.mjs');
  const trimmed = trimProfile(JSON.parse(readFileSync(join(dir, file), 'utf8')), from, to);
  const keep = join(here, `last-run-${kind}.cpuprofile`);
  writeFileSync(keep, JSON.stringify(trimmed));
  return { ...result, file: relative(root, keep), window: { fromMsAfterSpawn: from, toMsAfterSpawn: to }, summary: summarise(trimmed, 40) };
}

/** components.mjs, pinned like the servers: pieces of the path timed without sockets. */
function components() {
  log('diagnosis: timing pieces of the path without sockets (components.mjs)');
  const [c, a] = wrapped(serverCpu, process.execPath, [...nodeFlags, join(here, 'components.mjs')]);
  const r = spawnSync(c, a, { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) {
    log(`components.mjs failed: ${r.stderr}`);
    return null;
  }
  const parsed = JSON.parse(r.stdout.trim().split('\n').pop());
  delete parsed.sink;
  return parsed;
}

/** The what-if processes of one kind: started together, each checked and warmed up, then
 *  two rounds of half the profile duration each, the second in reverse order. */
async function whatIfRuns(kind, path, variants, origin, originPort) {
  const procs = [];
  for (const v of variants) {
    const dir = mkdtempSync(join(lab.workDir(), `${kind}-whatif-`));
    const meshPort = await freePort(hosts.meridian);
    const topo = meridianTopology(join(dir, 'meridian'), meshPort, originPort);
    const env = { ...process.env, MERIDIAN_MESH_SECRET: randomBytes(24).toString('hex') };
    const argv = [...v.flags, join(here, 'meridian-harness.mjs'), '--config', topo, '--region', 'us-east-1', '--http-port', '0', ...(v.whatIf.length > 0 ? ['--what-if', v.whatIf.join(',')] : [])];
    const child = start(serverCpu, process.execPath, argv, { env });
    const ready = await readyLine(child, `the what-if Meridian harness (${v.name})`, 60_000);
    const [host, port] = [ready.http.slice(0, ready.http.lastIndexOf(':')), Number(ready.http.split(':').pop())];
    const check = await get(host, port, path);
    if (check.status !== 200 || check.headers['x-meridian-region'] !== 'us-east-1') throw new Error(`what-if Meridian (${v.name}): GET ${path} answered ${check.status}`);
    procs.push({ v, child, url: `http://${ready.http}${path}`, runs: [], xMeridianCache: check.headers['x-meridian-cache'] ?? null });
  }
  const originPid = kind === 'proxied' ? origin.pid : null;
  for (const p of procs) {
    log(`diagnosis, ${kind}: what-if warm-up [${p.v.name}]: ${settings.warmupSec} s`);
    if (settings.warmupSec > 0) await wrk(p.url, settings.warmupSec, p.child.pid, originPid);
  }
  const half = Math.max(1, Math.round(settings.profileDurationSec / 2));
  for (let round = 0; round < 2; round++) {
    for (const p of round === 0 ? procs : [...procs].reverse()) {
      log(`diagnosis, ${kind}: what-if round ${round + 1}/2 [${p.v.name}]: ${half} s`);
      p.runs.push(await wrk(p.url, half, p.child.pid, originPid));
    }
  }
  const out = [];
  for (const p of procs) {
    const mem = memory(p.child.pid);
    await stop(p.child);
    const a = aggregate(p.runs);
    out.push({ name: p.v.name, whatIf: p.v.whatIf, nodeFlags: p.v.flags, xMeridianCache: p.xMeridianCache, ...a, runs: undefined, rssMiB: mem?.rssMiB ?? null, peakRssMiB: mem?.peakRssMiB ?? null });
  }
  return out;
}

/** Keeps the samples between fromMs and toMs after the profile's start (which is the
 *  process's start, give or take a few ms): the measured load without start-up and warm-up. */
function trimProfile(p, fromMs, toMs) {
  const samples = [];
  const timeDeltas = [];
  let t = p.startTime;
  let first = null;
  let last = null;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i];
    const rel = (t - p.startTime) / 1000;
    if (rel < fromMs || rel > toMs) continue;
    samples.push(p.samples[i]);
    timeDeltas.push(last === null ? 0 : t - last);
    first ??= t;
    last = t;
  }
  return { ...p, startTime: first ?? p.startTime, endTime: last ?? p.endTime, samples, timeDeltas };
}

main().then(
  () => {
    cleanup();
    process.exit(0);
  },
  (err) => {
    console.error(`bench/gateway failed: ${err instanceof Error ? err.message : String(err)}`);
    cleanup();
    process.exit(1);
  },
);
