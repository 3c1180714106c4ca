import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from '@jest/globals';
import { runCli } from '../helpers/cli.js';
import { testEndpoint } from '../helpers/dynamo.js';
import { EVENTS_DIR } from '../helpers/fixtures.js';

// The backtest report of a real replay, rendered by headless Chromium (Debian's chromium package; .ci/run installs it).
// A missing Chromium fails the test: it is never skipped.
const run = promisify(execFile);
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const dir = mkdtempSync(join(tmpdir(), 'roleguard-report-'));
const html = join(dir, 'backtest.html');
const png = join(dir, 'backtest.png');
const registry = join(EVENTS_DIR, 'registry.yaml');
const store = (name: string) => ['--endpoint', testEndpoint(), '--table', `report-${name}-${Date.now()}`];
const chromium = (...args: string[]) =>
  run(
    CHROMIUM,
    [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--hide-scrollbars',
      '--no-first-run',
      '--disable-dev-shm-usage',
      `--user-data-dir=${join(dir, 'profile')}`,
      ...args,
    ],
    { timeout: 30_000, maxBuffer: 16 * 1024 * 1024 },
  );

afterAll(() => {
  // Kept for a human to look at; the OS cleans the temp dir.
  console.log(`roleguard replay --report: the page is ${html}, its screenshot ${png}`);
});

describe('roleguard replay --report', () => {
  it('writes a self-contained HTML report of a real replay, which headless Chromium renders with every section', async () => {
    // Prepare
    const replay = await runCli(['replay', EVENTS_DIR, '--registry', registry, '--report', html, ...store('run')]);
    expect(replay.status).toBe(0);
    expect(replay.stderr).toContain(`HTML report written to ${html}`);

    // Act: the DOM as Chromium built it, and a screenshot of the page.
    const { stdout: dom } = await chromium('--dump-dom', `file://${html}`);
    await chromium('--window-size=1400,1800', `--screenshot=${png}`, `file://${html}`);

    // Assess: every section, the timeline's markers, the policy of the revocation, the rotation not yet dated.
    for (const id of ['summary', 'timeline', 'findings', 'revocations', 'rotations', 'rejected'])
      expect(dom).toContain(`<section id="${id}">`);
    expect(dom).toMatch(/<svg[^>]*aria-label="Sessions over time per role"/);
    expect(dom.match(/class="finding critical"/g)?.length).toBeGreaterThanOrEqual(1);
    expect(dom.match(/class="revocation"/g)).toHaveLength(1);
    expect(dom).toContain('unexpected-external-id');
    expect(dom).toContain('aws:TokenIssueTime');
    expect(dom).toContain('not yet dated');
    expect(dom).not.toMatch(/<script/i);
    // A PNG of the asked size (IHDR), with something on it: a blank page compresses to a few kilobytes.
    const image = readFileSync(png);
    expect(image.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(image.subarray(12, 16).toString('latin1')).toBe('IHDR');
    expect([image.readUInt32BE(16), image.readUInt32BE(20)]).toEqual([1400, 1800]);
    expect(image.length).toBeGreaterThan(60_000);
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
