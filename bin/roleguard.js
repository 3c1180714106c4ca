#!/usr/bin/env node
// Launcher for the roleguard CLI, built into dist/ by `npm run build` (run by `npm ci` through `prepare`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bundle = fileURLToPath(new URL('../dist/roleguard.js', import.meta.url));
if (!existsSync(bundle)) {
  process.stderr.write('roleguard: the CLI is not built; run `npm run build` (npm ci does this) first\n');
  process.exit(1);
}
// The AWS SDK warns on every run under Node 20 about its future support window; the CLI supports Node >= 20.
const defaultWarning = process.listeners('warning');
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (!String(warning.message).startsWith('NodeVersionSupportWarning'))
    for (const listener of defaultWarning) listener(warning);
});
const { main } = await import(bundle);
process.exitCode = await main(process.argv);
