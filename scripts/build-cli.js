// Bundle the CLI (and the benchmark, when present) into dist/ with esbuild; dependencies stay external.

import { existsSync } from 'node:fs';
import { build } from 'esbuild';

const entryPoints = { roleguard: 'cli/main.ts' };
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
