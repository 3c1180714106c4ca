import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { unzipSync } from 'fflate';
import { createOutbox } from '../../lib/alert/index.js';
import type { Config } from '../../lib/config.js';
import type { Finding } from '../../lib/detect/index.js';
import { LOCAL_AWS } from '../../lib/local/dynamodb-local.js';
import { ensureTable } from '../../lib/local/tables.js';
import { createRegistryStore } from '../../lib/registry/index.js';
import { parseRegistryText } from '../../lib/registry/text.js';
import { renderRevocationPolicy } from '../../lib/revoke/policy.js';
import { SWEEP_GRACE_MS } from '../../lib/revoke/service.js';
import { createRevocationStore } from '../../lib/revoke/store.js';
import { createRotationStore, idleRotation } from '../../lib/rotate/store.js';
import { decisionsTableDefinition } from '../../lib/slack-actions/decisions.js';
import { slackSignature } from '../../lib/slack-actions/verify.js';
import { resolve, type Stack, type Template } from '../helpers/cfn.js';
import { createSessionsTable, createTestTables, testDynamo, testEndpoint } from '../helpers/dynamo.js';
import { type FakeServer, fakeIam, fakeSlack, fakeSns } from '../helpers/fake-aws.js';
import { fakeCloudFormation, fakeOrganizations, fakeSts } from '../helpers/fake-org.js';
import { EVENTS_DIR, loadJson, ROOT } from '../helpers/fixtures.js';
import { type AwsCall, CallRecorder, platformCalls, proveRole, recordingProxy } from '../helpers/iam-proof.js';
import { sqsBatch } from '../helpers/sqs.js';
import { clickBody, fakeLambda, fakeSsmParameters } from './slack-actions/support.js';

// The permission proof (docs/permission-proof.md): each packaged function runs against DynamoDB Local and local fakes
// of SSM, SNS, IAM, Lambda and Slack; every AWS request it sends is recorded and evaluated with the IAM evaluator
// against its own role in the packaged template. Every request must be allowed, and every granted action used or reviewed here.
const STACK: Stack = { region: 'us-east-1', accountId: '111122223333' };
const ROLE = 'arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit';
const ROLE_ID = 'AROA3XFRBF23EXAMPLE1';
const EXPIRED_ROLE = 'arn:aws:iam::111122223333:role/vendors/ExpiredVendor';
// The same role name in another account: IAM writes go by name, so writing it would change ROLE instead.
const OTHER_ACCOUNT_ROLE = 'arn:aws:iam::444455556666:role/vendors/ExampleCorpAudit';
const SIGNING_SECRET = 'proof-signing-secret-0123456789abcdef';
// Coverage (issue 15): an organization of the management account, the hub (STACK's account) and a member.
const MANAGEMENT = '999900001111';
const MEMBER = '444455556666';
const ORG_ENV = { ORG_ID: 'o-exampleorg1', SPOKE_REGIONS: 'us-east-1,eu-west-1' };
const APPROVER = 'UPROOF0001';
/** The roles proven against the stack packaged for the organization of ORG_ENV (their functions run with it). */
const ORG_PROVEN = new Set(['OrgSyncRole', 'OrgCanaryRole']);

/** Package the stack (stage test) into `dir` with extra osls arguments, and read its template. */
function packageStack(dir: string, args: string[]): Template {
  execFileSync(
    join(ROOT, 'node_modules', '.bin', 'osls'),
    ['package', '--stage', 'test', '--region', STACK.region, '--param', 'slackActions=true', ...args, '--package', dir],
    {
      cwd: ROOT,
      stdio: 'pipe',
      env: {
        ...process.env,
        AWS_ACCESS_KEY_ID: '',
        AWS_SECRET_ACCESS_KEY: '',
        AWS_PROFILE: '',
        SLS_TELEMETRY_DISABLED: '1',
        SLS_NOTIFICATIONS_MODE: 'off',
        TMPDIR: out,
      },
    },
  );
  return JSON.parse(readFileSync(join(dir, 'cloudformation-template-update-stack.json'), 'utf8'));
}
let decisionsTable: string;
let lambda: FakeServer;
let slack: FakeServer;
let out: string;
let template: Template;
/** The same stack packaged for an organization (orgId): the coverage functions act across it. */
let orgTemplate: Template;
let doc: DynamoDBDocumentClient;
let config: Config;
let servers: FakeServer[];
let iam: Awaited<ReturnType<typeof fakeIam>>;
let recorder: CallRecorder;
const saved = { ...process.env };
/** The test's environment (endpoints, credentials) that each function's own environment is laid over. */
let baseEnv: NodeJS.ProcessEnv;
/** What each function sent, by its logical id (…LambdaFunction). */
const sent: Record<string, AwsCall[]> = {};

/**
 * Grants no recorded request uses, each with the reason it stays: reviewed here so that a dropped use or a new grant
 * shows up as a difference. Keyed by role, then `Sid action`.
 */
const PRUNE_TO_NOTHING =
  "the shared revocation write (lib/revoke/apply.ts) deletes the policy when a write, once expired statements are pruned, would leave none (a late event for a session already expired); the sweep's prune shows the call allowed";
const ROTATION_ALERTS =
  "security alerts of a rotation (a deadline passed, a vendor never confirmed) go to the alert topic and Slack; the proof's rotation raises none (its vendor notice goes to the rotation topic, under the AWS managed key)";
const SLACK_ROTATION_ALERTS =
  "a rotation started from Slack is moved along by the rotation code (lib/rotate/machine.ts advanceRotation), whose security alerts (a step that failed, a deadline passed) go to the alert topic and Slack; the proof's start succeeds and raises none";
const OTHER_INLINE_POLICIES =
  "the shared revocation write (lib/revoke/apply.ts) lists the role's other inline policies only when IAM refuses a write over their shared 10,240-character budget, or in a dry run; the proof's roles have no other inline policy and write live";
// The kept revocation state is written in a transaction that first checks the role's lock is still this holder's.
const LOCK_OWNER_CHECK =
  'the step-by-step revocation path checks the lock owner before writing the kept state; whether a run takes it depends on lock timing';
// Organization hub (issue 15): the hub roles may assume the spoke role of a member account; the code that does
// (lib/org/accounts.ts) acts there only for a role of another account, which the proof's single account has none of.
const SPOKE = {
  'AssumeSpokeRoles sts:AssumeRole':
    "acting in a member account through its spoke role (lib/org/accounts.ts): the proof's roles are all in the hub account, where the function's own credentials act",
};
const REVIEWED: Record<string, Record<string, string>> = {
  OnAssumeRoleRole: {
    ...SPOKE,
    'WriteRevocationPolicyOnGuardedRoles iam:ListRolePolicies': OTHER_INLINE_POLICIES,
    'WriteRevocationPolicyOnGuardedRoles iam:DeleteRolePolicy': PRUNE_TO_NOTHING,
    'RevocationIntents dynamodb:ConditionCheckItem': LOCK_OWNER_CHECK,
  },
  OnTrustPolicyChangeRole: {
    ...SPOKE,
    'WriteRevocationPolicyOnGuardedRoles iam:ListRolePolicies': OTHER_INLINE_POLICIES,
    'WriteRevocationPolicyOnGuardedRoles iam:DeleteRolePolicy': PRUNE_TO_NOTHING,
    'ReapplyRevocations dynamodb:ConditionCheckItem': LOCK_OWNER_CHECK,
  },
  RevokeRole: {
    ...SPOKE,
    'WriteRevocationPolicyOnGuardedRoles iam:ListRolePolicies': OTHER_INLINE_POLICIES,
    'WriteRevocationPolicyOnGuardedRoles iam:DeleteRolePolicy': PRUNE_TO_NOTHING,
    'RevocationIntents dynamodb:ConditionCheckItem': LOCK_OWNER_CHECK,
  },
  SweepRole: {
    ...SPOKE,
    'WriteRevocationPolicyOnGuardedRoles iam:ListRolePolicies': OTHER_INLINE_POLICIES,
    'RevocationIntents dynamodb:ConditionCheckItem': LOCK_OWNER_CHECK,
  },
  RotateExternalIdsRole: {
    ...SPOKE,
    'WriteRevocationPolicyOnGuardedRoles iam:ListRolePolicies': OTHER_INLINE_POLICIES,
    'EncryptAlerts kms:Decrypt': ROTATION_ALERTS,
    'EncryptAlerts kms:GenerateDataKey': ROTATION_ALERTS,
    'ReadSlackWebhookSecret ssm:GetParameter': ROTATION_ALERTS,
    'WriteRevocationPolicyOnGuardedRoles iam:DeleteRolePolicy': PRUNE_TO_NOTHING,
    'RevocationIntents dynamodb:ConditionCheckItem': LOCK_OWNER_CHECK,
  },
  AuditTrustPoliciesRole: { ...SPOKE },
  SlackActionsRole: {},
  OrgSyncRole: {},
  OrgCanaryRole: {},
  SlackActionWorkerRole: {
    ...SPOKE,
    'WriteRevocationPolicyOnGuardedRoles iam:ListRolePolicies': OTHER_INLINE_POLICIES,
    'EncryptAlerts kms:Decrypt': SLACK_ROTATION_ALERTS,
    'EncryptAlerts kms:GenerateDataKey': SLACK_ROTATION_ALERTS,
    'ReadSlackWebhookSecret ssm:GetParameter': SLACK_ROTATION_ALERTS,
    'WriteRevocationPolicyOnGuardedRoles iam:DeleteRolePolicy': PRUNE_TO_NOTHING,
    'RevocationIntents dynamodb:ConditionCheckItem': LOCK_OWNER_CHECK,
  },
};

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), 'roleguard-proof-'));
  // Slack actions on (the slackActions param): the receiver takes clicks and the alerts carry buttons.
  template = packageStack(out, []);
  orgTemplate = packageStack(join(out, 'org'), [
    '--param',
    `orgId=${ORG_ENV.ORG_ID}`,
    '--param',
    'spokeOrganizationalUnits=r-abcd',
  ]);
  doc = testDynamo();
  config = await createTestTables(doc, await createSessionsTable(doc));
  decisionsTable = `${config.registryTable}-decisions`;
  await ensureTable(doc, decisionsTableDefinition(decisionsTable));
  // The sample registry, with the old ID's sessions revoked when a rotation finishes, and a Slack approver.
  const registry = readFileSync(join(EVENTS_DIR, 'registry.yaml'), 'utf8')
    .replace(
      'rotation: { everyDays: 90, graceDays: 7 }',
      'rotation: { everyDays: 90, graceDays: 7, revokeOldSessions: true }',
    )
    .replace('serviceRoleArns:', `approvers: [${APPROVER}]\nserviceRoleArns:`);
  expect(registry).toContain('revokeOldSessions: true');
  expect(registry).toContain(APPROVER);
  await createRegistryStore(doc, config.registryTable).replace(parseRegistryText(registry, 'registry.yaml'));
  slack = await fakeSlack();
  const ssm = await fakeSsmParameters({
    '/roleguard/test/slack-webhook-url': `${slack.url}/services/T0/B0/secret`,
    '/roleguard/test/slack-signing-secret': SIGNING_SECRET,
  });
  const sns = await fakeSns();
  iam = await fakeIam();
  lambda = await fakeLambda();
  const dynamo = await recordingProxy(testEndpoint());
  // The member's regional spoke is missing in eu-west-1; the management account's spoke (a plain stack) refuses.
  const sts = await fakeSts(new Set([`arn:aws:iam::${MANAGEMENT}:role/roleguard-test-spoke`]));
  const organizations = await fakeOrganizations(MANAGEMENT, [STACK.accountId, MEMBER]);
  const cloudformation = await fakeCloudFormation({
    'roleguard-test-spoke-global': [`${STACK.accountId}@us-east-1`, `${MEMBER}@us-east-1`],
    'roleguard-test-spoke-regional': [
      `${STACK.accountId}@us-east-1`,
      `${STACK.accountId}@eu-west-1`,
      `${MEMBER}@us-east-1`,
    ],
  });
  servers = [slack, ssm, sns, iam, lambda, dynamo, sts, organizations, cloudformation];
  recorder = new CallRecorder(servers, {
    template,
    stack: STACK,
    tables: {
      [config.sessionsTable]: 'SessionsTable',
      [config.registryTable]: 'RegistryTable',
      [config.alertsTable]: 'AlertsTable',
      [config.revocationsTable!]: 'RevocationsTable',
      [decisionsTable]: 'DecisionsTable',
    },
    roles: {
      ExampleCorpAudit: { arn: ROLE, tags: { 'roleguard:guarded': 'true' } },
      ExpiredVendor: { arn: EXPIRED_ROLE, tags: { 'roleguard:guarded': 'true' } },
    },
  });
  process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamo.url;
  Object.assign(process.env, {
    AWS_REGION: LOCAL_AWS.region,
    AWS_ENDPOINT_URL_SSM: ssm.url,
    AWS_ENDPOINT_URL_SNS: sns.url,
    AWS_ENDPOINT_URL_IAM: iam.url,
    AWS_ENDPOINT_URL_LAMBDA: lambda.url,
    AWS_ENDPOINT_URL_STS: sts.url,
    AWS_ENDPOINT_URL_ORGANIZATIONS: organizations.url,
    AWS_ENDPOINT_URL_CLOUDFORMATION: cloudformation.url,
    AWS_ACCESS_KEY_ID: LOCAL_AWS.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_AWS.credentials.secretAccessKey,
  });
  baseEnv = { ...process.env };
}, 180_000);
afterAll(async () => {
  process.env = saved;
  doc?.destroy();
  await Promise.all((servers ?? []).map((s) => s.close()));
  rmSync(out, { recursive: true, force: true });
});

/** Load a packaged function as Lambda does, with its environment from the template (tables mapped to local ones). */
async function load(functionId: string, file: string, extraEnv: Record<string, string> = {}) {
  const env = resolve(template, STACK, template.Resources[functionId]!.Properties.Environment.Variables) as Record<
    string,
    string
  >;
  // Only this function's environment: nothing a function loaded before set may leak into it.
  for (const name of Object.keys(process.env)) if (!(name in baseEnv)) delete process.env[name];
  Object.assign(process.env, env, {
    SESSIONS_TABLE: config.sessionsTable,
    REGISTRY_TABLE: config.registryTable,
    ALERTS_TABLE: config.alertsTable,
    REVOCATIONS_TABLE: config.revocationsTable!,
    ...(env.DECISIONS_TABLE ? { DECISIONS_TABLE: decisionsTable } : {}),
    POWERTOOLS_LOG_LEVEL: 'CRITICAL',
    // No metric lines in the test output (they need no permission; function-resilience.test.ts checks them).
    ROLEGUARD_STACK: '',
    NODE_OPTIONS: '',
    // What a stage's params would set (the organization of the coverage functions).
    ...extraEnv,
  });
  const name = functionId.replace('LambdaFunction', '');
  const zip = unzipSync(readFileSync(join(out, `${name[0]!.toLowerCase()}${name.slice(1)}.zip`)));
  mkdirSync(join(out, 'unpacked'), { recursive: true });
  const bundle = join(out, 'unpacked', `${file}.mjs`);
  writeFileSync(bundle, zip[`functions/${file}.mjs`]!);
  const { handler } = await import(pathToFileURL(bundle).href);
  // A fresh invocation of the queue-fed functions' 120 s timeout (a batch keeps one record's worst case in hand).
  const context = { functionName: file, awsRequestId: 'r1', getRemainingTimeInMillis: () => 120_000 };
  return (event: unknown) => handler(event, context);
}

/** Load a function (its cold start counts) and run `work` with its handler; keep what it sent. */
async function record(
  functionId: string,
  file: string,
  work: (handler: (event: unknown) => Promise<any>) => Promise<unknown>,
  extraEnv: Record<string, string> = {},
): Promise<void> {
  const calls = await recorder.during(async () => work(await load(functionId, file, extraEnv)));
  sent[functionId] = [...(sent[functionId] ?? []), ...calls];
}

const second = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
/** The vendor fixture, issued a minute ago, with the given event id and external ID. */
function liveAssume(id: string, externalId: string, session = 'scan-1', ageMs = 60_000): Record<string, any> {
  const event = structuredClone(loadJson(join(EVENTS_DIR, 'eventbridge-assume-role-vendor.json'))) as any;
  event.detail.eventID = id;
  // Every assume has its own sharedEventID, as in CloudTrail (copies of one fixture would all look like one assume's).
  event.detail.sharedEventID = `shared-${id}`;
  event.detail.eventTime = second(Date.now() - ageMs);
  event.detail.requestParameters.externalId = externalId;
  event.detail.requestParameters.roleSessionName = session;
  event.detail.responseElements.credentials.expiration = new Date(Date.now() + 3600_000).toISOString();
  event.detail.responseElements.credentials.accessKeyId = `ASIA${id
    .toUpperCase()
    .replace(/[^A-Z0-9]/g, '')
    .padEnd(16, 'X')
    .slice(0, 16)}`;
  event.detail.responseElements.assumedRoleUser.assumedRoleId = `${ROLE_ID}:${session}`;
  return event;
}

describe('every AWS request of every function is allowed by its own role (IAM evaluator, packaged template)', () => {
  it('runs each packaged function through its paths, recording what it sends', async () => {
    // rotateExternalIds: a due rotation is created, both IDs set through IAM, the vendor told on SNS.
    await createRotationStore(doc, config.registryTable).create(
      idleRotation(ROLE, new Date(Date.now() - 91 * 86_400_000).toISOString()),
    );
    iam.trust.set(
      'ExampleCorpAudit',
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { AWS: 'arn:aws:iam::999988887777:root' },
            Action: 'sts:AssumeRole',
            Condition: { StringEquals: { 'sts:ExternalId': 'ec-7Hq2vN9xK4pL8mR3' } },
          },
        ],
      }),
    );
    await record('RotateExternalIdsLambdaFunction', 'rotate-external-ids', async (rotate) =>
      expect(await rotate({})).toMatchObject({ steps: [`${ROLE}: create`, `${ROLE}: set`, `${ROLE}: notify`] }),
    );
    const pendingId = (await createRotationStore(doc, config.registryTable).get(ROLE))!.pendingId!;

    // onAssumeRole: a known ID is recorded; the new ID confirms the rotation; a wrong ID is revoked (after the check
    // whether its session name is shared: a query of the role's sessions) and alerted.
    const known = liveAssume('known-1', 'ec-7Hq2vN9xK4pL8mR3', 'scan-known');
    // As deployed: SQS batches from the STS queue (the poller's reads are the platform's calls, below).
    const alertsBefore = slack.received.length;
    await record('OnAssumeRoleLambdaFunction', 'on-assume-role', async (assume) => {
      const none = { batchItemFailures: [] };
      expect(await assume(sqsBatch([known, liveAssume('pending-1', pendingId, 'scan-new', -1000)]))).toEqual(none);
      expect(await assume(sqsBatch([liveAssume('wrong-1', 'tenant-4711', 'scan-wrong')]))).toEqual(none);
      // The same finding again within the window: merged into the open alert.
      expect(await assume(sqsBatch([liveAssume('wrong-2', 'tenant-4711', 'scan-wrong-2')]))).toEqual(none);
    });
    expect(slack.received.length - alertsBefore).toBe(1);
    expect(iam.policies.has('ExampleCorpAudit/roleguard-revocations')).toBe(true);
    const nameChecks = sent.OnAssumeRoleLambdaFunction!.filter((c) => c.detail === `SessionsTable/byRole ${ROLE}`);
    expect(nameChecks.map((c) => c.action)).toEqual(['dynamodb:Query', 'dynamodb:Query']);
    // A wrong ID's reads (the role's rotation, the caller's marker, the kept revocations) go in one BatchGetItem, and
    // the revocation's opening transaction checks the kept revocations' version (ConditionCheckItem).
    const batched = sent.OnAssumeRoleLambdaFunction!.filter((c) => c.action === 'dynamodb:BatchGetItem');
    expect(batched.map((c) => c.detail)).toEqual(expect.arrayContaining(['RegistryTable rotation']));
    expect(batched.some((c) => c.detail.startsWith('RevocationsTable policy#'))).toBe(true);
    expect(
      sent.OnAssumeRoleLambdaFunction!.some(
        (c) => c.action === 'dynamodb:ConditionCheckItem' && c.detail.startsWith('RevocationsTable policy#'),
      ),
    ).toBe(true);
    // Another revocation of the role holds its lock for a moment: the fast path's opening transaction is cancelled,
    // and the event takes its usual path (its session recorded first; the intent applied under the lock, step by
    // step, with a fresh read of the kept revocations).
    await doc.send(
      new PutCommand({
        TableName: config.revocationsTable!,
        Item: { pk: 'lock#role#111122223333#ExampleCorpAudit', owner: 'another', leaseUntil: Date.now() + 300 },
      }),
    );
    await record('OnAssumeRoleLambdaFunction', 'on-assume-role', async (assume) =>
      expect(await assume(sqsBatch([liveAssume('wrong-3', 'tenant-4711', 'scan-wrong-3')]))).toEqual({
        batchItemFailures: [],
      }),
    );
    expect(
      sent.OnAssumeRoleLambdaFunction!.some(
        (c) => c.action === 'dynamodb:GetItem' && c.detail.startsWith('RevocationsTable policy#'),
      ),
    ).toBe(true);
    expect(iam.policies.get('ExampleCorpAudit/roleguard-revocations')).toContain('scan-wrong-3');

    // The vendor confirmed the new ID a day ago and has not used the old one since: the quiet period is over.
    const rotations = createRotationStore(doc, config.registryTable);
    const confirmed = (await rotations.get(ROLE))!;
    expect(confirmed.phase).toBe('confirmed');
    const dayAgo = new Date(Date.now() - 25 * 3600_000).toISOString();
    await rotations.update(confirmed, {
      ...confirmed,
      confirmedAt: dayAgo,
      ...(confirmed.oldIdUse ? { oldIdUse: { ...confirmed.oldIdUse, lastAt: dayAgo, callers: [] } } : {}),
    });

    // rotateExternalIds again: the confirmed rotation is finished (old ID removed, its sessions revoked).
    await record('RotateExternalIdsLambdaFunction', 'rotate-external-ids', async (rotate) =>
      expect(await rotate({})).toEqual({
        roles: 1,
        steps: [`${ROLE}: finish`, `${ROLE}: revoke-old-sessions: 1 session issued with the old ID revoked`],
      }),
    );

    // onTrustPolicyChange: a change made outside roleguard is alerted; roleguard's revocation policy deleted by
    // someone else is written back from the state roleguard keeps; a guarded role created again has its RoleId recorded.
    const iamEvent = (file: string) => {
      const event = structuredClone(loadJson(join(EVENTS_DIR, file))) as any;
      event.detail.eventTime = second(Date.now() - 60_000);
      return event;
    };
    const revocationPolicy = iam.policies.get('ExampleCorpAudit/roleguard-revocations')!;
    await record('OnTrustPolicyChangeLambdaFunction', 'on-trust-policy-change', async (change) => {
      const event = iamEvent('eventbridge-update-assume-role-policy.json');
      expect(await change(event)).toMatchObject({ status: 'trust-policy-change' });
      event.detail.eventID = 'second-change';
      expect(await change(event)).toMatchObject({ status: 'trust-policy-change' });
      iam.policies.delete('ExampleCorpAudit/roleguard-revocations');
      expect(await change(iamEvent('eventbridge-delete-role-policy-tamper.json'))).toMatchObject({
        status: 'trust-policy-change',
        findings: 1,
      });
      expect(await change(iamEvent('eventbridge-create-role.json'))).toMatchObject({
        status: 'trust-policy-change',
        findings: 1,
      });
    });
    expect(JSON.parse(iam.policies.get('ExampleCorpAudit/roleguard-revocations')!)).toEqual(
      JSON.parse(revocationPolicy),
    );
    expect(slack.received.map((r) => r.body).join('\n')).toContain('AROA5XFRBF23RECREATED');
    const tamperPaths = sent.OnTrustPolicyChangeLambdaFunction!.map((c) => `${c.action} ${c.detail}`);
    expect(tamperPaths).toEqual(
      expect.arrayContaining([
        `dynamodb:GetItem RevocationsTable policy#${ROLE}`,
        'iam:PutRolePolicy ExampleCorpAudit',
        'dynamodb:UpdateItem RegistryTable roleid',
      ]),
    );

    // sweep: a revocation recorded by a function that died before IAM, and an alert still in the outbox.
    const decidedAt = second(Date.now() - 10 * 60_000);
    await createRevocationStore(doc, config.revocationsTable!).record(
      {
        intentId: 'died',
        roleArn: ROLE,
        roleName: 'ExampleCorpAudit',
        addition: {
          role: null,
          sessions: [{ assumedRoleId: `${ROLE_ID}:scan-died`, decidedAt, pruneAfter: second(Date.now() + 3600_000) }],
        },
        source: { kind: 'finding', eventId: 'e-died', findingKind: 'unexpected-external-id' },
        caller: null,
        dryRun: false,
        createdAt: decidedAt,
      },
      { dueAt: new Date(Date.now() - SWEEP_GRACE_MS) },
    );
    await createOutbox(doc, config.alertsTable).admit(
      finding,
      { action: 'Alerted only.', nextStep: 'Fix it.' },
      { now: new Date(Date.now() - 60_000), windowSeconds: 3600, channels: ['slack', 'sns'] },
    );
    // …and a policy whose statements have all expired: the prune deletes it.
    const expired = second(Date.now() - 3600_000);
    iam.policies.set(
      'ExpiredVendor/roleguard-revocations',
      JSON.stringify(
        renderRevocationPolicy({
          role: null,
          sessions: [
            { assumedRoleId: `${ROLE_ID}:old`, decidedAt: second(Date.now() - 7200_000), pruneAfter: expired },
          ],
        }),
      ),
    );
    await createRevocationStore(doc, config.revocationsTable!).trackPolicy(EXPIRED_ROLE, 'ExpiredVendor', expired);
    await record('SweepLambdaFunction', 'sweep', async (sweep) =>
      expect(await sweep({})).toMatchObject({ revocations: { applied: 1, pruned: 1 }, alerts: { retried: 1 } }),
    );
    expect(iam.policies.has('ExpiredVendor/roleguard-revocations')).toBe(false);

    // Slack actions: each signed click goes through slackActions (verified, its nonce recorded, the worker invoked
    // asynchronously through Lambda), and the worker carries out the invoke slackActions sent: acknowledge, revoke the
    // finding's recorded session, revoke the role, start a rotation; a click by someone not an approver is refused.
    const slackFinding: Finding = {
      ...finding,
      eventId: 'known-1',
      assumedRoleId: `${ROLE_ID}:scan-known`,
      // Its own alert (another masked ID than the sweep's finding, so that it is not merged into that one).
      context: {
        ...finding.context,
        at: known.detail.eventTime,
        roleSessionName: 'scan-known',
        externalId: 'ec-7…#0a1b2c3d',
      },
    };
    const admitted = await createOutbox(doc, config.alertsTable).admit(
      slackFinding,
      { action: 'Alerted only.', nextStep: 'Decide in Slack.' },
      { now: new Date(), windowSeconds: 3600, channels: ['slack'] },
    );
    if (admitted.status !== 'new') throw new Error(`the Slack finding was ${admitted.status}`);
    const alertId = admitted.alert.alertId;
    const clicks = [
      { action: 'acknowledge', userId: APPROVER },
      { action: 'revoke-session', userId: APPROVER },
      { action: 'revoke-role', userId: APPROVER },
      { action: 'start-rotation', userId: APPROVER },
      { action: 'revoke-role', userId: 'UNOTANAPPROVER' },
      // A second click on a decided action: the decision that holds it is read and shown, nothing is done again.
      { action: 'acknowledge', userId: APPROVER },
    ];
    const invocations: unknown[] = [];
    await record('SlackActionsLambdaFunction', 'slack-actions', async (receive) => {
      for (const [i, click] of clicks.entries()) {
        const body = clickBody({ alertId, ...click, responseUrl: `https://hooks.slack.com/actions/T0/${i}/x` });
        const timestamp = String(Math.floor(Date.now() / 1000));
        const headers = {
          'content-type': 'application/x-www-form-urlencoded',
          'x-slack-request-timestamp': timestamp,
          'x-slack-signature': slackSignature(SIGNING_SECRET, timestamp, body),
        };
        const event = { headers, body: Buffer.from(body).toString('base64'), isBase64Encoded: true };
        expect(await receive(event)).toMatchObject({ statusCode: 200 });
        const invoke = lambda.received.at(-1)!;
        expect(invoke.headers['x-amz-invocation-type']).toBe('Event');
        invocations.push(JSON.parse(invoke.body));
      }
    });
    expect(invocations).toHaveLength(clicks.length);
    // The worker answers on the click's response_url (Slack's); here Slack's origin leads to the local fake.
    const realFetch = globalThis.fetch;
    globalThis.fetch = ((url: string | URL | Request, init?: RequestInit) =>
      realFetch(String(url).replace('https://hooks.slack.com', slack.url), init)) as typeof fetch;
    try {
      await record('SlackActionWorkerLambdaFunction', 'slack-action-worker', async (work) => {
        const statuses = [];
        for (const invocation of invocations) statuses.push((await work(invocation)).status);
        expect(statuses).toEqual(['done', 'done', 'done', 'done', 'refused', 'done']);
      });
    } finally {
      globalThis.fetch = realFetch;
    }

    // revoke: by access key, by a session name never recorded (resolved with GetRole), and the whole role.
    await record('RevokeLambdaFunction', 'revoke', async (revoke) => {
      const key = liveAssume('known-1', 'x').detail.responseElements.credentials.accessKeyId;
      expect(await revoke({ roleArn: ROLE, accessKeyId: key, requestId: 'p-1' })).toMatchObject({ applied: true });
      // The same request again is found done, not carried out twice.
      expect(await revoke({ roleArn: ROLE, accessKeyId: key, requestId: 'p-1' })).toMatchObject({ alreadyDone: true });
      expect(await revoke({ roleArn: ROLE, session: 'never-seen', requestId: 'p-2' })).toMatchObject({ applied: true });
      expect(await revoke({ roleArn: ROLE, all: true, requestId: 'p-3' })).toMatchObject({ applied: true });
      // The Slack worker's whole-role revocation above may already cover these (its time is rounded up to the
      // minute): a role nobody revoked yet is written for certain.
      expect(await revoke({ roleArn: EXPIRED_ROLE, all: true, requestId: 'p-5' })).toMatchObject({ applied: true });
      // The packaged function knows its account (AWS_ACCOUNT_ID from the template): the same name elsewhere is refused.
      await expect(revoke({ roleArn: OTHER_ACCOUNT_ROLE, all: true, requestId: 'p-4' })).rejects.toThrow(
        /in account 444455556666, but roleguard runs in account 111122223333/,
      );
    });

    // auditTrustPolicies: reads each guarded role's trust policy, alerts on problems once.
    iam.trust.set(
      'ExampleCorpAudit',
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { AWS: 'arn:aws:iam::999988887777:root' },
            Action: 'sts:AssumeRole',
            Condition: { StringEqualsIfExists: { 'sts:ExternalId': 'ec-7Hq2vN9xK4pL8mR3' } },
          },
        ],
      }),
    );
    await record('AuditTrustPoliciesLambdaFunction', 'audit-trust-policies', async (audit) =>
      expect(await audit({})).toMatchObject({ notified: 'sent' }),
    );

    // orgSync: the organization's accounts and the spoke StackSets' instances; the member's missing regional spoke is
    // a gap once two syncs in a row have seen it (a StackSet update in progress is not one), alerted once (the third
    // run finds the alert already admitted).
    await record(
      'OrgSyncLambdaFunction',
      'org-sync',
      async (sync) => {
        expect(await sync({})).toMatchObject({ accounts: 3, cells: 6, gaps: 0, alerted: 0 });
        expect(await sync({})).toMatchObject({ accounts: 3, cells: 6, gaps: 1, alerted: 1 });
        expect(await sync({})).toMatchObject({ gaps: 1, alerted: 0 });
      },
      ORG_ENV,
    );
    // orgCanary: each covered account's spoke role assumed in each Region; the management account's refuses (a gap,
    // alerted once across the two runs).
    await record(
      'OrgCanaryLambdaFunction',
      'org-canary',
      async (canary) => {
        expect(await canary({})).toMatchObject({ cells: 5, sent: 3, failed: 2, alerted: 2 });
        expect(await canary({})).toMatchObject({ waiting: 3, failed: 2, alerted: 0 });
      },
      ORG_ENV,
    );
    const assumed = sent.OrgCanaryLambdaFunction!.filter((c) => c.action === 'sts:AssumeRole').map((c) => c.resource);
    expect(new Set(assumed)).toEqual(
      new Set([STACK.accountId, MEMBER, MANAGEMENT].map((a) => `arn:aws:iam::${a}:role/roleguard-test-spoke`)),
    );
  }, 60_000);

  it('is not vacuous: the conditions read the recorded context (role tags, leading keys)', async () => {
    const assume = sent.OnAssumeRoleLambdaFunction!;
    const put = assume.find((c) => c.action === 'iam:PutRolePolicy')!;
    const confirm = assume.find((c) => c.action === 'dynamodb:PutItem' && c.detail.startsWith('RegistryTable'))!;
    expect(confirm.context).toEqual({ 'dynamodb:LeadingKeys': ['rotation'] });
    const proof = await proveRole(template, STACK, 'OnAssumeRoleRole', [
      { ...put, context: {}, detail: 'untagged' },
      { ...put, resource: 'arn:aws:iam::111122223333:role/roleguard-test-SweepRole-X1', detail: 'own role' },
      { ...confirm, context: { 'dynamodb:LeadingKeys': ['registry'] }, detail: 'the registry pointer' },
    ]);
    expect(proof.denied.map((d) => [d.call.detail, d.result])).toEqual([
      ['untagged', 'ImplicitlyDenied'],
      ['own role', 'ExplicitlyDenied'],
      ['the registry pointer', 'ImplicitlyDenied'],
    ]);
  });

  it.each(Object.keys(REVIEWED))('%s: every request allowed, every grant used or reviewed', async (roleId) => {
    const functionId = roleId.replace(/Role$/, 'LambdaFunction');
    const inOrg = ORG_PROVEN.has(roleId);
    const judged = inOrg ? orgTemplate : template;
    // In the organization every fake account is a member: a spoke role there belongs to ORG_ENV's organization.
    const org = (c: (typeof sent)[string][number]) =>
      inOrg && c.action === 'sts:AssumeRole'
        ? { ...c, context: { ...c.context, 'aws:ResourceOrgID': ORG_ENV.ORG_ID } }
        : c;
    const calls = [...(sent[functionId] ?? []).map(org), ...platformCalls(judged, STACK, functionId)];
    expect(sent[functionId]?.length).toBeGreaterThan(0);
    const proof = await proveRole(judged, STACK, roleId, calls);
    expect(
      proof.denied.map((d) => `${d.call.action} ${d.call.resource} ${JSON.stringify(d.call.context)}: ${d.result}`),
    ).toEqual([]);
    // Every reviewed grant must be unused (or the review is stale), except the lock-owner check, whose use depends on
    // whether a run took the fast path or the step-by-step one (lock timing); the request is proven when it is sent.
    const reviewed = REVIEWED[roleId]!;
    const settled = Object.keys(reviewed).filter((g) => reviewed[g] !== LOCK_OWNER_CHECK);
    const unused = proof.unused.map((g) => `${g.sid} ${g.action}`);
    expect(unused.filter((g) => !(g in reviewed)).sort()).toEqual([]);
    expect(settled.filter((g) => !unused.includes(g)).sort()).toEqual([]);
  });
});

const finding: Finding = {
  kind: 'unexpected-external-id',
  severity: 'critical',
  roleArn: ROLE,
  eventId: 'proof-e1',
  assumedRoleId: `${ROLE_ID}:s`,
  callerAccountId: '999988887777',
  message: 'test finding',
  context: {
    recipientAccountId: '111122223333',
    vendor: 'Example Corp',
    at: '2026-11-02T09:00:00Z',
    callerArn: null,
    callerType: 'AWSAccount',
    sourceIpAddress: '203.0.113.9',
    roleSessionName: 's',
    externalId: 'tena…#12345678',
    userAgent: null,
  },
};
