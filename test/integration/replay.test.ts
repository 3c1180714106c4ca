import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createDeps } from '../../lib/deps.js';
import { runReplay } from '../../lib/replay/run-replay.js';
import { createSessionsTable, createTestTables, testDynamo, testEndpoint } from '../helpers/dynamo.js';
import { assumeRecord, EVENTS_DIR, ROOT, SAMPLES_DIR } from '../helpers/fixtures.js';
import { memoryLogger } from '../helpers/logger.js';

let doc: DynamoDBDocumentClient;
let dir: string;
const CLI = join(ROOT, 'bin', 'roleguard.js');

beforeAll(() => {
  doc = testDynamo();
  dir = mkdtempSync(join(tmpdir(), 'roleguard-replay-'));
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-cli.js')], { cwd: ROOT });
});
afterAll(() => {
  doc.destroy();
  rmSync(dir, { recursive: true, force: true });
});

async function replay(paths: string[], options: { slowFirstWriteOf?: string } = {}) {
  const config = await createTestTables(doc, await createSessionsTable(doc));
  const deps = createDeps(config, {
    dynamo: doc,
    logger: memoryLogger().logger,
    now: () => {
      throw new Error('replay must use the event clock');
    },
  });
  if (options.slowFirstWriteOf) {
    // Make the first write of one event slow, as a loaded store would, to expose any ordering race.
    const record = deps.sessions.record;
    let slowed = false;
    deps.sessions.record = async (event, opts) => {
      if (event.eventId === options.slowFirstWriteOf && !slowed) {
        slowed = true;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return record(event, opts);
    };
  }
  return runReplay(deps, { paths });
}

function cli(args: string[], env: NodeJS.ProcessEnv = {}): { status: number; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync(process.execPath, [CLI, ...args], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { status: 0, stdout, stderr: '' };
  } catch (error) {
    const e = error as { status: number; stdout: string; stderr: string };
    return { status: e.status, stdout: e.stdout, stderr: e.stderr };
  }
}

// The port of the DynamoDB Local a CLI process started (its child's command line).
const javaPortOf = (pid: number): string => {
  const children = execFileSync('pgrep', ['-P', String(pid), '-a'], { encoding: 'utf8' });
  return /-port (\d+)/.exec(children)![1]!;
};

const javaProcesses = (port: string) => {
  try {
    return execFileSync('pgrep', ['-f', `DynamoDBLocal.jar.*-port ${port}`], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
};

describe('replay through the pipeline on DynamoDB Local', () => {
  it('classifies the published samples and the sample events exactly', async () => {
    const report = await replay([EVENTS_DIR, SAMPLES_DIR]);
    expect(report.summary).toEqual({
      eventsRead: 35,
      recorded: 15,
      duplicates: 2,
      ignored: 12,
      rejected: 1,
      // UpdateAssumeRolePolicy, and the IAM role events (PutRolePolicy, DeleteRolePolicy, DeleteRole, CreateRole).
      trustPolicyChanges: 5,
      findings: 0,
      actions: 0,
    });
    expect(report.findings).toEqual([]);
    expect(report.actions).toEqual([]);
    expect(report.rejected).toEqual([
      {
        source: join(SAMPLES_DIR, 'aws-repost_assumerolewithwebidentity-accessdenied-eks-abbreviated.json'),
        reason: expect.stringMatching(/eventID: missing; eventTime: missing/),
      },
    ]);
    // Sorted by time; the 2014 doc pair shares eventID and recipient, so one copy is a duplicate. Which one is
    // recorded does not depend on the files' order (the report may not), but on the copies: the role owner's.
    expect(report.sessions[0]).toEqual({
      eventId: 'dEXAMPLE-ac7f-466c-a608-4ac8dEXAMPLE',
      eventName: 'AssumeRole',
      roleArn: 'arn:aws:iam::111122223333:role/EC2-dev',
      roleSessionName: 'JohnDoe-EC2-dev',
      assumedRoleId: 'AIDAQRSTUVWXYZEXAMPLE:JohnDoe-EC2-dev',
      accessKeyId: 'AKIAQRSTUVWXYZEXAMPLE',
      callerAccountId: '777788889999',
      callerType: 'AWSAccount',
      externalId: null,
      sourceIpAddress: '192.0.2.101',
      issuedAt: '2014-07-18T15:07:39Z',
      expiresAt: '2014-07-18T16:07:39Z',
      outcome: 'success',
      recipientAccountId: '111122223333',
      callerArn: null,
      callerPrincipalId: 'AIDAQRSTUVWXYZEXAMPLE',
      sourceIdentity: 'JohnDoe',
      userAgent: expect.stringContaining('aws-cli/1.11.10'),
      awsRegion: 'us-east-2',
      sharedEventId: 'bEXAMPLE-efea-4a70-b951-19a88EXAMPLE',
      durationSeconds: null,
      errorCode: null,
    });
    const vendor = report.sessions.filter((s) => s.roleArn.endsWith('/vendors/ExampleCorpAudit'));
    expect(vendor.map((s) => [s.issuedAt, s.outcome, s.externalId, s.expiresAt])).toEqual([
      ['2026-11-02T09:15:04Z', 'success', 'ec-7Hq2vN9xK4pL8mR3', '2026-11-02T10:15:04Z'],
      ['2026-11-02T12:00:00Z', 'success', 'ec-7Hq2vN9xK4pL8mR3', '2026-11-02T13:00:00Z'],
      ['2026-11-02T14:02:11Z', 'denied', null, null],
      ['2026-11-02T23:47:31Z', 'success', 'tenant-4821-guess', '2026-11-03T00:47:31Z'],
    ]);
  });

  it('gives the same report on every run, even when delivery is repeated', async () => {
    const first = await replay([EVENTS_DIR]);
    const twice = await replay([EVENTS_DIR, EVENTS_DIR]);
    expect(twice.sessions).toEqual(first.sessions);
    expect(twice.summary.duplicates).toBe(2 * first.summary.duplicates + first.summary.recorded);
  });

  it('records the same copy of an event whatever the input order, however many records are in flight', async () => {
    // Copies of one event that differ (never in a real trail): which one is recorded may not depend on where each
    // sits in the input, so that any order and split of the same records gives the same report.
    const padding = Array.from({ length: 40 }, (_, i) => JSON.stringify(assumeRecord({ eventID: `pad-${i}` })));
    const iamUser = assumeRecord({
      eventID: 'same',
      userIdentity: { type: 'IAMUser', accountId: '777788889999', arn: 'arn:aws:iam::777788889999:user/first' },
    });
    const account = assumeRecord({ eventID: 'same', userIdentity: { type: 'AWSAccount', accountId: '777788889999' } });
    const recorded: unknown[] = [];
    for (const [name, copies] of [
      ['copies.jsonl', [iamUser, account]],
      ['copies-swapped.jsonl', [account, iamUser]],
    ] as const) {
      const path = join(dir, name);
      writeFileSync(path, [...padding, ...copies.map((c) => JSON.stringify(c))].join('\n'));
      for (let run = 0; run < 2; run++) {
        const report = await replay([path], { slowFirstWriteOf: 'same' });
        expect(report.summary).toMatchObject({ recorded: 41, duplicates: 1 });
        recorded.push(report.sessions.find((x) => x.eventId === 'same'));
      }
    }
    expect(recorded.every((session) => JSON.stringify(session) === JSON.stringify(recorded[0]))).toBe(true);
  });

  it('goes on past bad files and records, naming each', async () => {
    const good = join(dir, 'good.jsonl.gz');
    writeFileSync(
      good,
      gzipSync(
        `${JSON.stringify(assumeRecord({ eventID: 'g1' }))}\n{broken\n${JSON.stringify(assumeRecord({ eventID: 'g2', eventTime: 'later' }))}\n${JSON.stringify(assumeRecord({ eventID: 'g3' }))}\n`,
      ),
    );
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"Records": [');
    const report = await replay([bad, good, join(dir, 'missing.json')]);
    expect(report.summary).toMatchObject({ eventsRead: 3, recorded: 2, rejected: 4 });
    expect(report.rejected.map((r) => [r.source.slice(dir.length + 1), r.reason.slice(0, 40)])).toEqual([
      ['missing.json', 'no such file or directory'],
      ['bad.json', 'not JSON or JSON lines: Unexpected end o'],
      ['good.jsonl.gz:1', expect.stringMatching(/^not JSON/)],
      ['good.jsonl.gz:2', 'AssumeRole record is invalid: eventTime:'],
    ]);
  });
});

describe('roleguard replay (the command)', () => {
  it('prints the contract document with --json against a running DynamoDB', () => {
    const { status, stdout } = cli([
      'replay',
      EVENTS_DIR,
      '--json',
      '--endpoint',
      testEndpoint(),
      '--table',
      `cli-${Date.now()}`,
    ]);
    expect(status).toBe(0);
    const report = JSON.parse(stdout);
    expect(Object.keys(report)).toEqual(['summary', 'sessions', 'findings', 'actions', 'rejected', 'ignored']);
    expect(report.summary).toEqual({
      eventsRead: 13,
      recorded: 4,
      duplicates: 1,
      ignored: 3,
      rejected: 0,
      findings: 0,
      actions: 0,
      trustPolicyChanges: 5,
    });
  });

  it('starts its own DynamoDB Local, prints a readable summary and leaves no Java process behind', () => {
    const { status, stdout } = cli(['replay', EVENTS_DIR]);
    expect(status).toBe(0);
    const port = /embedded DynamoDB Local at http:\/\/127\.0\.0\.1:(\d+), stopped when done; dry run/.exec(stdout)?.[1];
    expect(port).toBeDefined();
    expect(stdout).toMatch(/Sessions recorded \(4\)/);
    expect(stdout).toContain('arn:aws:iam::111122223333:role/vendors/Exam');
    // External IDs are masked in the readable report.
    expect(stdout).not.toContain('ec-7Hq2vN9xK4pL8mR3');
    expect(javaProcesses(port!)).toBe('');
  });

  it('exits non-zero with a clear message when it cannot run', () => {
    const { status, stderr } = cli(['replay', EVENTS_DIR, '--endpoint', 'http://127.0.0.1:9'], {
      AWS_MAX_ATTEMPTS: '1',
    });
    expect(status).toBe(1);
    expect(stderr).toMatch(/^roleguard: /);
    expect(cli(['replay', EVENTS_DIR, '--concurrency', 'lots']).status).toBe(2);
    expect(cli(['replay']).status).toBe(2);
  });

  it('stops cleanly on Ctrl-C and stops its DynamoDB Local', async () => {
    const big = join(dir, 'big.jsonl');
    const lines = Array.from({ length: 20000 }, (_, i) => JSON.stringify(assumeRecord({ eventID: `big-${i}` })));
    writeFileSync(big, `${lines.join('\n')}\n`);
    // Its own process group, as a terminal's foreground job: Ctrl-C signals the whole group.
    const child = spawn(process.execPath, [CLI, 'replay', big, '--progress'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (/records/.test(stderr)) {
          clearInterval(poll);
          resolve();
        }
      }, 50);
    });
    const port = javaPortOf(child.pid!);
    process.kill(-child.pid!, 'SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(130);
    expect(stderr).toMatch(/interrupted; stopped cleanly/);
    expect(javaProcesses(port)).toBe('');
  });

  it('does not leave DynamoDB Local behind even when the command is killed outright', async () => {
    const big = join(dir, 'big-kill.jsonl');
    writeFileSync(
      big,
      `${Array.from({ length: 20000 }, (_, i) => JSON.stringify(assumeRecord({ eventID: `kill-${i}` }))).join('\n')}\n`,
    );
    const child = spawn(process.execPath, [CLI, 'replay', big, '--progress'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (!/records/.test(stderr)) return;
        clearInterval(poll);
        resolve();
      }, 50);
    });
    const port = javaPortOf(child.pid!);
    expect(javaProcesses(port)).not.toBe('');
    child.kill('SIGKILL');
    await new Promise((resolve) => child.on('exit', resolve));
    // No exit hook runs on SIGKILL: the watchdog sees its pipe close and stops Java.
    for (let i = 0; i < 100 && javaProcesses(port) !== ''; i++) await new Promise((r) => setTimeout(r, 100));
    expect(javaProcesses(port)).toBe('');
  });
});
