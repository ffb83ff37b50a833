// `meridian data lost-writes --config FILE --region ID`: the writes a failover could not
// carry over (survive: zone), kept aside by the region that wrote them — asked of the
// region's node over the mesh with the operator's credentials (the mesh secret).

import type { Command } from 'commander';
import { request } from 'undici';
import { formatProblem, loadTopologyFile, regionById } from '../topology/index.js';
import { exitInvalid } from './validate.js';

interface LostWritesOptions {
  config: string;
  region?: string;
  json?: boolean;
}

interface LostWrite {
  id: number;
  partition: string;
  epoch: number;
  table: string;
  key: string;
  value: string | null;
  version: string;
  foundMs: number;
  acknowledged: boolean;
}

export function registerData(program: Command): void {
  const data = program.command('data').description('operate on the replicated data');
  data
    .command('lost-writes')
    .description('list writes a failover could not carry over (survive: zone), kept aside by the regions that wrote them')
    .requiredOption('-c, --config <file>', 'the topology file')
    .option('-r, --region <id>', 'ask only this region (default: every region)')
    .option('--json', 'print JSON')
    .action(async (opts: LostWritesOptions) => {
      process.exitCode = await lostWrites(opts);
    });
}

async function lostWrites(opts: LostWritesOptions): Promise<number> {
  const r = loadTopologyFile(opts.config);
  if (!r.ok) {
    for (const p of r.problems) console.error(formatProblem(p, opts.config));
    return exitInvalid;
  }
  const t = r.topology;
  const secret = process.env[t.file.security.mesh_secret_env];
  if (secret === undefined || secret === '') {
    console.error(`meridian data lost-writes: set ${t.file.security.mesh_secret_env} (the mesh secret) to ask the nodes`);
    return exitInvalid;
  }
  if (opts.region !== undefined && regionById(t, opts.region) === undefined) {
    console.error(`meridian data lost-writes: --region: unknown region ${JSON.stringify(opts.region)}; expected one of ${t.regions.map((x) => x.id).join(', ')}`);
    return exitInvalid;
  }
  const regions = t.regions.filter((x) => opts.region === undefined || x.id === opts.region);
  const out: { region: string; writes?: LostWrite[]; total?: number; error?: string }[] = [];
  for (const reg of regions) {
    try {
      const res = await request(`http://${reg.mesh.host.includes(':') ? `[${reg.mesh.host}]` : reg.mesh.host}:${reg.mesh.port}/lost-writes`, { headers: { authorization: `Bearer ${secret}` }, signal: AbortSignal.timeout(5000) });
      const body = (await res.body.json()) as { total?: number; writes?: LostWrite[]; reason?: string };
      if (res.statusCode !== 200) out.push({ region: reg.id, error: `${res.statusCode}: ${body.reason ?? 'refused'}` });
      else out.push({ region: reg.id, total: body.total ?? 0, writes: body.writes ?? [] });
    } catch (e) {
      out.push({ region: reg.id, error: `no answer: ${(e as Error).message}` });
    }
  }
  if (opts.json === true) {
    console.log(JSON.stringify(out, null, 2));
  } else {
    for (const o of out) {
      if (o.error !== undefined) {
        console.log(`${o.region}: ${o.error}`);
        continue;
      }
      console.log(`${o.region}: ${o.total} lost write(s)`);
      for (const w of o.writes ?? []) {
        console.log(`  ${new Date(w.foundMs).toISOString()}  ${w.table}/${w.key}  version ${w.version}  epoch ${w.epoch}  ${w.acknowledged ? 'acknowledged' : 'never acknowledged'}  ${(w.value ?? '(delete)').slice(0, 60)}`);
      }
    }
  }
  return out.some((o) => o.error !== undefined) ? 1 : 0;
}
