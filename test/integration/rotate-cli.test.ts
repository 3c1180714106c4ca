import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetRolePolicyCommand,
  ListRolePoliciesCommand,
  NoSuchEntityException,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { classifyRecord } from '../../lib/cloudtrail/classify.js';
import type { AssumeEvent } from '../../lib/cloudtrail/types.js';
import { ensureTable } from '../../lib/local/tables.js';
import { maskExternalId } from '../../lib/redact.js';
import { registryTableDefinition } from '../../lib/registry/index.js';
import { createRotationStore } from '../../lib/rotate/store.js';
import { createSessionStore, sessionsTableDefinition } from '../../lib/sessions/index.js';
import { runCli } from '../helpers/cli.js';
import { testDynamo, testEndpoint } from '../helpers/dynamo.js';
import { EVENTS_DIR } from '../helpers/fixtures.js';
import { sessionDecision, vendorAssume } from '../helpers/revocation.js';
import {
  assumeDecision,
  type EmulatedTrust,
  emulateTrustPolicies,
  OLD_ID,
  VENDOR_ACCOUNT,
  VENDOR_ROLE,
  vendorTrustPolicy,
  workerArn,
} from '../helpers/rotation.js';

// `roleguard rotate` and `roleguard rotations`, run in-process so that IAM can be emulated; the rotation state and
// the lock live in DynamoDB Local (the registry table of --table).
const TABLE = `rotate-cli-${Date.now()}`;
const VENDOR = `arn:aws:iam::${VENDOR_ACCOUNT}:role/ExampleCorpScanner`;
let dir: string;
let registry: string;
let trust: EmulatedTrust;
let doc: DynamoDBDocumentClient;
// The CLI's credentials are for the account of the registered role (STS GetCallerIdentity).
const sts = mockClient(STSClient);

const run = (command: string, args: string[]) =>
  runCli([command, ...args, '--registry', registry, '--endpoint', testEndpoint(), '--table', TABLE]);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'roleguard-rotate-cli-'));
  registry = join(dir, 'registry.yaml');
  copyFileSync(join(EVENTS_DIR, 'registry.yaml'), registry);
  trust = emulateTrustPolicies();
  sts.on(GetCallerIdentityCommand).resolves({ Account: '111122223333' });
  doc = testDynamo();
  await ensureTable(doc, registryTableDefinition(`${TABLE}-registry`));
});
afterAll(() => {
  sts.restore();
  trust.restore();
  doc.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe('roleguard rotate and roleguard rotations', () => {
  it('walks a rotation by hand: status, dry run, start, refused second start, refused finish, forced finish; IDs always masked', async () => {
    const status = await run('rotate', ['--role', VENDOR_ROLE]);
    expect(status).toMatchObject({ status: 0, stdout: `${VENDOR_ROLE}: no rotation yet\n` });

    const dry = await run('rotate', ['--role', VENDOR_ROLE, '--start', '--dry-run']);
    expect(dry.status).toBe(0);
    expect(dry.stdout).toContain('Dry run: set would write this trust policy (external IDs masked):');
    expect(dry.stdout).not.toContain(OLD_ID);
    expect(trust.writes).toHaveLength(0);
    const dryJson = await run('rotate', ['--role', VENDOR_ROLE, '--start', '--dry-run', '--json']);
    expect(dryJson.stdout).not.toContain(OLD_ID);
    expect(JSON.stringify(JSON.parse(dryJson.stdout).plan)).toMatch(
      /sts:ExternalId":\["ec-7…#[0-9a-f]{8}","\w{4}…#[0-9a-f]{8}"\]/,
    );

    const start = await run('rotate', ['--role', VENDOR_ROLE, '--start', '--json']);
    expect(start.status).toBe(0);
    const started = JSON.parse(start.stdout);
    // No vendor channel in the CLI: the trust policy accepts both IDs, and the deployed function tells the vendor.
    expect(started).toMatchObject({
      action: 'start',
      done: ['create', 'set'],
      waiting: expect.stringContaining('deployed rotate function'),
      rotation: { phase: 'set', previousId: expect.stringMatching(/…#/) },
    });
    const newId = (await createRotationStore(doc, `${TABLE}-registry`).get(VENDOR_ROLE))!.pendingId!;
    expect(start.stdout).not.toContain(newId);
    expect(start.stdout).not.toContain(OLD_ID);
    expect(await assumeDecision(trust.policy(), VENDOR, newId)).toBe('Allowed');
    expect(await assumeDecision(trust.policy(), VENDOR, OLD_ID)).toBe('Allowed');

    const again = await run('rotate', ['--role', VENDOR_ROLE, '--start']);
    expect(again).toMatchObject({ status: 2, stderr: expect.stringMatching(/already in flight/) });

    const list = await run('rotations', []);
    expect(list.status).toBe(0);
    expect(list.stdout).toMatch(/vendor\s+role\s+phase\s+age\s+deadline/);
    expect(list.stdout).toContain('Example Corp');
    expect(list.stdout).not.toContain(newId);
    const listed = JSON.parse((await run('rotations', ['--json'])).stdout);
    expect(listed).toEqual([
      expect.objectContaining({ roleArn: VENDOR_ROLE, phase: 'set', overdue: false, age: '0h' }),
    ]);

    const dryFinish = await run('rotate', ['--role', VENDOR_ROLE, '--finish', '--force', '--dry-run']);
    expect(dryFinish.status).toBe(0);
    expect(dryFinish.stdout).not.toContain(newId);
    const finish = await run('rotate', ['--role', VENDOR_ROLE, '--finish']);
    expect(finish).toMatchObject({ status: 2, stderr: expect.stringMatching(/has not yet assumed .*--force/) });
    const forced = await run('rotate', ['--role', VENDOR_ROLE, '--finish', '--force']);
    expect(forced.status).toBe(0);
    expect(forced.stdout).toMatch(/^Done: finish\n.*: finished/);
    expect(await assumeDecision(trust.policy(), VENDOR, OLD_ID)).toBe('Denied');
    expect(await assumeDecision(trust.policy(), VENDOR, newId)).toBe('Allowed');
    expect((await run('rotations', [])).stdout).toBe('No rotation in flight (--all lists every role).\n');
  });

  it("refuses a role of another account than the credentials', and one IAM answers for with another ARN: nothing written", async () => {
    const other = 'arn:aws:iam::444455556666:role/vendors/ExampleCorpAudit';
    const text = readFileSync(registry, 'utf8');
    writeFileSync(registry, text.replaceAll(VENDOR_ROLE, other));
    const before = trust.writes.length;
    try {
      const refused = await run('rotate', ['--role', other, '--start']);
      expect(refused.status).toBe(2);
      expect(refused.stderr).toContain(
        `${other} is in account 444455556666, but your credentials are for account 111122223333`,
      );
      expect(trust.writes).toHaveLength(before);
      // Credentials of the role's account, but IAM answers for a role of another account: refused too.
      sts.on(GetCallerIdentityCommand).resolves({ Account: '444455556666' });
      const mismatch = await run('rotate', ['--role', other, '--start']);
      expect(mismatch.status).toBe(2);
      expect(mismatch.stderr).toContain(
        'IAM answered for arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit when asked for',
      );
      expect(trust.writes).toHaveLength(before);
    } finally {
      sts.on(GetCallerIdentityCommand).resolves({ Account: '111122223333' });
      writeFileSync(registry, text);
    }
  });

  it('refuses bad arguments and unknown roles with exit 2', async () => {
    expect(await run('rotate', ['--role', 'not-an-arn'])).toMatchObject({
      status: 2,
      stderr: expect.stringContaining('not a role ARN'),
    });
    expect(await run('rotate', ['--role', VENDOR_ROLE, '--start', '--rollback'])).toMatchObject({
      status: 2,
      stderr: expect.stringContaining('at most one of'),
    });
    expect(await run('rotate', ['--role', VENDOR_ROLE, '--start', '--force'])).toMatchObject({
      status: 2,
      stderr: expect.stringContaining('--force goes with'),
    });
    expect(await run('rotate', ['--role', 'arn:aws:iam::111122223333:role/Unknown', '--start'])).toMatchObject({
      status: 2,
      stderr: expect.stringContaining('not in the registry'),
    });
    expect(await run('rotate', ['--role', VENDOR_ROLE, '--rollback'])).toMatchObject({
      status: 2,
      stderr: expect.stringContaining('no rotation'),
    });
  });

  it('--status names who still uses the old ID; --finish waits for the quiet period; IDs added by hand refuse a finish and a rollback', async () => {
    const store = createRotationStore(doc, `${TABLE}-registry`);
    expect((await run('rotate', ['--role', VENDOR_ROLE, '--start'])).status).toBe(0);
    const started = (await store.get(VENDOR_ROLE))!;
    const [oldId, newId] = [started.previousId!, started.pendingId!];
    const confirmedAt = new Date();
    expect(
      await store.confirm(VENDOR_ROLE, newId, {
        eventId: 'c',
        callerAccountId: VENDOR_ACCOUNT,
        at: confirmedAt.toISOString(),
      }),
    ).toBe(true);
    const seenAt = new Date(confirmedAt.getTime() + 1000).toISOString();
    expect(
      await store.noteOldIdUse(VENDOR_ROLE, oldId, { caller: workerArn('w9'), sourceIp: '203.0.113.50', at: seenAt }),
    ).toBe(true);

    const status = await run('rotate', ['--role', VENDOR_ROLE, '--status']);
    expect(status.status).toBe(0);
    expect(status.stdout).toContain(
      `still seen with the old ID since the confirmation: ${workerArn('w9')} from 203.0.113.50 (last ${seenAt})`,
    );
    expect(status.stdout).toContain('finishes once the old ID has gone unused for 24 h: not before');
    expect(JSON.parse((await run('rotate', ['--role', VENDOR_ROLE, '--json'])).stdout)).toMatchObject({
      quietHours: 24,
      oldIdCallers: [{ caller: workerArn('w9'), sourceIp: '203.0.113.50', lastAt: seenAt }],
    });
    // Confirmed, but past the deadline with the old ID still used since: listed as overdue.
    const noted = (await store.get(VENDOR_ROLE))!;
    await store.update(noted, { ...noted, deadlineAt: new Date(Date.now() - 3_600_000).toISOString() });
    expect(JSON.parse((await run('rotations', ['--json'])).stdout)).toEqual([
      expect.objectContaining({ roleArn: VENDOR_ROLE, phase: 'confirmed', overdue: true }),
    ]);
    expect(await run('rotate', ['--role', VENDOR_ROLE, '--finish'])).toMatchObject({
      status: 2,
      stderr: expect.stringMatching(/must go unused for 24 h .*w9 from 203\.0\.113\.50.*--force/),
    });

    // The vendor's DR site's ID, added by hand: neither a forced finish nor a forced rollback drops it.
    const dr = 'ec-DRsite-Frankfurt-77';
    trust.set('ExampleCorpAudit', vendorTrustPolicy([oldId, newId, dr]));
    const writes = trust.writes.length;
    for (const action of ['--finish', '--rollback']) {
      const refused = await run('rotate', ['--role', VENDOR_ROLE, action, '--force']);
      expect(refused).toMatchObject({ status: 2, stderr: expect.stringContaining(maskExternalId(dr)!) });
      expect(refused.stderr).not.toContain(dr);
    }
    expect(trust.writes).toHaveLength(writes);
    expect(await assumeDecision(trust.policy(), VENDOR, dr)).toBe('Allowed');

    // Without it, --finish --force still finishes at once.
    trust.set('ExampleCorpAudit', vendorTrustPolicy([oldId, newId]));
    expect((await run('rotate', ['--role', VENDOR_ROLE, '--finish', '--force'])).status).toBe(0);
    expect(await assumeDecision(trust.policy(), VENDOR, oldId)).toBe('Denied');
  });

  it('--finish revokes the old-ID sessions still alive of a role with rotation.revokeOldSessions, not in a dry run', async () => {
    // A table set of its own, and the registry with revokeOldSessions.
    const table = `${TABLE}-revoke`;
    const file = join(dir, 'registry-revoking.yaml');
    const yaml = readFileSync(registry, 'utf8').replace(
      'rotation: { everyDays: 90, graceDays: 7 }',
      'rotation: { everyDays: 90, graceDays: 7, revokeOldSessions: true }',
    );
    expect(yaml).toContain('revokeOldSessions: true');
    writeFileSync(file, yaml);
    const cli = (args: string[]) =>
      runCli([
        'rotate',
        '--role',
        VENDOR_ROLE,
        ...args,
        '--registry',
        file,
        '--endpoint',
        testEndpoint(),
        '--table',
        table,
      ]);
    // IAM's inline policies, on the same emulated IAM as the trust policies.
    const inline = new Map<string, string>();
    trust.iam.on(GetRolePolicyCommand).callsFake(async (input: { RoleName: string; PolicyName: string }) => {
      const document = inline.get(`${input.RoleName}/${input.PolicyName}`);
      if (document === undefined)
        throw new NoSuchEntityException({
          message: 'The role policy cannot be found.',
          $metadata: { httpStatusCode: 404 },
        });
      return { PolicyDocument: encodeURIComponent(document) };
    });
    trust.iam.on(ListRolePoliciesCommand).resolves({ PolicyNames: [] });
    trust.iam
      .on(PutRolePolicyCommand)
      .callsFake(
        async (input: { RoleName: string; PolicyName: string; PolicyDocument: string }) =>
          void inline.set(`${input.RoleName}/${input.PolicyName}`, input.PolicyDocument),
      );
    trust.set('ExampleCorpAudit', vendorTrustPolicy([OLD_ID]));

    expect((await cli(['--start'])).status).toBe(0);
    const store = createRotationStore(doc, `${table}-registry`);
    const { pendingId: newId } = (await store.get(VENDOR_ROLE))!;
    // The vendor's session with the old ID (still alive) and its session with the new one, as onAssumeRole records them.
    await ensureTable(doc, sessionsTableDefinition(table));
    const sessions = createSessionStore(doc, table, 90);
    const minutesAgo = (n: number) => new Date(Date.now() - n * 60_000).toISOString();
    const inAnHour = new Date(Date.now() + 3_600_000).toISOString();
    for (const [id, session, externalId, time] of [
      ['cli-old', 'old-1', OLD_ID, minutesAgo(10)],
      ['cli-new', 'new-1', newId!, minutesAgo(5)],
    ] as const) {
      const event = classifyRecord(
        vendorAssume({ id, time, session, externalId, account: VENDOR_ACCOUNT, expiration: inAnHour }),
        { recordAwsServiceAssumes: false },
      ) as unknown as AssumeEvent;
      expect(await sessions.record(event, { processed: true, now: new Date() })).not.toBe('duplicate');
    }

    // A dry run writes nothing, no revocation either.
    const dry = await cli(['--finish', '--force', '--dry-run']);
    expect(dry.status).toBe(0);
    expect(inline.size).toBe(0);

    const forced = await cli(['--finish', '--force', '--json']);
    expect(forced.status).toBe(0);
    expect(JSON.parse(forced.stdout).done).toEqual([
      'finish',
      'revoke-old-sessions: 1 session issued with the old ID revoked',
    ]);
    const policy = JSON.parse(inline.get('ExampleCorpAudit/roleguard-revocations')!);
    expect(await sessionDecision(policy, 'old-1', minutesAgo(10))).toBe('Denied');
    expect(await sessionDecision(policy, 'new-1', minutesAgo(5))).toBe('Allowed');
  });
});
