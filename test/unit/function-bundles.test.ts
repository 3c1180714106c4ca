import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { build } from 'esbuild';
import { ROOT } from '../helpers/fixtures.js';

// A function's cold start grows with its bundle (bench/README.md): zod alone was about 45 ms and 444 KiB of each one.
// The functions validate with hand-written checks, and post to Slack with fetch. They read their SSM secrets with
// lib/ssm-parameter.ts: Powertools' parameters utility added 12 KiB and a module init to each (about 3 % of a start).
const HEAVY = ['zod', '@slack/webhook', '@aws-lambda-powertools/parameters'];
// The CloudTrail record schemas are being moved off zod separately; until then they are the one way in.

/** For each heavy package in a function's bundle: the project files that import it (directly or through a package). */
async function heavyImporters(fn: string): Promise<Record<string, string[]>> {
  const { metafile } = await build({
    entryPoints: [join(ROOT, 'functions', `${fn}.ts`)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    write: false,
    metafile: true,
    outdir: '/tmp/roleguard-bundle-test',
    logLevel: 'silent',
    absWorkingDir: ROOT,
  });
  const packageOf = (path: string) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1] ?? null;
  const found: Record<string, Set<string>> = {};
  for (const [file, input] of Object.entries(metafile.inputs)) {
    if (packageOf(file)) continue;
    // Follow imports through packages (e.g. a Powertools schema importing zod) back to the project file.
    const seen = new Set<string>();
    const queue = input.imports.map((i) => i.path);
    while (queue.length) {
      const path = queue.pop()!;
      if (seen.has(path)) continue;
      seen.add(path);
      const pkg = packageOf(path);
      if (!pkg) continue;
      if (HEAVY.includes(pkg)) {
        found[pkg] ??= new Set();
        found[pkg].add(file);
      } else queue.push(...(metafile.inputs[path]?.imports ?? []).map((i) => i.path));
    }
  }
  return Object.fromEntries(Object.entries(found).map(([pkg, files]) => [pkg, [...files].sort()]));
}

/** The packages whose code is in a function's bundle (after tree-shaking), with their bytes. */
async function bundledPackages(fn: string): Promise<Set<string>> {
  const { metafile } = await build({
    entryPoints: [join(ROOT, 'functions', `${fn}.ts`)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    write: false,
    metafile: true,
    outdir: '/tmp/roleguard-bundle-test',
    logLevel: 'silent',
    absWorkingDir: ROOT,
  });
  const packages = new Set<string>();
  for (const output of Object.values(metafile.outputs))
    for (const [path, { bytesInOutput }] of Object.entries(output.inputs)) {
      const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1];
      if (pkg && bytesInOutput > 0) packages.add(pkg);
    }
  return packages;
}

// Clients a function never uses stay out of its bundle: a module that builds one at its top level (a call at module
// scope) would keep it in every function that imports the module, used or not. The manual revocation function alerts
// nothing and reads no secret; the Slack receiver only verifies and hands over.
const NEVER_BUNDLED: Record<string, string[]> = {
  revoke: ['@aws-sdk/client-ssm', '@aws-sdk/client-sns'],
  'slack-actions': ['@aws-sdk/client-iam', '@aws-sdk/client-sns', '@aws-sdk/client-sts'],
};

describe('the function bundles', () => {
  const functions = readdirSync(join(ROOT, 'functions'))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => f.replace(/\.ts$/, ''));

  it.each(functions)('%s bundles no schema library, no Slack client and no Powertools parameters', async (fn) => {
    const importers = await heavyImporters(fn);
    expect(importers).toEqual({});
  });

  it.each(Object.entries(NEVER_BUNDLED))('%s bundles none of %j', async (fn, excluded) => {
    const packages = await bundledPackages(fn);
    expect(excluded.filter((pkg) => packages.has(pkg))).toEqual([]);
  });
});
