import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build, type Metafile } from 'esbuild';
import { profileInit } from './cold-start-profile.js';
import { median, round2, say } from './stats.js';

/** The coldStart figure of contract §3, plus the bare variants that say where a function's extra time goes. */
export interface ColdStartFigure {
  initMs: Record<string, number>;
  baselineInitMs: number;
  ratioToBaseline: Record<string, number>;
  bundleKB: Record<string, number>;
  baselineBundleKB: number;
  target: string;
  repeats: number;
  /** Bare bundles with one more thing each, and two bundles run with the deployed NODE_OPTIONS=--enable-source-maps. */
  variantsInitMs: Record<string, number>;
  /** What on-assume-role's bundle is made of, in KiB of minified output, by package. */
  onAssumeRoleKBByPackage: Record<string, number>;
  /** Init self time (ms) by package of unminified builds of on-assume-role and the bare bundle, under the V8 profiler. */
  initProfileMs: Record<'on-assume-role' | 'bare', Record<string, number>>;
  /**
   * The same imports in CPU time (user + system of the importing process, all its threads), medians. On a loaded
   * machine a process waits for the CPU, and the wall-clock ratios above spread and grow with the load; these hold.
   */
  cpuInitMs: Record<string, number>;
  baselineCpuInitMs: number;
  cpuRatioToBaseline: Record<string, number>;
}

const SDK = `import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { IAMClient } from '@aws-sdk/client-iam';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import middy from '@middy/core';
const clients = [DynamoDBDocumentClient.from(new DynamoDBClient({})), new IAMClient({}), new SNSClient({}), new SSMClient({})];
`;
const POWERTOOLS = `import { Logger } from '@aws-lambda-powertools/logger';
import { getParameter } from '@aws-lambda-powertools/parameters/ssm';
clients.push(new Logger({ serviceName: 'bench' }), getParameter);
`;
const ZOD = `import { z } from 'zod';
clients.push(z.object({ eventID: z.string().max(128), eventTime: z.string(), userIdentity: z.object({ type: z.string() }) }));
`;
const SSM_READ =
  'clients.push(await getParameter(process.env.SLACK_WEBHOOK_PARAMETER, { decrypt: true, maxAge: 300 }));\n';
const HANDLER = 'export const handler = middy(async () => clients.length);\n';
/** The bare bundle (the contract's baseline) and bare bundles with one more of a function's ingredients each. */
export const BARES: Record<string, string> = {
  bare: SDK + HANDLER,
  'bare + Powertools logger and parameters': SDK + POWERTOOLS + HANDLER,
  'bare + Powertools + zod': SDK + POWERTOOLS + ZOD + HANDLER,
  'bare + Powertools + zod + SSM GetParameter at init': SDK + POWERTOOLS + ZOD + SSM_READ + HANDLER,
};

/**
 * Write the probe: a fresh process imports the bundle (its top-level await included) and prints how long that took,
 * in wall-clock and in CPU time (ms), as `[wall, cpu]`.
 */
export function writeProbe(dir: string): string {
  const probe = join(dir, 'probe.mjs');
  writeFileSync(
    probe,
    "const c = process.cpuUsage(); const t = performance.now(); const m = await import(process.argv[2]); if (typeof m.handler !== 'function') throw new Error('no handler'); const wall = performance.now() - t; const u = process.cpuUsage(c); process.stdout.write(JSON.stringify([wall, (u.user + u.system) / 1000]));\n",
  );
  return probe;
}

/** serverless.yml's custom.esbuild, as serverless-esbuild passes it to esbuild (node22 when esbuild accepts it). */
async function bundle(
  outfile: string,
  source: { entry: string } | { contents: string },
  target: string,
): Promise<Metafile> {
  const result = await build({
    ...('entry' in source
      ? { entryPoints: [source.entry] }
      : { stdin: { contents: source.contents, resolveDir: process.cwd(), loader: 'ts' as const } }),
    outfile,
    bundle: true,
    minify: true,
    sourcemap: 'linked',
    target,
    platform: 'node',
    format: 'esm',
    mainFields: ['module', 'main'],
    metafile: true,
    logLevel: 'silent',
    banner: {
      js: "import { createRequire as __roleguardCreateRequire } from 'node:module'; const require = __roleguardCreateRequire(import.meta.url);",
    },
  });
  return result.metafile;
}

function kbByPackage(metafile: Metafile): Record<string, number> {
  const out: Record<string, number> = {};
  for (const output of Object.values(metafile.outputs)) {
    for (const [path, { bytesInOutput }] of Object.entries(output.inputs)) {
      const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
      const key = m
        ? m[1]!
        : path.startsWith('lib/') || path.startsWith('functions/')
          ? 'roleguard (lib/, functions/)'
          : 'other';
      out[key] = (out[key] ?? 0) + bytesInOutput / 1024;
    }
  }
  return Object.fromEntries(
    Object.entries(out)
      .sort((a, b) => b[1] - a[1])
      .filter(([, kb]) => kb >= 5)
      .map(([k, kb]) => [k, Math.round(kb)]),
  );
}

/**
 * Each function's bundle and the bare ones, imported by a fresh Node process until the handler exists (the
 * functions' top-level await reads config and the webhook from the fake SSM). Rotating order, medians of `repeats`.
 */
export async function measureColdStart(
  dir: string,
  env: Record<string, string>,
  repeats: number,
): Promise<ColdStartFigure> {
  mkdirSync(dir, { recursive: true });
  let target = 'node22';
  const functions = readdirSync('functions')
    .filter((f) => f.endsWith('.ts'))
    .map((f) => f.replace(/\.ts$/, ''))
    .sort();
  const files: Record<string, string> = {};
  let metafile: Metafile | null = null;
  for (const fn of functions) {
    files[fn] = join(dir, `${fn}.mjs`);
    const meta = await bundle(files[fn]!, { entry: join('functions', `${fn}.ts`) }, target).catch(
      async (error: Error) => {
        if (!/target|node22/i.test(error.message)) throw error;
        target = 'node20';
        return bundle(files[fn]!, { entry: join('functions', `${fn}.ts`) }, target);
      },
    );
    if (fn === 'on-assume-role') metafile = meta;
  }
  for (const [name, contents] of Object.entries(BARES)) {
    const file = join(dir, `${name.replace(/\W+/g, '-')}.mjs`);
    files[name] = file;
    await bundle(file, { contents }, target);
  }
  const probe = writeProbe(dir);
  const runs: [string, string, Record<string, string>][] = Object.entries(files).map(([name, file]) => [
    name,
    file,
    env,
  ]);
  runs.push([
    'on-assume-role (--enable-source-maps)',
    files['on-assume-role']!,
    { ...env, NODE_OPTIONS: '--enable-source-maps' },
  ]);
  runs.push(['bare (--enable-source-maps)', files.bare!, { ...env, NODE_OPTIONS: '--enable-source-maps' }]);
  const samples: Record<string, number[]> = {};
  const cpu: Record<string, number[]> = {};
  for (let r = 0; r < repeats; r++) {
    for (let k = 0; k < runs.length; k++) {
      const [name, file, runEnv] = runs[(k + r) % runs.length]!;
      // A clean environment: only what the function is given (as in Lambda), not this shell's.
      const { stdout } = await promisify(execFile)(process.execPath, [probe, pathToFileURL(resolve(file)).href], {
        env: { PATH: process.env.PATH ?? '', ...runEnv },
      });
      const [wallMs, cpuMs] = JSON.parse(stdout) as [number, number];
      samples[name] ??= [];
      samples[name].push(wallMs);
      cpu[name] ??= [];
      cpu[name].push(cpuMs);
    }
    say(`cold start: repeat ${r + 1}/${repeats}`);
  }
  say('cold start: profiling the init of on-assume-role and of the bare bundle');
  const initProfileMs = {
    'on-assume-role': await profileInit(
      'on-assume-role',
      { entry: join('functions', 'on-assume-role.ts') },
      dir,
      env,
      Math.max(2, Math.ceil(repeats / 2)),
    ),
    bare: await profileInit('bare', { contents: BARES.bare! }, dir, env, Math.max(2, Math.ceil(repeats / 2))),
  };
  const baselineInitMs = round2(median(samples.bare!));
  const pick = (names: string[]) => Object.fromEntries(names.map((n) => [n, round2(median(samples[n]!))]));
  const initMs = pick(functions);
  const baselineCpuInitMs = round2(median(cpu.bare!));
  const cpuInitMs = Object.fromEntries(functions.map((fn) => [fn, round2(median(cpu[fn]!))]));
  return {
    initMs,
    baselineInitMs,
    ratioToBaseline: Object.fromEntries(functions.map((fn) => [fn, round2(initMs[fn]! / baselineInitMs)])),
    bundleKB: Object.fromEntries(functions.map((fn) => [fn, Math.round(statSync(files[fn]!).size / 1024)])),
    baselineBundleKB: Math.round(statSync(files.bare!).size / 1024),
    target,
    repeats,
    variantsInitMs: pick(Object.keys(samples).filter((n) => !functions.includes(n))),
    onAssumeRoleKBByPackage: metafile ? kbByPackage(metafile) : {},
    initProfileMs,
    cpuInitMs,
    baselineCpuInitMs,
    cpuRatioToBaseline: Object.fromEntries(functions.map((fn) => [fn, round2(cpuInitMs[fn]! / baselineCpuInitMs)])),
  };
}

/** The readable form of the cold-start figure alone (`npm run bench -- --cold-start`). */
export function formatColdStart(c: ColdStartFigure): string {
  const rows = Object.keys(c.initMs).map(
    (fn) =>
      `${fn.padEnd(24)} ${String(c.initMs[fn]).padStart(8)} ms  ${String(c.ratioToBaseline[fn]).padStart(5)}  CPU ${String(c.cpuInitMs[fn]).padStart(7)} ms  ${String(c.cpuRatioToBaseline[fn]).padStart(5)}  ${String(c.bundleKB[fn]).padStart(5)} KiB`,
  );
  const variants = Object.entries(c.variantsInitMs).map(([k, v]) => `${k.padEnd(52)} ${v}`);
  const profile = Object.entries(c.initProfileMs).map(
    ([name, p]) =>
      `init self time of ${name} (ms): ${Object.entries(p)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
  );
  return `${[`bare ${c.baselineInitMs} ms, CPU ${c.baselineCpuInitMs} ms, ${c.baselineBundleKB} KiB (ratios to bare)`, ...rows, '', ...variants, '', ...profile].join('\n')}\n`;
}
