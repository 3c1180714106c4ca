// `npm start`: replay the sample events in events/ and the project's copy of the published CloudTrail samples
// against an embedded DynamoDB Local, and print what was recorded.
import { spawnSync } from 'node:child_process';

const paths = ['events', 'test/fixtures/cloudtrail-samples'];
const args = ['bin/roleguard.js', 'replay', ...paths, '--registry', 'events/registry.yaml', ...process.argv.slice(2)];
process.stderr.write(`$ roleguard ${args.slice(1).join(' ')}\n`);
const result = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exitCode = result.status ?? 1;
