// The `meridian` command: one file per subcommand, wired here.

import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { registerData } from './data.js';
import { registerDev } from './dev.js';
import { registerNode } from './node.js';
import { registerRoute } from './route.js';
import { registerValidate } from './validate.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command()
  .name('meridian')
  .description('Run one application in many regions: GeoDNS, edge gateway, replicated data, failover.')
  .version(pkg.version)
  .showHelpAfterError('(run with --help for usage)');

registerValidate(program);
registerRoute(program);
registerNode(program);
registerDev(program);
registerData(program);

await program.parseAsync(process.argv);
