// What bench/dns/run.mjs and bench/gateway/run.mjs share: starting servers pinned to a CPU
// (taskset) with a parent-death signal (setpriv --pdeathsig, so they go even if the runner is
// killed outright), stopping them with their descendants, cleaning up on exit and on
// signals, and reading CPU time and memory from /proc.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

export const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const clkTck = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
export const log = (msg) => process.stderr.write(`${msg}\n`);

export function round(x, digits = 0) {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function alive(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX] /.test(stat); // a zombie is as good as gone
  } catch {
    return false;
  }
}

/** Every descendant of a process (nginx's and Varnish's workers), from /proc's children lists. */
export function descendants(pid) {
  const out = [];
  const read = (fn) => {
    try {
      return fn();
    } catch {
      return null; // the process or thread is gone
    }
  };
  const walk = (p) => {
    for (const t of read(() => readdirSync(`/proc/${p}/task`)) ?? []) {
      const kids = read(() => readFileSync(`/proc/${p}/task/${t}/children`, 'utf8')) ?? '';
      for (const k of kids.trim().split(/\s+/).filter((x) => x !== '')) {
        out.push(Number(k));
        walk(Number(k));
      }
    }
  };
  walk(pid);
  return out;
}

/** User and system CPU ticks of a process (all its threads): fields 14 and 15 of /proc/PID/stat. */
export function cpuSplit(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(f[11]), sys: Number(f[12]) };
  } catch {
    return null;
  }
}

export function cpuTicks(pid) {
  const c = cpuSplit(pid);
  return c === null ? null : c.user + c.sys;
}

/** CPU ticks of a process and all its descendants (nginx master + worker, Varnish manager + child). */
export function treeTicks(pid) {
  const own = cpuSplit(pid);
  if (own === null) return null;
  const t = { user: own.user, sys: own.sys };
  for (const d of descendants(pid)) {
    const c = cpuSplit(d);
    if (c !== null) {
      t.user += c.user;
      t.sys += c.sys;
    }
  }
  return t;
}

/** CPU ticks of the whole machine (all CPUs) from /proc/stat: processes' user and system
 *  time; interrupt time (with loopback traffic mostly softirq packet processing, charged to
 *  no process); and steal (the hypervisor running someone else). */
export function machineTicks() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = line;
  return { processes: user + nice + system, irq: irq + softirq, steal: steal ?? 0 };
}

export function machineBusyTicks() {
  const t = machineTicks();
  return t.processes + t.irq + t.steal;
}

export function memory(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number(s.match(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm'))?.[1] ?? NaN);
    return { rssMiB: round(kb('VmRSS') / 1024, 1), peakRssMiB: round(kb('VmHWM') / 1024, 1) };
  } catch {
    return null;
  }
}

/** RSS of a process tree (sum of VmRSS: shared pages counted in each). */
export function treeRssMiB(pid) {
  let sum = 0;
  for (const p of [pid, ...descendants(pid)]) sum += memory(p)?.rssMiB ?? 0;
  return round(sum, 1);
}

export function exited(child, timeoutMs) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

/** Waits for a JSON line with ready:true on the child's stdout. */
export function readyLine(child, what, timeoutMs) {
  return new Promise((resolve, reject) => {
    let buf = '';
    const t = setTimeout(() => reject(new Error(`${what} did not say it was ready within ${timeoutMs / 1000} s:\n${child.stderrText}`)), timeoutMs);
    child.stdout.on('data', (d) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(t);
      try {
        resolve(JSON.parse(buf.slice(0, nl)));
      } catch (e) {
        reject(new Error(`${what}: unreadable ready line ${JSON.stringify(buf.slice(0, nl))}: ${e.message}`));
      }
    });
    child.once('exit', (code, sig) => {
      clearTimeout(t);
      reject(new Error(`${what} exited (${code ?? sig}) before it was ready:\n${child.stderrText}`));
    });
  });
}

/**
 * The servers of one run: start() pins a command to a CPU (when `pin`) with the
 * parent-death signal in front; stop() ends one with its descendants; everything still
 * running, and the temporary directory, go on exit, Ctrl-C, SIGTERM and SIGHUP.
 */
export function processes({ pin, tempPrefix }) {
  const deathSig = has('setpriv');
  const children = new Set();
  let workDir;
  let cleaning = false;

  function cleanup() {
    if (cleaning) return;
    cleaning = true;
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(child.pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
    }
    // Whatever ignored SIGTERM gets SIGKILL (with its descendants: nginx and Varnish
    // workers); synchronous, so it also runs on 'exit'.
    const deadline = Date.now() + 5000;
    for (const child of children) {
      const tree = descendants(child.pid);
      while (alive(child.pid) && Date.now() < deadline) spawnSync('sleep', ['0.05']);
      for (const pid of [child.pid, ...tree]) {
        if (alive(pid)) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // gone
          }
        }
      }
    }
    if (workDir !== undefined) rmSync(workDir, { recursive: true, force: true });
  }

  process.on('exit', cleanup);
  for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]]) {
    process.on(sig, () => {
      console.error(`\n${sig}: stopping the servers`);
      cleanup();
      process.exit(code);
    });
  }

  /** The command line with CPU pinning and the parent-death signal in front. */
  function wrapped(cpu, cmd, argv) {
    const prefix = [...(pin ? ['taskset', '-c', cpu] : []), ...(deathSig ? ['setpriv', '--pdeathsig', 'TERM'] : [])];
    return prefix.length === 0 ? [cmd, argv] : [prefix[0], [...prefix.slice(1), cmd, ...argv]];
  }

  return {
    wrapped,
    cleanup,
    /** The run's temporary directory, made on first use and removed at the end. */
    workDir() {
      workDir ??= mkdtempSync(join(tmpdir(), tempPrefix));
      return workDir;
    },
    start(cpu, cmd, argv, opts = {}) {
      const [c, a] = wrapped(cpu, cmd, argv);
      const child = spawn(c, a, { stdio: ['pipe', 'pipe', 'pipe'], ...opts });
      children.add(child);
      child.stdin.on('error', () => {});
      child.stderrText = '';
      child.stdoutText = '';
      child.stderr.on('data', (d) => {
        child.stderrText = (child.stderrText + d).slice(-20_000);
      });
      return child;
    },
    async stop(child) {
      const tree = descendants(child.pid);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        if (!(await exited(child, 10_000))) {
          child.kill('SIGKILL');
          await exited(child, 3000);
        }
      }
      for (const pid of tree) {
        for (let i = 0; i < 40 && alive(pid); i++) await sleep(50);
        if (alive(pid)) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // gone
          }
        }
      }
      children.delete(child);
    },
    /** A child that has exited by itself (a finished client): no longer the cleanup's. */
    forget(child) {
      children.delete(child);
    },
  };
}

/**
 * CPU used by named processes (each with its descendants) and by the rest of the machine,
 * from now until each read(): { seconds, byName: { name: { pct, userSec, sysSec } }, othersPct,
 * irqPct, stealPct } (percentages of one CPU). A process gone by read() counts as null.
 */
export function cpuMeter(pids) {
  const t0 = performance.now();
  const m0 = machineTicks();
  const start = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, treeTicks(pid)]));
  return {
    read() {
      const seconds = (performance.now() - t0) / 1000;
      const m1 = machineTicks();
      const pct = (ticks) => round(Math.max(0, (100 * ticks) / clkTck / seconds), 1);
      const byName = {};
      let ours = 0;
      for (const [k, pid] of Object.entries(pids)) {
        const a = start[k];
        const b = treeTicks(pid);
        if (a === null || b === null) {
          byName[k] = null;
          continue;
        }
        ours += b.user + b.sys - a.user - a.sys;
        byName[k] = { pct: pct(b.user + b.sys - a.user - a.sys), userSec: (b.user - a.user) / clkTck, sysSec: (b.sys - a.sys) / clkTck };
      }
      return { seconds: round(seconds, 3), byName, othersPct: pct(m1.processes - m0.processes - ours), irqPct: pct(m1.irq - m0.irq), stealPct: pct(m1.steal - m0.steal) };
    },
  };
}

/**
 * A runner's command line (node:util parseArgs, with --help added): exits 0 after printing
 * the usage for --help, 2 with the usage on an unknown option. num(name, min, max) reads a
 * numeric option, exiting 2 when it is not a number in range.
 */
export function runnerOptions(usage, options) {
  let values;
  try {
    ({ values } = parseArgs({ options: { ...options, help: { type: 'boolean', default: false } } }));
  } catch (e) {
    console.error(`${e.message}\n${usage}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const num = (name, min, max = Infinity) => {
    const v = Number(values[name]);
    if (!Number.isFinite(v) || v < min || v > max) {
      console.error(`--${name} ${values[name]}: expected a number from ${min}${max === Infinity ? '' : ` to ${max}`}`);
      process.exit(2);
    }
    return v;
  };
  return { args: values, num };
}

/** Which CPUs a runner uses: servers on the last one, clients on CPU 0 (taskset), when the
 *  machine has two or more and pinning is not turned off. */
export function cpuLayout(noPin) {
  const ncpu = cpus().length;
  return { ncpu, pin: !noPin && ncpu >= 2 && has('taskset'), serverCpu: String(ncpu - 1), clientCpu: '0' };
}

/**
 * Waits until the machine is quiet: every process together (ours included: call it while
 * the runner's own servers idle) used at most `maxPct` of one CPU over `windowSec`, checked
 * back to back, for at most `timeoutSec`. Answers { quiet, waitedSec, lastPct }.
 */
export async function waitQuiet({ maxPct = 15, windowSec = 3, timeoutSec = 300, onWait = () => {} } = {}) {
  const t0 = Date.now();
  for (;;) {
    const a = machineTicks();
    await sleep(windowSec * 1000);
    const b = machineTicks();
    const lastPct = round((100 * (b.processes - a.processes)) / clkTck / windowSec, 1);
    const waitedSec = round((Date.now() - t0) / 1000);
    if (lastPct <= maxPct) return { quiet: true, waitedSec, lastPct };
    if (waitedSec >= timeoutSec) return { quiet: false, waitedSec, lastPct };
    onWait(lastPct, waitedSec);
  }
}
