import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parseTimeFlag } from '../../cli/sessions-command.js';
import { type AssumeEvent, classifyRecord } from '../../lib/cloudtrail/index.js';
import { ensureTable } from '../../lib/local/tables.js';
import { createSessionStore, sessionsTableDefinition } from '../../lib/sessions/index.js';
import { runCli } from '../helpers/cli.js';
import { testDynamo, testEndpoint } from '../helpers/dynamo.js';
import { EVENTS_DIR } from '../helpers/fixtures.js';
import { accessKeyOf, vendorAssume } from '../helpers/revocation.js';

// `roleguard sessions`, in-process, against sessions recorded in DynamoDB Local as the service records them.
const TABLE = `sessions-cli-${Date.now()}`;
const ROLE = 'arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit';
const OTHER_ROLE = 'arn:aws:iam::111122223333:role/vendors/OtherVendor';
const now = Date.now();
const ago = (minutes: number) =>
  new Date(Math.floor((now - minutes * 60_000) / 1000) * 1000).toISOString().replace('.000Z', 'Z');
let doc: DynamoDBDocumentClient;

const run = (args: string[]) => runCli(['sessions', ...args, '--endpoint', testEndpoint(), '--table', TABLE]);

beforeAll(async () => {
  doc = testDynamo();
  await ensureTable(doc, sessionsTableDefinition(TABLE));
  const store = createSessionStore(doc, TABLE, 90);
  const record = (e: Record<string, unknown>) =>
    store.record(classifyRecord(e, { recordAwsServiceAssumes: false }) as AssumeEvent, {
      processed: true,
      now: new Date(),
    });
  // Active (expires in 40 min), expired (3 days ago), another caller account, another role.
  await record(
    vendorAssume({
      id: 's-active',
      time: ago(20),
      session: 'scan-active',
      externalId: 'ec-7Hq2vN9xK4pL8mR3',
      expiration: new Date(now + 40 * 60_000).toISOString(),
    }),
  );
  await record(
    vendorAssume({
      id: 's-old',
      time: ago(3 * 1440),
      session: 'scan-old',
      externalId: 'ec-7Hq2vN9xK4pL8mR3',
      expiration: new Date(now - 3 * 86_400_000 + 3600_000).toISOString(),
    }),
  );
  await record(
    vendorAssume({
      id: 's-stranger',
      time: ago(10),
      session: 'scan-x',
      externalId: 'guessed-id',
      account: '444455556666',
      expiration: new Date(now + 50 * 60_000).toISOString(),
    }),
  );
  await record(
    vendorAssume({
      id: 's-other',
      time: ago(5),
      session: 'other',
      externalId: null,
      roleArn: OTHER_ROLE,
      expiration: new Date(now + 55 * 60_000).toISOString(),
    }),
  );
});
afterAll(() => doc.destroy());

describe('roleguard sessions', () => {
  it('finds the session that holds an access key, with the external ID masked', async () => {
    const result = await run(['--access-key', accessKeyOf('s-stranger'), '--json']);
    expect(result.status).toBe(0);
    const found = JSON.parse(result.stdout);
    expect(found).toEqual([
      expect.objectContaining({ eventId: 's-stranger', callerAccountId: '444455556666', active: true }),
    ]);
    expect(result.stdout).not.toContain('guessed-id');
  });

  it("lists a role's sessions newest first, and --active keeps only those not expired", async () => {
    const all = JSON.parse((await run(['--role', ROLE, '--json'])).stdout).map((s: { eventId: string }) => s.eventId);
    expect(all).toEqual(['s-stranger', 's-active', 's-old']);
    const active = JSON.parse((await run(['--role', ROLE, '--active', '--json'])).stdout).map(
      (s: { eventId: string }) => s.eventId,
    );
    expect(active).toEqual(['s-stranger', 's-active']);
    const table = await run(['--role', ROLE]);
    // The table fits 100 columns (not a terminal): expires, access key and source IP may be left out, and it says so.
    expect(table.stdout).toMatch(/^issued \(UTC\)\s+(expires\s+)?role\s+session\s+caller/);
    expect(table.stdout).toContain('scan-old');
    expect(table.stdout).toMatch(/scan-old.*expired/);
  });

  it('narrows by caller account and time window (ages and ISO times)', async () => {
    const stranger = JSON.parse((await run(['--caller-account', '444455556666', '--json'])).stdout);
    expect(stranger.map((s: { eventId: string }) => s.eventId)).toEqual(['s-stranger']);
    const recent = JSON.parse((await run(['--role', ROLE, '--since', '1d', '--json'])).stdout).map(
      (s: { eventId: string }) => s.eventId,
    );
    expect(recent).toEqual(['s-stranger', 's-active']);
    const window = JSON.parse(
      (await run(['--role', ROLE, '--since', ago(30), '--until', ago(15), '--json'])).stdout,
    ).map((s: { eventId: string }) => s.eventId);
    expect(window).toEqual(['s-active']);
    const both = JSON.parse((await run(['--role', ROLE, '--caller-account', '999988887777', '--json'])).stdout).map(
      (s: { eventId: string }) => s.eventId,
    );
    expect(both).toEqual(['s-active', 's-old']);
    expect((await run(['--caller-account', '123412341234'])).stdout).toBe('No session matched.\n');
  });

  it('refuses bad arguments with exit 2 and the reason', async () => {
    expect(await run([])).toMatchObject({ status: 2, stderr: expect.stringContaining('give at least one of') });
    expect(await run(['--role', 'nope'])).toMatchObject({
      status: 2,
      stderr: expect.stringContaining('not a role ARN'),
    });
    expect(await run(['--caller-account', '12'])).toMatchObject({
      status: 2,
      stderr: expect.stringContaining('12-digit'),
    });
    expect(await run(['--role', ROLE, '--since', 'yesterday'])).toMatchObject({
      status: 2,
      stderr: expect.stringContaining('--since'),
    });
  });

  it('with --data-dir, the embedded DynamoDB Local keeps what a replay recorded for the next command', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'roleguard-data-'));
    let stdout: string;
    try {
      expect(
        (
          await runCli([
            'replay',
            EVENTS_DIR,
            '--registry',
            join(EVENTS_DIR, 'registry.yaml'),
            '--json',
            '--data-dir',
            dir,
          ])
        ).status,
      ).toBe(0);
      const listed = await runCli(['sessions', '--role', ROLE, '--json', '--data-dir', dir]);
      expect(listed.status).toBe(0);
      stdout = listed.stdout;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(JSON.parse(stdout).length).toBeGreaterThan(0);
  }, 120_000);

  it('reads times as ISO or as ages', () => {
    const at = new Date('2026-11-24T12:00:00Z');
    expect(parseTimeFlag('90m', at)).toBe('2026-11-24T10:30:00.000Z');
    expect(parseTimeFlag('2d', at)).toBe('2026-11-22T12:00:00.000Z');
    expect(parseTimeFlag('2026-11-01T00:00:00Z', at)).toBe('2026-11-01T00:00:00.000Z');
    for (const bad of ['', 'soon', '12', '-3h', 'Nov 1']) expect(parseTimeFlag(bad, at)).toBeNull();
  });
});
