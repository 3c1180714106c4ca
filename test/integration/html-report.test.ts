import { afterAll, describe, expect, it, jest } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { main } from '../../cli/main.js';
import { testEndpoint } from '../helpers/dynamo.js';
import { EVENTS_DIR, SAMPLES_DIR } from '../helpers/fixtures.js';

// The backtest report of a real replay, rendered by headless Chromium (Debian's chromium package; .ci/run installs it).
const run = promisify(execFile);
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const dir = mkdtempSync(join(tmpdir(), 'roleguard-report-'));
const html = join(dir, 'backtest.html');
const png = join(dir, 'backtest.png');
const chromium = (...args: string[]) => run(CHROMIUM, ['--headless=new', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--no-first-run', '--disable-dev-shm-usage', `--user-data-dir=${join(dir, 'profile')}`, ...args], { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 });

afterAll(() => {
  // Kept for a human to look at (the path is printed); the OS cleans the temp dir.
  process.stdout.write(`html report: ${html}\nscreenshot: ${png}\n`);
});

describe('roleguard replay --report', () => {
  it('writes a self-contained HTML report of a real replay, which headless Chromium renders with every section', async () => {
    const quiet = [jest.spyOn(process.stdout, 'write').mockImplementation(() => true), jest.spyOn(process.stderr, 'write').mockImplementation(() => true)];
    let status: number;
    try {
      status = await main(['node', 'roleguard', 'replay', EVENTS_DIR, SAMPLES_DIR, '--registry', join(EVENTS_DIR, 'registry.yaml'), '--report', html, '--endpoint', testEndpoint(), '--table', `report-${Date.now()}`]);
    } finally {
      for (const spy of quiet) spy.mockRestore();
    }
    expect(status).toBe(0);
    expect(existsSync(html)).toBe(true);

    // The DOM as Chromium built it: every section, the timeline's markers, the policy of the revocation.
    const { stdout: dom } = await chromium('--dump-dom', `file://${html}`);
    for (const id of ['timeline', 'findings', 'revocations', 'rotations', 'rejected']) expect(dom).toContain(`<section id="${id}">`);
    expect(dom).toMatch(/<svg[^>]*aria-label="Sessions over time per role"/);
    expect((dom.match(/class="finding"/g) ?? []).length).toBe(3);
    expect(dom).toContain('unexpected-external-id');
    expect(dom).toContain('aws:TokenIssueTime');

    // The screenshot: a PNG of the asked size, with something on it.
    await chromium('--window-size=1400,1800', `--screenshot=${png}`, `file://${html}`);
    const image = readFileSync(png);
    expect(image.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect([image.readUInt32BE(16), image.readUInt32BE(20)]).toEqual([1400, 1800]);
    // A blank page compresses to a few kilobytes; this one has text, tables and a chart.
    expect(image.length).toBeGreaterThan(60_000);
  }, 120_000);

  it('refuses a report path whose directory does not exist, before anything runs', async () => {
    let stderr = '';
    const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: unknown) => ((stderr += String(chunk)), true));
    try {
      expect(await main(['node', 'roleguard', 'replay', EVENTS_DIR, '--report', join(dir, 'missing', 'r.html'), '--endpoint', testEndpoint()])).toBe(2);
    } finally {
      err.mockRestore();
    }
    expect(stderr).toContain('--report: the directory');
  });
});
