import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
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
  'CHROME_PATH at a Chrome or Chromium binary. The npm Chromium is for x86-64 Linux with glibc 2.34 or newer; on ' +
  'other machines use the system one. If it fails to launch after an interrupted first run or an upgrade, delete ' +
  '/tmp/chromium and /tmp/roleguard-chromium-bundled and run again.';

/** A browser the tests can launch, and where it came from. */
export interface FoundBrowser {
  executablePath: string;
  args: string[];
  /** Extra environment, e.g. the shared libraries the npm Chromium brings when the system lacks them. */
  env: Record<string, string>;
  source: string;
}

/** The shared libraries a binary needs that the system does not have; null when ldd cannot tell. */
async function missingLibraries(binary: string): Promise<string[] | null> {
  try {
    const { stdout } = await run('ldd', [binary]);
    return [...stdout.matchAll(/^\s*(\S+) => not found/gm)].map((m) => m[1]!);
  } catch {
    return null;
  }
}

/** Where the parts @sparticuz/chromium ships for Amazon Linux are unpacked (once) when this machine lacks its own. */
const BUNDLED = join(tmpdir(), 'roleguard-chromium-bundled');

/** Unpack one of the package's brotli tarballs into BUNDLED (its own inflater only runs on Amazon Linux). */
function unpack(packageDir: string, name: string, marker: string): void {
  if (existsSync(join(BUNDLED, marker))) return;
  mkdirSync(BUNDLED, { recursive: true });
  const tar = join(BUNDLED, `${name}.tar`);
  writeFileSync(tar, brotliDecompressSync(readFileSync(join(packageDir, 'bin', `${name}.tar.br`))));
  execFileSync('tar', ['-xf', tar, '-C', BUNDLED]);
}

/** Whether the system has any font for Chromium to draw text with. */
const systemFonts = () =>
  ['/usr/share/fonts', '/usr/local/share/fonts'].some((d) => existsSync(d) && readdirSync(d).length > 0);

/**
 * What the npm Chromium needs from outside the package, taken from the package when the system lacks it: the NSS,
 * NSPR and expat libraries (a Debian without libnss3), and a font (a machine without any).
 * ROLEGUARD_CHROMIUM_BUNDLED=1 uses the package's parts even when the system has its own.
 */
async function bundledParts(executablePath: string): Promise<Record<string, string>> {
  const force = process.env.ROLEGUARD_CHROMIUM_BUNDLED === '1';
  const packageDir = dirname(dirname(dirname(require.resolve('@sparticuz/chromium'))));
  const env: Record<string, string> = {};
  const missing = await missingLibraries(executablePath);
  if (force || missing === null || missing.length > 0) {
    unpack(packageDir, 'al2023', join('lib', 'libnss3.so'));
    env.LD_LIBRARY_PATH = [join(BUNDLED, 'lib'), process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  }
  if (force || !systemFonts()) {
    unpack(packageDir, 'fonts', join('fonts', 'Open_Sans', 'OpenSans-Regular.ttf'));
    // The package's fonts.conf points at Lambda's paths; this one at the fonts just unpacked.
    const conf = `<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig><dir>${join(BUNDLED, 'fonts')}</dir><cachedir>${join(BUNDLED, 'fonts-cache')}</cachedir></fontconfig>\n`;
    writeFileSync(join(BUNDLED, 'fonts.conf'), conf);
    env.FONTCONFIG_PATH = BUNDLED;
    env.FONTCONFIG_FILE = join(BUNDLED, 'fonts.conf');
  }
  return env;
}

async function npmChromium(): Promise<FoundBrowser> {
  const { default: chromium } = await import('@sparticuz/chromium');
  const executablePath = await chromium.executablePath();
  const env = await bundledParts(executablePath);
  // One process per browser (the package's --single-process) is made for Lambda; here pages get their own.
  const args = chromium.args.filter((a) => a !== '--single-process' && a !== '--no-zygote');
  const parts = [env.LD_LIBRARY_PATH ? 'NSS libraries' : '', env.FONTCONFIG_FILE ? 'fonts' : ''].filter(Boolean);
  const bundled = parts.length ? `, with the package's own ${parts.join(' and ')}` : '';
  return { executablePath, args, env, source: `@sparticuz/chromium (npm) at ${executablePath}${bundled}` };
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
