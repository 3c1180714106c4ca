// `npm start`: replay the sample events in events/ (and the shared published samples, when they sit beside the
// checkout) against an embedded DynamoDB Local, and print what was recorded.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const paths = ['events'];
if (existsSync('../shared/cloudtrail-samples')) paths.push('../shared/cloudtrail-samples');
const args = ['bin/roleguard.js', 'replay', ...paths, '--registry', 'events/registry.yaml', ...process.argv.slice(2)];
process.stderr.write(`$ roleguard ${args.slice(1).join(' ')}\n`);
const result = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exitCode = result.status ?? 1;
