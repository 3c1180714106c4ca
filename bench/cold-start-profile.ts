import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { round2 } from './stats.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  positionTicks?: { line: number; ticks: number }[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

// esbuild marks where each module starts in an unminified bundle with a `// path` line.
function moduleStarts(bundle: string): { line: number; group: string }[] {
  const starts: { line: number; group: string }[] = [];
  readFileSync(bundle, 'utf8')
    .split('\n')
    .forEach((text, i) => {
      const m = /^\/\/ (\S+\.[cm]?[jt]s)$/.exec(text);
      if (!m) return;
      const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(m[1]!);
      starts.push({ line: i + 1, group: pkg ? pkg[1]! : `roleguard ${m[1]!.replace(/\/[^/]+$/, '/')}` });
    });
  return starts;
}

function groupOf(starts: { line: number; group: string }[], line: number): string {
  let lo = 0;
  let hi = starts.length - 1;
  let found = 'bundle prologue';
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (starts[mid]!.line <= line) {
      found = starts[mid]!.group;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/**
 * Where a function's init time goes: its bundle, built unminified (so that each module is marked), is imported by
 * a fresh Node process under the V8 profiler (0.1 ms samples), `repeats` times. Self time is summed by the module the
 * running code belongs to (module-level code by the line it runs on), grouped by package or lib/ folder.
 */
export async function profileInit(
  name: string,
  source: { entry: string } | { contents: string },
  dir: string,
  env: Record<string, string>,
  repeats: number,
): Promise<Record<string, number>> {
  mkdirSync(dir, { recursive: true });
  const bundle = join(dir, `${name}.unminified.mjs`);
  await build({
    ...('entry' in source
      ? { entryPoints: [source.entry] }
      : { stdin: { contents: source.contents, resolveDir: process.cwd(), loader: 'ts' as const } }),
    outfile: bundle,
    bundle: true,
    minify: false,
    target: 'node20',
    platform: 'node',
    format: 'esm',
    mainFields: ['module', 'main'],
    logLevel: 'silent',
    banner: {
      js: "import { createRequire as __roleguardCreateRequire } from 'node:module'; const require = __roleguardCreateRequire(import.meta.url);",
    },
  });
  // The profiler runs around the import only (not Node's own start), in the process that imports.
  const probe = join(dir, 'profile-probe.mjs');
  writeFileSync(
    probe,
    `import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: 100 });
await session.post('Profiler.start');
const m = await import(process.argv[2]);
const { profile } = await session.post('Profiler.stop');
if (typeof m.handler !== 'function') throw new Error('no handler');
writeFileSync(process.argv[3], JSON.stringify(profile));
`,
  );
  const url = pathToFileURL(resolve(bundle)).href;
  const starts = moduleStarts(bundle);
  const selfMs: Record<string, number> = {};
  for (let r = 0; r < repeats; r++) {
    const out = join(dir, `${name}.profile-${r}.json`);
    await promisify(execFile)(process.execPath, [probe, url, out], { env: { PATH: process.env.PATH ?? '', ...env } });
    const profile = JSON.parse(readFileSync(out, 'utf8')) as Profile;
    const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
    const ticks = new Map<number, number>();
    for (const [i, id] of profile.samples.entries()) ticks.set(id, (ticks.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
    for (const [id, us] of ticks) {
      const node = nodes.get(id)!;
      const add = (group: string, share: number) =>
        (selfMs[group] = (selfMs[group] ?? 0) + (us * share) / 1000 / repeats);
      if (node.callFrame.url !== url) {
        add(
          node.callFrame.url
            ? 'Node.js ESM loader (reads and compiles the bundle)'
            : node.callFrame.functionName || '(other)',
          1,
        );
        continue;
      }
      const positions = node.positionTicks ?? [];
      const total = positions.reduce((n, p) => n + p.ticks, 0);
      if (total === 0) add(groupOf(starts, node.callFrame.lineNumber + 1), 1);
      else for (const p of positions) add(groupOf(starts, p.line), p.ticks / total);
    }
  }
  return Object.fromEntries(
    Object.entries(selfMs)
      .sort((a, b) => b[1] - a[1])
      .filter(([, ms]) => ms >= 1)
      .map(([k, ms]) => [k, round2(ms)]),
  );
}
