// A local world of three US regions (us-east-1, us-east-2, us-west-2; real processes,
// WAN emulator, embedded coordinator with a 1 s lease) for the failover tests, and its
// cleanup; plus a patient `until` that says what it last saw.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { stringify } from 'yaml';
import type { World } from '../../src/world/index.js';

export const usRegions = ['us-east-1', 'us-east-2', 'us-west-2'];

export function usWorldTopology(octet: number, data: Record<string, unknown>): string {
  return stringify({
    service: { name: 'shop', zone: 'shop.example.test', hosts: ['www'] },
    regions: usRegions.map((id, i) => ({ id, jurisdiction: 'us', public: `127.${octet}.${i + 1}.1`, mesh: `127.${octet}.${i + 1}.1:7070`, app: `http://127.${octet}.${i + 1}.1:9000` })),
    // failback: auto — whoever took a partition while its home was still starting hands it back.
    deployment: { model: 'active-active', primary: 'us-west-2', failback: 'auto' },
    health: { interval: '200ms', timeout: '150ms', down_after: 2, up_after: 2 },
    coord: { kind: 'embedded', lease_ttl: '1s' },
    node: { roles: ['gateway'] },
    data,
  });
}

/** A run directory removed after the suite, and the world (if any) stopped first. */
export function worldRun(prefix: string): { runDir: string; world: World | undefined } {
  const run: { runDir: string; world: World | undefined } = { runDir: mkdtempSync(join(tmpdir(), prefix)), world: undefined };
  after(async () => {
    await run.world?.stop();
    rmSync(run.runDir, { recursive: true, force: true });
  });
  return run;
}

export async function until(what: string, f: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  let last = '';
  while (!(await f().catch((e: unknown) => ((last = String(e)), false)))) {
    assert.ok(Date.now() < deadline, `timed out: ${what} (${last})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
