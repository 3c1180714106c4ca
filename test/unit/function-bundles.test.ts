import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { build } from 'esbuild';
import { ROOT } from '../helpers/fixtures.js';

// A function's cold start grows with its bundle (bench/README.md): zod alone was about 45 ms and 444 KiB of each one.
// The functions validate with hand-written checks, and post to Slack with fetch. They read their SSM secrets with
// lib/ssm-parameter.ts: Powertools' parameters utility added 12 KiB and a module init to each (about 3 % of a start).
const HEAVY = ['zod', '@slack/webhook', '@aws-lambda-powertools/parameters'];

// Each function is bundled once, for every check that reads its bundle.
const metafiles = new Map<string, ReturnType<typeof bundle>>();
const metafileOf = (fn: string) => {
  if (!metafiles.has(fn)) metafiles.set(fn, bundle(fn));
  return metafiles.get(fn)!;
};
async function bundle(fn: string) {
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
  return metafile;
}

/** For each heavy package in a function's bundle: the project files that import it (directly or through a package). */
async function heavyImporters(fn: string): Promise<Record<string, string[]>> {
  const metafile = await metafileOf(fn);
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

/** The packages and project files whose code is in a function's bundle (after tree-shaking). */
async function bundledModules(fn: string): Promise<Set<string>> {
  const metafile = await metafileOf(fn);
  const modules = new Set<string>();
  for (const output of Object.values(metafile.outputs))
    for (const [path, { bytesInOutput }] of Object.entries(output.inputs))
      if (bytesInOutput > 0) modules.add(/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1] ?? path);
  return modules;
}

// Code a function never runs stays out of its bundle. A module that builds a client at its top level (a call at
// module scope) would keep that client in every function that imports the module, used or not: the manual revocation
// function alerts nothing and reads no secret; the Slack receiver only verifies and hands over. The functions that
// revoke nothing build their deps with createAlertingDeps, which holds no revoker (createAlertingRevokingDeps does):
// no IAM revocation writes (lib/revoke/apply.ts), and for the coverage functions, which write no IAM, no IAM client.
const NEVER_BUNDLED: Record<string, string[]> = {
  revoke: ['@aws-sdk/client-ssm', '@aws-sdk/client-sns'],
  'slack-actions': ['@aws-sdk/client-iam', '@aws-sdk/client-sns', '@aws-sdk/client-sts'],
  'org-sync': ['lib/revoke/apply.ts', '@aws-sdk/client-iam', '@aws-sdk/client-sts'],
  'org-canary': ['lib/revoke/apply.ts', '@aws-sdk/client-iam'],
  'audit-trust-policies': ['lib/revoke/apply.ts'],
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
    const modules = await bundledModules(fn);
    expect(excluded.filter((m) => modules.has(m))).toEqual([]);
  });
});
