import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readInputFile } from '../../lib/cloudtrail/read-inputs.js';
import { runCli } from '../helpers/cli.js';
import { testEndpoint } from '../helpers/dynamo.js';
import { assumeRecord, EVENTS_DIR, ROOT, SAMPLES_DIR, sampleFiles } from '../helpers/fixtures.js';

// The built CLI, run as a user runs it: exit statuses, messages, and the readable and JSON reports of `replay`.
const CLI = join(ROOT, 'bin', 'roleguard.js');
const execFileAsync = promisify(execFile);
let dir: string;
let tables = 0;

async function cli(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [CLI, ...args], {
      cwd: ROOT,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { status: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { status: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

// A replay against the test DynamoDB Local, on tables of its own.
const replay = (args: string[]) =>
  cli(['replay', ...args, '--endpoint', testEndpoint(), '--table', `replay-cli-${process.pid}-${tables++}`]);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'roleguard-replay-cli-'));
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-cli.js')], { cwd: ROOT });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('roleguard: version and usage errors', () => {
  it('prints its version with --version and -V', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V'])
      expect(await cli([flag])).toMatchObject({ status: 0, stdout: `${version}\n` });
  });

  it.each([
    ['no command', []],
    ['an unknown command', ['replays']],
    ['an unknown option', ['replay', EVENTS_DIR, '--jsn']],
    ['a missing argument', ['replay']],
    ['a bad option value', ['replay', EVENTS_DIR, '--concurrency', 'lots']],
    ['an endpoint that is not a URL', ['replay', EVENTS_DIR, '--endpoint', 'localhost:8000']],
    ['an unknown option of another command', ['sessions', '--bogus']],
  ])('exits 2 for %s', async (_, args) => {
    expect((await cli(args)).status).toBe(2);
  });

  it('exits 2 naming a path that does not exist, before it touches DynamoDB', async () => {
    const missing = join(dir, 'no-such-trail');
    // An endpoint nothing listens on: had the store been opened first, the run would fail (1), not refuse (2).
    const { status, stderr, stdout } = await cli(['replay', EVENTS_DIR, missing, '--endpoint', 'http://127.0.0.1:9']);
    expect(status).toBe(2);
    expect(stderr).toBe(`roleguard replay: ${missing}: no such file or directory\n`);
    expect(stdout).toBe('');
  });

  it('exits 2 when there is no input file to read at all, before it starts DynamoDB Local', async () => {
    const empty = join(dir, 'empty-trail');
    mkdirSync(join(empty, 'AWSLogs'), { recursive: true });
    writeFileSync(join(empty, 'AWSLogs', 'notes.txt'), 'not a log');
    const { status, stderr } = await cli(['replay', empty]);
    expect(status).toBe(2);
    expect(stderr).toMatch(new RegExp(`^roleguard replay: no input to read in ${empty}: no .json`));
    expect(stderr).not.toMatch(/DynamoDB/);
  });
});

describe('roleguard replay: what it reads and says', () => {
  it('says once that --workers is ignored when the reading worker is not beside the bundle', async () => {
    // In-process from the sources there is no built replay-worker.js.
    const file = join(dir, 'one-assume.json');
    writeFileSync(file, JSON.stringify({ Records: [assumeRecord()] }));
    const run = (extra: string[]) =>
      runCli([
        'replay',
        file,
        ...extra,
        '--endpoint',
        testEndpoint(),
        '--table',
        `replay-cli-${process.pid}-${tables++}`,
      ]);
    const asked = await run(['--workers', '3']);
    expect(asked.status).toBe(0);
    expect(
      asked.stderr.match(/--workers 3 ignored: the reading worker \(replay-worker\.js\) is not beside/g),
    ).toHaveLength(1);
    for (const extra of [[], ['--workers', '1']]) {
      const quiet = await run(extra);
      expect(quiet.status).toBe(0);
      expect(quiet.stderr).not.toMatch(/ignored/);
    }
  });

  it('says loudly when a run read 0 events', async () => {
    const junk = join(dir, 'junk.json');
    writeFileSync(junk, 'this is not CloudTrail');
    const { status, stdout, stderr } = await replay([junk]);
    expect(status).toBe(0);
    expect(stderr).toMatch(/roleguard replay: WARNING: read 0 events from 1 file: nothing was replayed \(1 rejection/);
    expect(stdout).toMatch(/WARNING: no events were read/);
  });

  it('replays the output of aws cloudtrail lookup-events as it replays the same records in log files', async () => {
    const records: unknown[] = [];
    for (const name of sampleFiles())
      for await (const item of readInputFile(join(SAMPLES_DIR, name))) if ('record' in item) records.push(item.record);
    const lookup = join(dir, 'lookup-events.json');
    writeFileSync(
      lookup,
      JSON.stringify(
        {
          Events: records.map((r) => ({
            EventId: (r as { eventID?: string }).eventID,
            CloudTrailEvent: JSON.stringify(r),
          })),
          NextToken: 'abc',
        },
        null,
        4,
      ),
    );
    const fromLookup = JSON.parse((await replay([lookup, '--json'])).stdout);
    const fromSamples = JSON.parse((await replay([SAMPLES_DIR, '--json'])).stdout);
    expect(fromLookup.summary).toMatchObject({ eventsRead: 22, recorded: 11 });
    expect(fromLookup.summary).toEqual(fromSamples.summary);
    expect(fromLookup.sessions).toEqual(fromSamples.sessions);
    expect(fromLookup.ignored).toEqual(fromSamples.ignored);
  });

  it('counts ignored events by reason and by event name, in the JSON and in the text', async () => {
    const json = JSON.parse((await replay([EVENTS_DIR, '--json'])).stdout);
    expect(json.summary.ignored).toBe(3);
    // Most frequent first, then by name: the same document on every run.
    expect(Object.entries(json.ignored.byReason)).toEqual([
      ['not an assume or IAM role event', 2],
      ['assume by an AWS service', 1],
    ]);
    expect(Object.entries(json.ignored.byEventName)).toEqual([
      ['AssumeRole', 1],
      ['DescribeInstances', 1],
      ['ListBuckets', 1],
    ]);
    const { stdout } = await replay([EVENTS_DIR]);
    expect(stdout).toMatch(/Ignored \(3\) by reason\nreason +records\n-+ +-+\nnot an assume or IAM role event +2\n/);
    expect(stdout).toMatch(/Ignored by event name\nevent name +records\n-+ +-+\nAssumeRole +1\nDescribeInstances +1\n/);
  });

  it('prints every time in one format, and plurals right', async () => {
    const { stdout } = await replay([EVENTS_DIR, '--registry', join(EVENTS_DIR, 'registry.yaml')]);
    // The revocation is decided a second after its event: shown like every other time, without milliseconds.
    expect(stdout).toMatch(
      /Revocations \(1; emulated: nothing written\)\n.*\n.*\n2026-11-02T23:48:00Z +revoke-session/,
    );
    expect(stdout).not.toMatch(/\.\d{3}Z/);
    expect(stdout).toMatch(/; 1 guarded role\)/);
  });

  it('summarises a large run: the summary and the top findings, then where to find everything', async () => {
    const many = join(dir, 'many.jsonl');
    const lines = Array.from({ length: 30 }, (_, i) => {
      const base = assumeRecord({ eventID: `many-${i}`, eventTime: `2026-11-02T10:${String(i).padStart(2, '0')}:00Z` });
      const params = { ...(base.requestParameters as object), externalId: `wrong-${i}` };
      return JSON.stringify({ ...base, requestParameters: params });
    });
    writeFileSync(many, lines.join('\n'));
    const { status, stdout } = await replay([many, '--registry', join(EVENTS_DIR, 'registry.yaml')]);
    expect(status).toBe(0);
    // 30 unexpected IDs (critical), and the returns of a revoked caller (high) while its revoked session could still
    // live: every copy carries the sample's expiry (10:15:04), so the 15 returns before it count. Critical ones come first.
    expect(stdout).toMatch(/Top findings \(10 of 45, most severe first\)/);
    expect(stdout.match(/unexpected-external-id/g)).toHaveLength(10);
    expect(stdout).toMatch(/Sessions recorded \(30, on 1 role\)/);
    expect(stdout).not.toMatch(/many-2\d/);
    expect(stdout.trimEnd().split('\n').at(-1)).toMatch(/--json > report\.json.*--report report\.html/);
  });
});
