import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Page } from 'puppeteer-core';
import { renderHtmlReport } from '../../lib/replay/html-report.js';
import { CANDIDATES, type FoundBrowser, launchBrowser, systemChromium } from '../helpers/browser.js';
import { busyMonth } from '../helpers/busy-month.js';
import { runCli } from '../helpers/cli.js';
import { testEndpoint } from '../helpers/dynamo.js';
import { EVENTS_DIR, ROOT } from '../helpers/fixtures.js';

// The backtest report rendered by headless Chromium: the one npm ci installs (@sparticuz/chromium), else a system
// one (see test/helpers/browser.ts). No browser at all fails these tests with how to get one: they never skip.
const dir = mkdtempSync(join(tmpdir(), 'roleguard-report-'));
const html = join(dir, 'backtest.html');
const png = join(dir, 'backtest.png');
const registry = join(EVENTS_DIR, 'registry.yaml');
const store = (name: string) => ['--endpoint', testEndpoint(), '--table', `report-${name}-${Date.now()}`];
/** A busy month must stay a page a browser opens at once: under this many bytes. */
const MONTH_MAX_BYTES = 1_000_000;

let browser: Browser;
let found: FoundBrowser;
beforeAll(async () => {
  ({ browser, found } = await launchBrowser());
  console.log(`HTML report tests render with ${found.source} (${await browser.version()})`);
}, 60_000);
afterAll(async () => {
  await browser?.close();
  // Kept for a human to look at; the OS cleans the temp dir.
  console.log(`roleguard replay --report: the pages and their screenshots are in ${dir}`);
});

/** Open a page of the given size on a file. */
async function open(file: string, width = 1400, height = 1800): Promise<Page> {
  const page = await browser.newPage();
  await page.setViewport({ width, height });
  await page.goto(`file://${file}`, { waitUntil: 'load' });
  return page;
}

/** Where the timeline's axis runs on screen, and how far right each marker, session bar and revocation reaches. */
const geometry = (page: Page) =>
  // A string, run in the page: the tests are typed without the DOM library.
  page.evaluate(`(() => {
    const svg = document.querySelector('#timeline svg');
    const axis = svg.querySelector('line.axis').getBoundingClientRect();
    const right = (selector, centre) =>
      [...svg.querySelectorAll(selector)].map((e) => {
        const box = e.getBoundingClientRect();
        return centre ? (box.left + box.right) / 2 : box.right;
      });
    return {
      axis: { left: axis.left, right: axis.right },
      markers: right('g.finding circle', true),
      bars: right('rect.session', false),
      revocations: right('line.revocation', false),
    };
  })()`) as Promise<{
    axis: { left: number; right: number };
    markers: number[];
    bars: number[];
    revocations: number[];
  }>;

describe('roleguard replay --report', () => {
  it('writes a self-contained HTML report of a real replay, which headless Chromium renders with every section', async () => {
    // Prepare
    const replay = await runCli(['replay', EVENTS_DIR, '--registry', registry, '--report', html, ...store('run')]);
    expect(replay.status).toBe(0);
    expect(replay.stderr).toContain(`HTML report written to ${html}`);

    // Act: the DOM as Chromium built it, and a screenshot of the page.
    const page = await open(html);
    const dom = await page.content();
    const image = Buffer.from(await page.screenshot({ path: png }));
    const { axis, markers } = await geometry(page);
    await page.close();

    // Assess: the verdict first (events/ holds 2 critical assumes and, since the tamper fixtures, a tampered revocation
    // policy and a deleted and re-created role), every section, the timeline's markers on its axis, the policy of the revocation,
    // the next step and runbook link of a finding, the rotation not yet dated.
    expect(dom).toContain(
      '<p class="verdict" id="verdict">6 critical on 1 vendor (and 1 medium); 1 session would have been revoked</p>',
    );
    for (const id of ['summary', 'unguarded', 'findings', 'timeline', 'revocations', 'rotations', 'rejected'])
      expect(dom).toContain(`<section id="${id}">`);
    expect(dom).toMatch(/<svg[^>]*aria-label="Sessions over time per role"/);
    expect(dom.match(/class="finding critical"/g)?.length).toBeGreaterThanOrEqual(1);
    expect(dom.match(/class="revocation"/g)).toHaveLength(1);
    expect(dom).toContain('unexpected-external-id');
    // The runbook of this checkout, by absolute file URL, so the link works wherever the page is saved.
    expect(dom).toContain(
      `href="${pathToFileURL(join(ROOT, 'docs', 'runbook.md')).href}#unexpected-external-id-critical"`,
    );
    expect(dom).toContain('aws:TokenIssueTime');
    // What the input covered, as the replay counted it (not told from the sessions).
    expect(dom).not.toContain('the replay gave no count of files');
    expect(dom).toMatch(/<dt>files<\/dt><dd>\d+<\/dd>/);
    expect(dom).toContain('not yet dated');
    expect(dom).not.toMatch(/<script/i);
    expect(markers.length).toBeGreaterThan(0);
    for (const x of markers) expect(x).toBeLessThanOrEqual(axis.right + 0.5);
    // A PNG of the asked size (IHDR), with something on it: a blank page compresses to a few kilobytes.
    expect(image.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(image.subarray(12, 16).toString('latin1')).toBe('IHDR');
    expect([image.readUInt32BE(16), image.readUInt32BE(20)]).toEqual([1400, 1800]);
    expect(image.length).toBeGreaterThan(60_000);
  }, 60_000);

  it(`renders a month of a busy account (61,320 sessions, 1,320 findings, 600 revocations) in under ${MONTH_MAX_BYTES / 1e6} MB, every mark on the axis`, async () => {
    // Prepare
    const input = busyMonth();
    const month = join(dir, 'busy-month.html');

    // Act
    writeFileSync(month, renderHtmlReport(input));
    const bytes = readFileSync(month).length;
    console.log(
      `a month of a busy account: ${input.report.sessions.length} sessions, ${input.report.findings.length} findings, ${input.report.actions.length} revocations -> ${(bytes / 1e6).toFixed(2)} MB of HTML (${month})`,
    );
    const page = await open(month);
    const { axis, markers, bars, revocations } = await geometry(page);
    await page.screenshot({ path: join(dir, 'busy-month.png') });
    await page.close();

    // Assess
    expect(bytes).toBeLessThan(MONTH_MAX_BYTES);
    expect(markers.length).toBeGreaterThan(0);
    expect(bars.length).toBeGreaterThan(1000);
    for (const x of [...markers, ...bars, ...revocations]) expect(x).toBeLessThanOrEqual(axis.right + 0.5);
    for (const x of markers) expect(x).toBeGreaterThanOrEqual(axis.left - 0.5);
  }, 60_000);

  it('on Ctrl-C writes the report of what was done so far, marked partial', async () => {
    // Prepare: SIGINT as soon as the replay listens for it (it then waits for DynamoDB, long before the run ends).
    const partial = join(dir, 'partial.html');
    const interrupt = (event: string | symbol) => {
      if (event === 'SIGINT') setImmediate(() => process.emit('SIGINT'));
    };
    process.on('newListener', interrupt);

    // Act
    const replay = await runCli([
      'replay',
      EVENTS_DIR,
      '--registry',
      registry,
      '--report',
      partial,
      ...store('ctrl-c'),
    ]).finally(() => process.off('newListener', interrupt));

    // Assess
    expect(replay.status).toBe(130);
    expect(replay.stderr).toContain(`the HTML report of what was done so far is in ${partial}`);
    expect(readFileSync(partial, 'utf8')).toContain('<h1>roleguard backtest (interrupted: partial)</h1>');
  });

  it('refuses a report path whose directory does not exist, before anything runs', async () => {
    const missing = join(dir, 'missing', 'r.html');
    const replay = await runCli([
      'replay',
      EVENTS_DIR,
      '--registry',
      registry,
      '--report',
      missing,
      ...store('refused'),
    ]);
    expect(replay.status).toBe(2);
    expect(replay.stderr).toContain(`--report: the directory ${join(dir, 'missing')} does not exist`);
    expect(existsSync(missing)).toBe(false);
    const directory = await runCli([
      'replay',
      EVENTS_DIR,
      '--registry',
      registry,
      '--report',
      dir,
      ...store('refused'),
    ]);
    expect(directory.status).toBe(2);
    expect(directory.stderr).toContain(`--report: ${dir} is a directory`);
  });
});

describe('the browser the report tests use', () => {
  it('fails, saying how to get one, when there is no browser at all', async () => {
    await expect(launchBrowser([async () => null])).rejects.toThrow(
      /needs a headless Chromium and found none\. Run `npm ci` .*apt-get install chromium.*CHROME_PATH/,
    );
    await expect(
      launchBrowser([
        async () => {
          throw new Error('libnss3.so: cannot open shared object file');
        },
      ]),
    ).rejects.toThrow(/Tried: a candidate: libnss3\.so: cannot open shared object file/);
  });

  it('falls back to a system Chromium (CHROME_PATH) when the npm one cannot run', async () => {
    const before = process.env.CHROME_PATH;
    process.env.CHROME_PATH = found.executablePath;
    try {
      const system = systemChromium()!;
      expect(system.source).toBe(`system Chromium at ${found.executablePath}`);
      const fallback = await launchBrowser([
        async () => {
          throw new Error('no npm Chromium');
        },
        async () => ({ ...system, env: found.env }),
      ]);
      await fallback.browser.close();
      expect(fallback.found.source).toBe(`system Chromium at ${found.executablePath}`);
    } finally {
      if (before === undefined) delete process.env.CHROME_PATH;
      else process.env.CHROME_PATH = before;
    }
  }, 60_000);

  it("runs the npm Chromium with the package's own NSS libraries and fonts, as on a machine without them", async () => {
    const before = process.env.ROLEGUARD_CHROMIUM_BUNDLED;
    process.env.ROLEGUARD_CHROMIUM_BUNDLED = '1';
    try {
      const npm = await launchBrowser([CANDIDATES[0]!]);
      try {
        expect(npm.found.source).toContain("with the package's own NSS libraries and fonts");
        const maps = readFileSync(`/proc/${npm.browser.process()!.pid}/maps`, 'utf8');
        expect(maps).toMatch(/roleguard-chromium-bundled\/lib\/libnss3\.so/);
        const page = await npm.browser.newPage();
        await page.goto(`file://${html}`);
        expect(await page.$eval('#verdict', (e) => e.textContent)).toContain('critical on 1 vendor');
      } finally {
        await npm.browser.close();
      }
    } finally {
      if (before === undefined) delete process.env.ROLEGUARD_CHROMIUM_BUNDLED;
      else process.env.ROLEGUARD_CHROMIUM_BUNDLED = before;
    }
  }, 60_000);
});
