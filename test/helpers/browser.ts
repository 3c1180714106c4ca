import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { brotliDecompressSync } from 'node:zlib';
import puppeteer, { type Browser } from 'puppeteer-core';

// A headless Chromium for the tests that render the HTML report. First the one inside the @sparticuz/chromium
// devDependency (npm ci installs it, no download, no install script); then a system Chromium (CHROME_PATH, or
// Debian's /usr/bin/chromium); else the test fails and says how to get one. It is never skipped.
const run = promisify(execFile);
const require = createRequire(import.meta.url);
const SYSTEM = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
const HOW_TO_GET_ONE =
  'The HTML report test needs a headless Chromium and found none. Run `npm ci` (it installs @sparticuz/chromium, a ' +
  'Chromium inside the npm package), or install a system one (Debian: `apt-get install chromium`) or point ' +
  'CHROME_PATH at a Chrome or Chromium binary.';

/** A browser the tests can launch, and where it came from. */
export interface FoundBrowser {
  executablePath: string;
  args: string[];
  /** Extra environment, e.g. the shared libraries the npm Chromium brings when the system lacks them. */
  env: Record<string, string>;
  source: string;
}

/** The shared libraries a binary needs that the system does not have (none when ldd itself is missing: then all). */
async function missingLibraries(binary: string): Promise<string[] | null> {
  try {
    const { stdout } = await run('ldd', [binary]);
    return [...stdout.matchAll(/^\s*(\S+) => not found/gm)].map((m) => m[1]!);
  } catch {
    return null;
  }
}

/**
 * The libraries @sparticuz/chromium ships for Amazon Linux (NSS, NSPR, expat), unpacked once: on a machine without
 * them (a Debian without libnss3) the npm Chromium runs with these.
 */
function bundledLibraries(packageDir: string): string {
  const dir = join(tmpdir(), 'roleguard-chromium-libs');
  if (!existsSync(join(dir, 'lib', 'libnss3.so'))) {
    mkdirSync(dir, { recursive: true });
    const tar = join(dir, 'al2023.tar');
    writeFileSync(tar, brotliDecompressSync(readFileSync(join(packageDir, 'bin', 'al2023.tar.br'))));
    // Debian's tar (always there) unpacks it; the package's own inflater only runs on Amazon Linux.
    execFileSync('tar', ['-xf', tar, '-C', dir]);
  }
  return join(dir, 'lib');
}

async function npmChromium(): Promise<FoundBrowser> {
  const { default: chromium } = await import('@sparticuz/chromium');
  const executablePath = await chromium.executablePath();
  const missing = await missingLibraries(executablePath);
  const env: Record<string, string> = {};
  if (missing === null || missing.length > 0 || process.env.ROLEGUARD_CHROMIUM_BUNDLED_LIBS === '1') {
    const packageDir = dirname(dirname(dirname(require.resolve('@sparticuz/chromium'))));
    env.LD_LIBRARY_PATH = [bundledLibraries(packageDir), process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  }
  // One process per browser (the package's --single-process) is made for Lambda; here pages get their own.
  const args = chromium.args.filter((a) => a !== '--single-process' && a !== '--no-zygote');
  const libs = env.LD_LIBRARY_PATH ? ', with its bundled NSS libraries' : '';
  return { executablePath, args, env, source: `@sparticuz/chromium (npm) at ${executablePath}${libs}` };
}

/** A system Chromium: CHROME_PATH, or the usual places. */
export function systemChromium(): FoundBrowser | null {
  const path = process.env.CHROME_PATH ?? SYSTEM.find((p) => existsSync(p));
  if (!path) return null;
  const args = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'];
  return { executablePath: path, args, env: {}, source: `system Chromium at ${path}` };
}

/** Where a browser may be, in order of preference: null when that one is not there. */
export type BrowserCandidate = () => Promise<FoundBrowser | null>;
/** The npm-shipped Chromium, then a system one. */
export const CANDIDATES: BrowserCandidate[] = [npmChromium, async () => systemChromium()];

/** Launch the first browser found; throws, saying how to get one, when there is none. */
export async function launchBrowser(
  candidates: BrowserCandidate[] = CANDIDATES,
): Promise<{ browser: Browser; found: FoundBrowser }> {
  const tried: string[] = [];
  for (const candidate of candidates) {
    let found: FoundBrowser | null = null;
    try {
      found = await candidate();
      if (!found) continue;
      const browser = await puppeteer.launch({
        executablePath: found.executablePath,
        args: found.args,
        headless: true,
        env: { ...process.env, ...found.env },
      });
      return { browser, found };
    } catch (error) {
      tried.push(`${found?.source ?? 'a candidate'}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  throw new Error(`${HOW_TO_GET_ONE}${tried.length ? ` Tried: ${tried.join('; ')}` : ''}`);
}
