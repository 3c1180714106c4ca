import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetRoleCommand, IAMClient, NoSuchEntityException } from '@aws-sdk/client-iam';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { createOutbox } from '../../lib/alert/index.js';
import type { Config } from '../../lib/config.js';
import type { Finding } from '../../lib/detect/index.js';
import { LOCAL_AWS } from '../../lib/local/dynamodb-local.js';
import { createRegistryStore } from '../../lib/registry/index.js';
import { parseRegistryText } from '../../lib/registry/text.js';
import { createSessionsTable, createTestTables, testDynamo, testEndpoint } from '../helpers/dynamo.js';
import { type FakeServer, fakeSns, fakeSsm, startFakeServer } from '../helpers/fake-aws.js';
import { EVENTS_DIR } from '../helpers/fixtures.js';

// The deployed scheduled functions, loaded as Lambda loads them, with Slack, SSM and SNS as real local HTTP servers.
let doc: DynamoDBDocumentClient;
let config: Config;
let slack: FakeServer & { statuses: number[] };
let ssm: FakeServer;
let sns: FakeServer;
const saved = { ...process.env };
// A query string gives each import its own module instance, hence its own cold start.
const FUNCTIONS = '../../functions';
const context = { functionName: 'scheduled', awsRequestId: 'r1', getRemainingTimeInMillis: () => 60000 };

beforeAll(async () => {
  doc = testDynamo();
  config = await createTestTables(doc, await createSessionsTable(doc));
  await createRegistryStore(doc, config.registryTable).replace(
    parseRegistryText(readFileSync(join(EVENTS_DIR, 'registry.yaml'), 'utf8'), 'registry.yaml'),
  );
  // Slack answers with the statuses queued in `statuses`, then 200.
  const statuses: number[] = [];
  slack = Object.assign(await startFakeServer(() => ({ status: statuses.shift() ?? 200, body: 'ok' })), { statuses });
  ssm = await fakeSsm('/roleguard/test/slack-webhook-url', `${slack.url}/services/T0/B0/secret`);
  sns = await fakeSns();
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
  });
});
afterAll(async () => {
  process.env = saved;
  doc.destroy();
  await Promise.all([slack.close(), ssm.close(), sns.close()]);
});

const finding: Finding = {
  kind: 'unexpected-external-id',
  severity: 'critical',
  roleArn: 'arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit',
  eventId: 'sweep-e1',
  assumedRoleId: 'AROA3XFRBF23EXAMPLE1:s',
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

describe('scheduled functions', () => {
  it('sweep delivers an alert that is still in the outbox, once', async () => {
    const outbox = createOutbox(doc, config.alertsTable);
    const admitted = await outbox.admit(
      finding,
      { action: 'Alerted only.', nextStep: 'Fix it.' },
      { now: new Date(Date.now() - 60_000), windowSeconds: 3600, channels: ['slack', 'sns'] },
    );
    expect(admitted.status).toBe('new');
    const { handler } = await import(`${FUNCTIONS}/sweep.js?sweep`);
    const result = await handler({}, context as never);
    expect(result).toEqual({
      alerts: { retried: 1, summaries: 0 },
      revocations: { applied: 0, pruned: 0, retrying: 0, expired: 0 },
    });
    expect(slack.received).toHaveLength(1);
    expect(sns.received).toHaveLength(1);
    expect((await outbox.get(admitted.status === 'new' ? admitted.alert.alertId : ''))!.state).toBe('delivered');
    // Nothing is due any more: a second sweep sends nothing.
    expect(await handler({}, context as never)).toMatchObject({ alerts: { retried: 0, summaries: 0 } });
    expect(slack.received).toHaveLength(1);
  });

  it('the audit function reads trust policies with GetRole, alerts on problems once, and fails (to be retried) when Slack is down', async () => {
    const iam = mockClient(IAMClient);
    const weak = {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: 'arn:aws:iam::999988887777:root' },
          Action: 'sts:AssumeRole',
          Condition: { StringEqualsIfExists: { 'sts:ExternalId': 'ec-7Hq2vN9xK4pL8mR3' } },
        },
      ],
    };
    iam.on(GetRoleCommand).rejects(new NoSuchEntityException({ message: 'no such role', $metadata: {} }));
    iam.on(GetRoleCommand, { RoleName: 'ExampleCorpAudit' }).resolves({
      Role: {
        Arn: 'arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit',
        RoleName: 'ExampleCorpAudit',
        Path: '/vendors/',
        RoleId: 'AROA3XFRBF23EXAMPLE1',
        CreateDate: new Date(),
        AssumeRolePolicyDocument: encodeURIComponent(JSON.stringify(weak)),
      },
    });
    try {
      const { handler } = await import(`${FUNCTIONS}/audit-trust-policies.js?audit`);
      const slackBefore = slack.received.length;
      const snsBefore = sns.received.length;
      slack.statuses.push(500, 500, 500);
      await expect(handler({}, context as never)).rejects.toThrow();
      const first = await handler({}, context as never);
      // One problem: the IfExists condition (the ID it names is the registered one, so the IDs do not differ).
      expect(first).toMatchObject({ summary: { roles: 1, withProblems: 1, high: 1 }, notified: 'sent' });
      expect(iam.commandCalls(GetRoleCommand)[0]!.args[0].input).toEqual({ RoleName: 'ExampleCorpAudit' });
      // The failed run tried Slack three times (with backoff) and stored nothing; the next run sent once on each channel.
      expect(slack.received.length - slackBefore).toBe(4);
      const body = JSON.parse(slack.received.at(-1)!.body) as { text: string };
      expect(body.text).toMatch(/Trust-policy audit: 1 of 1 guarded roles need attention/);
      expect(slack.received.at(-1)!.body).not.toContain('ec-7Hq2vN9xK4pL8mR3');
      expect(sns.received.length - snsBefore).toBe(1);
      // The same problems the next day: no new alert.
      expect(await handler({}, context as never)).toMatchObject({ notified: 'unchanged' });
      expect(slack.received.length - slackBefore).toBe(4);
    } finally {
      iam.restore();
    }
  });
});
