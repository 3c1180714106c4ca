import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type AssumeEvent, classifyRecord } from '../../lib/cloudtrail/index.js';
import type { Config } from '../../lib/config.js';
import { parseManualRevocation } from '../../lib/lambda-handler.js';
import { LOCAL_AWS } from '../../lib/local/dynamodb-local.js';
import { createRegistryStore } from '../../lib/registry/index.js';
import { parseRegistryText } from '../../lib/registry/text.js';
import { SWEEP_GRACE_MS } from '../../lib/revoke/service.js';
import { createRevocationStore } from '../../lib/revoke/store.js';
import { createSessionStore } from '../../lib/sessions/index.js';
import { createSessionsTable, createTestTables, testDynamo, testEndpoint } from '../helpers/dynamo.js';
import { type FakeServer, fakeSlack, fakeSns, fakeSsm } from '../helpers/fake-aws.js';
import {
  accessKeyOf,
  type EmulatedIam,
  emulateIam,
  ROLE_ID,
  sessionDecision,
  vendorAssume,
} from '../helpers/revocation.js';

// The deployed revoke and sweep functions, loaded as Lambda loads them: DynamoDB Local, IAM emulated, Slack, SSM and
// SNS as local HTTP servers.
const ROLE = 'arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit';
const FUNCTIONS = '../../functions';
const context = { functionName: 'revoke', awsRequestId: 'r1', getRemainingTimeInMillis: () => 60000 };
const saved = { ...process.env };
let doc: DynamoDBDocumentClient;
let config: Config;
let iam: EmulatedIam;
let servers: FakeServer[];

beforeAll(async () => {
  doc = testDynamo();
  iam = emulateIam();
  config = await createTestTables(doc, await createSessionsTable(doc));
  await createRegistryStore(doc, config.registryTable).replace(
    parseRegistryText(
      `protectedRoleArns: ["arn:aws:iam::111122223333:role/BreakGlass"]\nroles:\n  - roleArn: ${ROLE}\n    vendor: Example Corp\n    trustedAccounts: ["999988887777"]\n    externalIds: { current: "ec-7Hq2vN9xK4pL8mR3" }\n    response: revoke\n`,
      'registry.yaml',
    ),
  );
  // A session recorded as onAssumeRole records it, expiring an hour from now.
  const issued = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
  const event = classifyRecord(
    vendorAssume({
      id: 'live-1',
      time: issued.toISOString().replace(/\.\d+Z$/, 'Z'),
      session: 'scan-live',
      externalId: 'tenant-4711',
      expiration: new Date(issued.getTime() + 3600_000).toISOString(),
    }),
    { recordAwsServiceAssumes: false },
  ) as AssumeEvent;
  await createSessionStore(doc, config.sessionsTable, 90).record(event, { processed: true, now: new Date() });
  const slack = await fakeSlack();
  const ssm = await fakeSsm('/roleguard/test/slack-webhook-url', `${slack.url}/services/T0/B0/secret`);
  const sns = await fakeSns();
  servers = [slack, ssm, sns];
  Object.assign(process.env, {
    SESSIONS_TABLE: config.sessionsTable,
    REGISTRY_TABLE: config.registryTable,
    ALERTS_TABLE: config.alertsTable,
    REVOCATIONS_TABLE: config.revocationsTable!,
    ALERT_TOPIC_ARN: 'arn:aws:sns:us-east-1:111122223333:roleguard-test-alerts',
    SLACK_WEBHOOK_PARAMETER: '/roleguard/test/slack-webhook-url',
    AWS_REGION: LOCAL_AWS.region,
    AWS_ENDPOINT_URL_DYNAMODB: testEndpoint(),
    AWS_ENDPOINT_URL_SSM: ssm.url,
    AWS_ENDPOINT_URL_SNS: sns.url,
    AWS_ACCESS_KEY_ID: LOCAL_AWS.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_AWS.credentials.secretAccessKey,
    POWERTOOLS_LOG_LEVEL: 'ERROR',
    OWN_ROLE_ARNS: 'arn:aws:iam::111122223333:role/roleguard-prod-*',
  });
});
afterAll(async () => {
  process.env = saved;
  iam.restore();
  doc.destroy();
  await Promise.all(servers.map((s) => s.close()));
});

describe('the manual revoke function', () => {
  it('revokes a recorded session by its access key, once per request id, with the session expiry as prune time', async () => {
    const { handler } = await import(`${FUNCTIONS}/revoke.js?manual`);
    const request = {
      roleArn: ROLE,
      accessKeyId: accessKeyOf('live-1'),
      reason: 'incident 42',
      requestedBy: 'oncall',
      requestId: 'inc-42-1',
    };
    const result = await handler(request, context as never);
    expect(result).toMatchObject({
      kind: 'revoke-session',
      applied: true,
      dryRun: false,
      revoked: `${ROLE_ID}:scan-live`,
      sessions: [{ eventId: 'live-1', accessKeyId: accessKeyOf('live-1') }],
    });
    expect(iam.puts('ExampleCorpAudit')).toBe(1);
    const policy = iam.policy('ExampleCorpAudit') as { Statement: { Sid: string }[] };
    const issuedAt = result.sessions[0].issuedAt as string;
    expect(await sessionDecision(policy, 'scan-live', issuedAt)).toBe('Denied');
    expect(
      await sessionDecision(
        policy,
        'scan-live',
        new Date(Date.parse(result.decidedAt) + 1000).toISOString().replace(/\.\d+Z$/, 'Z'),
      ),
    ).toBe('Allowed');
    // The statement is kept until the recorded expiry, not 12 hours.
    const expiry = new Date(Date.parse(issuedAt) + 3600_000).toISOString().slice(0, 19).replace(/[-:]/g, '');
    expect(policy.Statement[0]!.Sid).toBe(`RoleguardSessions${result.decidedAt.replace(/[-:]/g, '')}Until${expiry}Z`);
    // The same request again is not carried out twice.
    expect(await handler(request, context as never)).toMatchObject({ applied: true, alreadyDone: true });
    expect(iam.puts('ExampleCorpAudit')).toBe(1);
    // The intent names who asked and why.
    expect(await createRevocationStore(doc, config.revocationsTable!).get(result.intentId)).toMatchObject({
      state: 'applied',
      source: { kind: 'manual', requestedBy: 'oncall', reason: 'incident 42' },
    });
  });

  it("refuses protected roles, other roles' keys and bad requests with the reason, calling nothing that writes", async () => {
    const { handler } = await import(`${FUNCTIONS}/revoke.js?refusals`);
    const before = iam.puts();
    for (const [request, reason] of [
      [
        { roleArn: 'arn:aws:iam::111122223333:role/BreakGlass', all: true },
        /refused: .*BreakGlass: it is listed in protectedRoleArns/,
      ],
      [
        {
          roleArn: 'arn:aws:iam::111122223333:role/aws-service-role/support.amazonaws.com/AWSServiceRoleForSupport',
          all: true,
        },
        /service-linked role/,
      ],
      [
        { roleArn: 'arn:aws:iam::111122223333:role/roleguard-prod-OnAssumeRoleRole-1A2B3C', all: true },
        /refused: .*it is one of roleguard's own roles/,
      ],
      [
        { roleArn: 'arn:aws:iam::111122223333:role/Other', accessKeyId: accessKeyOf('live-1') },
        /belongs to a session of .*ExampleCorpAudit, not .*role\/Other/,
      ],
      [
        { roleArn: ROLE, accessKeyId: 'ASIANOSUCHKEY0000000' },
        /no recorded session has access key ASIANOSUCHKEY0000000/,
      ],
      [{ roleArn: ROLE }, /give exactly one of session, accessKeyId or all: true/],
      [{ roleArn: ROLE, all: 'yes' }, /all must be true or false/],
      [{ roleArn: ROLE, session: 'bad name!' }, /not a role session name/],
    ] as [Record<string, unknown>, RegExp][]) {
      await expect(handler(request, context as never)).rejects.toThrow(reason);
    }
    expect(iam.puts()).toBe(before);
  });

  it('a dry run returns the policy it would write and writes nothing', async () => {
    const { handler } = await import(`${FUNCTIONS}/revoke.js?dry`);
    const before = iam.puts();
    const result = await handler({ roleArn: ROLE, session: 'scan-never-recorded', dryRun: true }, context as never);
    // A name never recorded is resolved to RoleId:name with iam:GetRole.
    expect(result).toMatchObject({ applied: false, dryRun: true, revoked: `${ROLE_ID}:scan-never-recorded` });
    expect(await sessionDecision(result.policyDocument, 'scan-never-recorded', '2026-01-01T00:00:00Z')).toBe('Denied');
    expect(await sessionDecision(result.policyDocument, 'scan-live', '2026-01-01T00:00:00Z')).toBe('Denied');
    expect(iam.puts()).toBe(before);
  });

  it('reads the request strictly', () => {
    expect(parseManualRevocation({ roleArn: ROLE, session: `${ROLE_ID}:x1` })).toEqual({
      roleArn: ROLE,
      target: { assumedRoleId: `${ROLE_ID}:x1` },
      dryRun: false,
      reason: null,
      requestedBy: null,
    });
    expect(parseManualRevocation({ roleArn: ROLE, session: 'x1', requestId: 'r' })).toMatchObject({
      target: { sessionName: 'x1' },
      requestId: 'r',
    });
    expect(() => parseManualRevocation(null)).toThrow(/roleArn is required/);
    expect(() => parseManualRevocation({ roleArn: ROLE, all: true, session: 'x1' })).toThrow(/exactly one/);
  });
});

describe('the sweep function', () => {
  it('applies a revocation recorded by a function that died before calling IAM', async () => {
    const store = createRevocationStore(doc, config.revocationsTable!);
    const now = new Date();
    const decidedAt = new Date(now.getTime() - 10 * 60_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const pruneAfter = new Date(now.getTime() + 3600_000).toISOString().replace(/\.\d+Z$/, 'Z');
    await store.record(
      {
        intentId: 'died',
        roleArn: ROLE,
        roleName: 'ExampleCorpAudit',
        addition: { role: null, sessions: [{ assumedRoleId: `${ROLE_ID}:scan-died`, decidedAt, pruneAfter }] },
        source: { kind: 'finding', eventId: 'e-died', findingKind: 'unexpected-external-id' },
        caller: null,
        dryRun: false,
        createdAt: decidedAt,
      },
      { dueAt: new Date(now.getTime() - SWEEP_GRACE_MS) },
    );
    const { handler } = await import(`${FUNCTIONS}/sweep.js?revocations`);
    const result = await handler({}, { ...context, functionName: 'sweep' } as never);
    expect(result.revocations).toMatchObject({ applied: 1, retrying: 0 });
    expect(
      await sessionDecision(
        iam.policy('ExampleCorpAudit'),
        'scan-died',
        new Date(Date.parse(decidedAt) - 1000).toISOString().replace(/\.\d+Z$/, 'Z'),
      ),
    ).toBe('Denied');
    expect(await store.get('died')).toMatchObject({ state: 'applied' });
  });
});
