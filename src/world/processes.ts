// The world's child processes: started with a pipe on stdin (a child whose supervisor
// dies sees it close and exits), logs to files, and stopped with SIGTERM, then SIGKILL
// when a child hangs — so nothing of a world outlives it.

import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';

export type ChildState = 'running' | 'paused' | 'stopped' | 'killed' | 'exited';

export interface ChildSpec {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly logFile: string;
}

export class WorldChild {
  private proc: ChildProcess | undefined;
  private exitPromise: Promise<void> = Promise.resolve();
  state: ChildState = 'stopped';
  restarts = 0;

  constructor(readonly spec: ChildSpec, private readonly onExit: (c: WorldChild, code: number | null, signal: string | null) => void) {}

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  start(): void {
    if (this.state === 'running' || this.state === 'paused') return;
    const log = openSync(this.spec.logFile, 'a');
    const proc = spawn(this.spec.command, [...this.spec.args], { stdio: ['pipe', log, log], env: this.spec.env });
    closeSync(log);
    this.proc = proc;
    this.state = 'running';
    this.exitPromise = new Promise((resolve) => {
      proc.once('exit', (code, signal) => {
        if (this.proc === proc) {
          if (this.state === 'running' || this.state === 'paused') this.state = 'exited';
          this.onExit(this, code, signal);
        }
        resolve();
      });
    });
    proc.stdin?.on('error', () => undefined);
  }

  /** Ends the process as a crash would: SIGKILL, no drain. */
  async kill(): Promise<void> {
    if (this.proc === undefined || this.state === 'stopped' || this.state === 'killed' || this.state === 'exited') return;
    this.state = 'killed';
    this.proc.kill('SIGKILL');
    await this.exitPromise;
  }

  pause(): void {
    if (this.state !== 'running') return;
    this.proc?.kill('SIGSTOP');
    this.state = 'paused';
  }

  resume(): void {
    if (this.state !== 'paused') return;
    this.proc?.kill('SIGCONT');
    this.state = 'running';
  }

  async restart(): Promise<void> {
    await this.stop(2000);
    this.restarts++;
    this.start();
  }

  /** SIGTERM, then SIGKILL after `graceMs`: a hung child cannot keep the world alive. */
  async stop(graceMs = 5000): Promise<void> {
    const p = this.proc;
    if (p === undefined || p.exitCode !== null || p.signalCode !== null) {
      this.state = this.state === 'killed' ? 'killed' : 'stopped';
      return;
    }
    this.state = 'stopped';
    p.kill('SIGTERM');
    p.kill('SIGCONT'); // a paused child must run to see its SIGTERM
    const timer = setTimeout(() => p.kill('SIGKILL'), graceMs);
    await this.exitPromise;
    clearTimeout(timer);
  }

  /** Last resort at supervisor exit: synchronous, no waiting. */
  killNow(): void {
    const p = this.proc;
    if (p !== undefined && p.exitCode === null && p.signalCode === null) {
      try {
        p.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}
