// Invoke a function's handler locally with an event file, like `osls invoke local`, which cannot load the .mjs
// (ES module) handlers this project deploys. Usage: npm run invoke -- <function-file> <event.json>
//   AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000 npm run invoke -- on-assume-role events/eventbridge-assume-role-vendor.json
import { readFileSync } from 'node:fs';
import { tsImport } from 'tsx/esm/api';

const [name, eventPath] = process.argv.slice(2);
if (!name || !eventPath) {
  process.stderr.write('usage: npm run invoke -- <function, e.g. on-assume-role> <event.json>\n');
  process.exit(2);
}
const { handler } = await tsImport(`../functions/${name}.ts`, import.meta.url);
const context = { functionName: name, awsRequestId: `local-${Date.now()}`, getRemainingTimeInMillis: () => 30000 };
const result = await handler(JSON.parse(readFileSync(eventPath, 'utf8')), context);
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
