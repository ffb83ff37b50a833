// A three-member etcd cluster on loopback addresses for the tests: 127.70.N.1..3 with a
// random N, the standard ports (each member has its own address), temporary data
// directories, and every member killed and every directory removed on every exit path —
// the test's after(), a normal exit, and a crash (the 'exit' hook is synchronous).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const etcdBinary = ['/usr/bin/etcd', '/usr/local/bin/etcd'].find((p) => existsSync(p)) ?? (spawnSync('sh', ['-c', 'command -v etcd']).stdout?.toString().trim() || undefined);
export const etcdMissing = 'etcd not installed: apt-get install etcd-server';

export interface EtcdMember {
  readonly name: string;
  readonly host: string;
  readonly clientUrl: string;
  proc: ChildProcess | undefined;
}

export class EtcdCluster {
  readonly members: EtcdMember[];
  private readonly dir = mkdtempSync(join(tmpdir(), 'meridian-etcd-'));
  private readonly onExit = (): void => this.killNow();

  constructor() {
    const n = 1 + Math.floor(Math.random() * 250);
    this.members = [1, 2, 3].map((i) => ({ name: `m${i}`, host: `127.70.${n}.${i}`, clientUrl: `http://127.70.${n}.${i}:2379`, proc: undefined }));
    process.once('exit', this.onExit);
  }

  get endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  async start(timeoutMs = 20_000): Promise<void> {
    const initial = this.members.map((m) => `${m.name}=http://${m.host}:2380`).join(',');
    const token = `meridian-test-${process.pid}-${Date.now()}`;
    for (const m of this.members) {
      // Fast elections (50 ms heartbeats, 500 ms timeout): a lost member's leadership moves
      // within a second, and the minimum lease TTL drops to one second.
      m.proc = spawn(etcdBinary as string, [
        '--name', m.name, '--data-dir', join(this.dir, m.name),
        '--listen-client-urls', m.clientUrl, '--advertise-client-urls', m.clientUrl,
        '--listen-peer-urls', `http://${m.host}:2380`, '--initial-advertise-peer-urls', `http://${m.host}:2380`,
        '--initial-cluster', initial, '--initial-cluster-state', 'new', '--initial-cluster-token', token,
        '--heartbeat-interval', '50', '--election-timeout', '500', '--log-level', 'error',
      ], { stdio: ['ignore', 'ignore', 'pipe'] });
      m.proc.stderr?.resume();
    }
    await this.waitHealthy(this.members, timeoutMs);
  }

  /** Until every given member says it is healthy (it has a leader and a quorum). */
  async waitHealthy(members: readonly EtcdMember[], timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const m of members) {
      for (;;) {
        try {
          const r = await fetch(`${m.clientUrl}/health`, { signal: AbortSignal.timeout(1000) });
          if (r.ok && ((await r.json()) as { health?: string }).health === 'true') break;
        } catch {
          // not up yet
        }
        if (m.proc !== undefined && m.proc.exitCode !== null) throw new Error(`etcd member ${m.name} exited with ${m.proc.exitCode}`);
        if (Date.now() > deadline) throw new Error(`etcd member ${m.name} not healthy within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  /** SIGKILL one member, as a lost region would be. */
  async kill(m: EtcdMember): Promise<void> {
    const p = m.proc;
    if (p === undefined || p.exitCode !== null || p.signalCode !== null) return;
    const gone = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await gone;
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => this.kill(m)));
    this.cleanUp();
  }

  private killNow(): void {
    for (const m of this.members) {
      try {
        m.proc?.kill('SIGKILL');
      } catch {
        // gone already
      }
    }
    this.cleanUp();
  }

  private cleanUp(): void {
    process.removeListener('exit', this.onExit);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
