// `meridian validate FILE`: exit 0 with a one-line summary, or 2 with one line per problem.

import type { Command } from 'commander';
import { compileZone } from '../dns/index.js';
import { MeridianError } from '../lib/index.js';
import { zoneConfig } from '../node/index.js';
import { formatProblem, loadTopologyFile } from '../topology/index.js';

export const exitInvalid = 2;

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('check a topology file; print one line per problem (exit 2) or a summary (exit 0)')
    .argument('<file>', 'the topology file (YAML)')
    .action((file: string) => {
      const r = loadTopologyFile(file);
      for (const p of r.problems) (p.severity === 'error' ? console.error : console.warn)(formatProblem(p, file));
      if (!r.ok) {
        const n = r.problems.filter((p) => p.severity === 'error').length;
        console.error(`invalid: ${n} problem${n === 1 ? '' : 's'}`);
        process.exitCode = exitInvalid;
        return;
      }
      // The zone too: what the schema lets through but a DNS server would refuse
      // (a CNAME loop, an over-long TXT string) fails here, not at a node's start.
      try {
        compileZone(zoneConfig(r.topology, 1));
      } catch (e) {
        const hint = e instanceof MeridianError && e.hint !== undefined ? `; expected ${e.hint}` : '';
        console.error(`${file}: service.records: ${(e as Error).message}${hint}`);
        console.error('invalid: 1 problem');
        process.exitCode = exitInvalid;
        return;
      }
      const f = r.topology.file;
      console.log(`ok: ${f.regions.length} regions, ${Object.keys(f.data.tables).length} tables, model ${f.deployment.model}`);
    });
}
