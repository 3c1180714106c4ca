// Bundle the CLI (and the benchmark, when present) into dist/ with esbuild; dependencies stay external.

import { existsSync } from 'node:fs';
import { build } from 'esbuild';

// The replay's reading worker is its own entry: lib/replay/read-pool.ts starts dist/replay-worker.js beside the bundle.
const entryPoints = { roleguard: 'cli/main.ts', 'replay-worker': 'lib/replay/replay-worker.ts' };
if (existsSync('bench/main.ts')) entryPoints.bench = 'bench/main.ts';
await build({
  entryPoints,
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
});
