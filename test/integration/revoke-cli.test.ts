import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetRoleCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { type AssumeEvent, classifyRecord } from '../../lib/cloudtrail/index.js';
import { LOCAL_AWS } from '../../lib/local/dynamodb-local.js';
import { ensureTable } from '../../lib/local/tables.js';
import { createSessionStore, sessionsTableDefinition } from '../../lib/sessions/index.js';
import { runCli } from '../helpers/cli.js';
import { testDynamo, testEndpoint } from '../helpers/dynamo.js';
import {
  accessKeyOf,
  type EmulatedIam,
  emulateIam,
  ROLE_ID,
  sessionDecision,
  vendorAssume,
} from '../helpers/revocation.js';

// `roleguard revoke`, run in-process so that IAM can be emulated; sessions, intents and the lock live in DynamoDB Local.
const ROLE = 'arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit';
const TABLE = `revoke-cli-${Date.now()}`;
let dir: string;
let registry: string;
let iam: EmulatedIam;
let doc: DynamoDBDocumentClient;
let issuedAt: string;
// The CLI's credentials are for the role's account (STS GetCallerIdentity), unless a test says otherwise.
const sts = mockClient(STSClient);

const run = (args: string[]) =>
  runCli(['revoke', ...args, '--registry', registry, '--endpoint', testEndpoint(), '--table', TABLE]);

// The command checks for a Region and credentials before it writes (IAM itself is emulated). These are the ones
// DynamoDB Local is addressed with, so the command and this test see the same local database.
const savedEnv = { ...process.env };
beforeAll(async () => {
  Object.assign(process.env, {
    AWS_REGION: LOCAL_AWS.region,
    AWS_ACCESS_KEY_ID: LOCAL_AWS.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_AWS.credentials.secretAccessKey,
  });
  dir = mkdtempSync(join(tmpdir(), 'roleguard-revoke-cli-'));
  registry = join(dir, 'registry.yaml');
  writeFileSync(registry, `protectedRoleArns: ["arn:aws:iam::111122223333:role/BreakGlass"]\nroles: []\n`);
  iam = emulateIam();
  sts.on(GetCallerIdentityCommand).resolves({ Account: '111122223333' });
  // A session recorded in the store the command reads (as a replay or the deployed onAssumeRole records it).
  doc = testDynamo();
  await ensureTable(doc, sessionsTableDefinition(TABLE));
  const issued = new Date(Math.floor(Date.now() / 1000) * 1000 - 120_000);
  issuedAt = issued.toISOString().replace(/\.\d+Z$/, 'Z');
  const event = classifyRecord(
    vendorAssume({
      id: 'cli-1',
      time: issuedAt,
      session: 'scan-cli',
      externalId: 'tenant-4711',
      expiration: new Date(issued.getTime() + 3600_000).toISOString(),
    }),
    { recordAwsServiceAssumes: false },
  ) as AssumeEvent;
  await createSessionStore(doc, TABLE, 90).record(event, { processed: true, now: new Date() });
});
afterAll(() => {
  for (const key of ['AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) {
    if (savedEnv[key] === undefined) delete process.env[key];
    else process.env[key] = savedEnv[key];
  }
  iam.restore();
  sts.restore();
  doc.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe('roleguard revoke', () => {
  it("refuses a role of another account than the credentials' (IAM writes by name): nothing written, dry run too", async () => {
    const other = 'arn:aws:iam::444455556666:role/vendors/ExampleCorpAudit';
    for (const extra of [[], ['--dry-run']]) {
      const out = await run(['--role', other, '--all', ...extra]);
      expect(out.status).toBe(2);
      expect(out.stderr).toContain(
        `${other} is in account 444455556666, but your credentials are for account 111122223333`,
      );
    }
    expect(iam.puts()).toBe(0);
  });

  it('refuses when IAM answers GetRole for another role than the one asked for', async () => {
    // Matched on this role's name only, so that the emulator answers every other GetRole as before.
    const asked = 'arn:aws:iam::111122223333:role/vendors/Mismatched';
    iam.mock.on(GetRoleCommand, { RoleName: 'Mismatched' }).resolves({
      Role: {
        RoleName: 'Mismatched',
        RoleId: 'AROAOTHER',
        Arn: 'arn:aws:iam::444455556666:role/Mismatched',
        Path: '/',
        CreateDate: new Date(),
      },
    });
    const out = await run(['--role', asked, '--all']);
    expect(out.status).toBe(2);
    expect(out.stderr).toContain(`IAM answered for arn:aws:iam::444455556666:role/Mismatched when asked for ${asked}`);
    expect(iam.puts()).toBe(0);
  });

  it('--dry-run shows the policy and writes nothing', async () => {
    const dry = await run(['--role', ROLE, '--session', `${ROLE_ID}:ExampleCorp-scan-1730591251`, '--dry-run']);
    expect(dry.status).toBe(0);
    expect(dry.stdout).toMatch(/^Dry run: would revoke session AROA3XFRBF23EXAMPLE1:ExampleCorp-scan-1730591251/);
    expect(dry.stdout).toContain('"aws:userid": "AROA3XFRBF23EXAMPLE1:ExampleCorp-scan-1730591251"');
    expect(dry.stdout).toContain('Nothing was written');
    expect(iam.puts()).toBe(0);
  });

  it('--dry-run with AWS access reads the role\'s policies, records nothing, and never says "recorded" or "retries"', async () => {
    const intents = async () =>
      ((await doc.send(new ScanCommand({ TableName: `${TABLE}-revocations` }))).Items ?? []).filter((i) =>
        String(i.pk).startsWith('intent#'),
      ).length;
    const before = await intents();
    const dry = await run(['--role', ROLE, '--access-key', accessKeyOf('cli-1'), '--dry-run', '--json']);
    expect(dry.status).toBe(0);
    const summary = JSON.parse(dry.stdout);
    expect(summary).toMatchObject({ dryRun: true, written: false, readFromIam: true, assumption: null });
    expect(await sessionDecision(summary.policyDocument, 'scan-cli', issuedAt)).toBe('Denied');
    expect(`${dry.stdout}${dry.stderr}`).not.toMatch(/recorded, not yet applied|retries it/i);
    expect(await intents()).toBe(before);
    expect(iam.puts()).toBe(0);
  });

  it('--access-key finds the session in the store and revokes exactly it, until its recorded expiry', async () => {
    const result = await run([
      '--role',
      ROLE,
      '--access-key',
      accessKeyOf('cli-1'),
      '--reason',
      'incident 7',
      '--json',
    ]);
    expect(result.status).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(summary).toMatchObject({
      revoked: `${ROLE_ID}:scan-cli`,
      written: true,
      dryRun: false,
      pending: null,
      sessions: [{ eventId: 'cli-1', accessKeyId: accessKeyOf('cli-1'), issuedAt }],
    });
    expect(iam.puts('ExampleCorpAudit')).toBe(1);
    const policy = iam.policy('ExampleCorpAudit') as { Statement: { Sid: string }[] };
    expect(await sessionDecision(policy, 'scan-cli', issuedAt)).toBe('Denied');
    expect(await sessionDecision(policy, 'other-session', issuedAt)).toBe('Allowed');
    const until = new Date(Date.parse(issuedAt) + 3600_000)
      .toISOString()
      .replace(/\.\d+Z$/, 'Z')
      .replace(/[-:]/g, '');
    expect(policy.Statement[0]!.Sid).toMatch(new RegExp(`Until${until}$`));
  });

  it('--all revokes the whole role, writing only roleguard-revocations', async () => {
    const before = iam.mock.commandCalls(PutRolePolicyCommand).length;
    const wet = await run(['--role', ROLE, '--all', '--json']);
    expect(wet.status).toBe(0);
    expect(JSON.parse(wet.stdout)).toMatchObject({
      revoked: 'role',
      written: true,
      dryRun: false,
      policyName: 'roleguard-revocations',
    });
    const puts = iam.mock.commandCalls(PutRolePolicyCommand).slice(before);
    expect(puts.map((c) => [c.args[0].input.RoleName, c.args[0].input.PolicyName])).toEqual([
      ['ExampleCorpAudit', 'roleguard-revocations'],
    ]);
    expect(await sessionDecision(iam.policy('ExampleCorpAudit'), 'any-session', issuedAt)).toBe('Denied');
  });

  it("never writes a role whose registry entry says dryRun, even when --role omits the role's path", async () => {
    const dryRegistry = join(dir, 'dry-run-role.yaml');
    writeFileSync(
      dryRegistry,
      `roles:\n  - roleArn: ${ROLE}\n    vendor: Example Corp\n    trustedAccounts: ["999988887777"]\n    externalIds: { current: "ec-7Hq2vN9xK4pL8mR3" }\n    dryRun: true\n`,
    );
    const before = iam.puts();
    // IAM writes by role name: the ARN without /vendors/ names the same role.
    for (const role of [ROLE, 'arn:aws:iam::111122223333:role/ExampleCorpAudit']) {
      const result = await runCli([
        'revoke',
        ...['--role', role, '--all', '--json'],
        ...['--registry', dryRegistry, '--endpoint', testEndpoint(), '--table', TABLE],
      ]);
      expect(result.stderr).toContain("this role's dryRun is set in the registry");
      expect(result.status).toBe(0);
      // The registry's ARN is the one reported.
      expect(JSON.parse(result.stdout)).toMatchObject({ roleArn: ROLE, dryRun: true, written: false });
    }
    expect(iam.puts()).toBe(before);
  });

  it('refuses protected roles and bad input with a clear message, writing nothing', async () => {
    const before = iam.puts();
    for (const [args, message] of [
      [
        ['--role', 'arn:aws:iam::111122223333:role/BreakGlass', '--all'],
        /refused: .*BreakGlass: it is listed in protectedRoleArns/,
      ],
      [
        [
          '--role',
          'arn:aws:iam::111122223333:role/aws-service-role/support.amazonaws.com/AWSServiceRoleForSupport',
          '--all',
        ],
        /service-linked role/,
      ],
      [
        ['--role', 'arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123', '--all'],
        /IAM Identity Center/,
      ],
      [['--role', ROLE, '--session', 'bad name!'], /not a role session name/],
      [['--role', ROLE, '--session', 'AROAX:bad name'], /not an assumed-role id/],
      [['--role', ROLE, '--access-key', 'AKIAIOSFODNN7EXAMPLE'], /not a session access key id/],
      [
        ['--role', 'arn:aws:iam::111122223333:role/Other', '--access-key', accessKeyOf('cli-1')],
        /belongs to a session of .*ExampleCorpAudit/,
      ],
      [['--role', ROLE], /exactly one of --session NAME, --access-key ASIA… or --all/],
      [['--role', ROLE, '--all', '--dry-run', '--apply'], /contradict/],
      [['--role', 'ExampleCorpAudit', '--all'], /not a role ARN/],
    ] as [string[], RegExp][]) {
      const result = await run(args);
      expect(result.status).toBe(2);
      expect(result.stderr).toMatch(message);
    }
    expect(iam.puts()).toBe(before);
  });
});
