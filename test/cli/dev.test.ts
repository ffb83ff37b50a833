import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { request } from 'undici';
import { root } from './run.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

function startDev(args: string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'meridian-dev-'));
  const child = spawn(process.execPath, [`${root}bin/meridian.js`, 'dev', '--dir', dir, '--control-port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { dir, child, exited, out: () => stdout, err: () => stderr };
}

async function worldPids(dir: string): Promise<number[]> {
  const deadline = Date.now() + 60_000;
  while (!existsSync(join(dir, 'world.json'))) {
    if (Date.now() > deadline) throw new Error('no world.json');
    await sleep(100);
  }
  const info = JSON.parse(readFileSync(join(dir, 'world.json'), 'utf8')) as { control: string; token: string };
  for (;;) {
    const res = await request(`${info.control}/status`, { headers: { authorization: `Bearer ${info.token}` } });
    const s = (await res.body.json()) as { regions: { nodePid: number | null; appPid: number | null }[] };
    const pids = s.regions.flatMap((r) => [r.nodePid, r.appPid]).filter((p): p is number => p !== null);
    if (pids.length === s.regions.length * 2) return pids;
    if (Date.now() > deadline) throw new Error('world never started');
    await sleep(200);
  }
}

describe('meridian dev (the command)', { timeout: 120_000 }, () => {
  it('runs for --duration and prints a JSON report per region and per continent', async () => {
    const d = startDev(['--regions', 'us-east-1,eu-west-1', '--users', '20', '--duration', '4s', '--json', '--loopback-octet', '50', '--think', '300ms']);
    const code = await d.exited;
    assert.equal(code, 0, d.err());
    const report = JSON.parse(d.out()) as { regions: Record<string, { requests: number; errors: number; p50Ms: number | null; p99Ms: number | null; nearestShare: number | null; state: string }>; continents: Record<string, { requests: number; nearestShare: number | null }>; total: { requests: number; errors: number } };
    assert.deepEqual(Object.keys(report.regions).sort(), ['eu-west-1', 'us-east-1']);
    assert.ok(report.total.requests > 20, `requests: ${report.total.requests}`);
    assert.equal(report.total.errors, 0);
    for (const r of Object.values(report.regions)) assert.ok(r.requests === 0 || (r.p50Ms !== null && r.p99Ms !== null && r.p99Ms >= r.p50Ms));
    assert.ok(Object.keys(report.continents).length >= 2);
    assert.match(d.err(), /region\s+health\s+users\s+req\/s\s+p50\s+p99/, 'the live view went to stderr');
  });

  it('leaves no process behind when the supervisor itself is killed', async () => {
    const d = startDev(['--regions', 'us-east-1,eu-west-1', '--users', '5', '--loopback-octet', '52']);
    const pids = await worldPids(d.dir);
    assert.equal(pids.length, 4);
    d.child.kill('SIGKILL');
    await d.exited;
    const deadline = Date.now() + 10_000;
    while (pids.some(alive) && Date.now() < deadline) await sleep(100);
    assert.deepEqual(pids.filter(alive), [], 'children exit when the supervisor is gone');
  });

  it('stops everything on Ctrl-C (SIGINT) and prints the report', async () => {
    const d = startDev(['--regions', 'us-east-1,eu-west-1', '--users', '5', '--loopback-octet', '54']);
    const pids = await worldPids(d.dir);
    d.child.kill('SIGINT');
    assert.equal(await d.exited, 0);
    assert.deepEqual(pids.filter(alive), []);
    assert.match(d.out(), /report \([\d.]+s\):/);
  });
});
