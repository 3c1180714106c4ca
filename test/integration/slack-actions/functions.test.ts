import { randomUUID } from 'node:crypto';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Config } from '../../../lib/config.js';
import { LOCAL_AWS } from '../../../lib/local/dynamodb-local.js';
import { ensureTable } from '../../../lib/local/tables.js';
import { createRegistryStore } from '../../../lib/registry/index.js';
import { parseRegistryText } from '../../../lib/registry/text.js';
import { createDecisionStore, decisionsTableDefinition, slackSignature } from '../../../lib/slack-actions/index.js';
import { createSessionsTable, createTestTables, testDynamo, testEndpoint } from '../../helpers/dynamo.js';
import { type FakeServer, fakeSlack, fakeSns } from '../../helpers/fake-aws.js';
import { clickBody, fakeLambda, fakeSsmParameters, postSigned, startApi } from './support.js';

// The two deployed functions, loaded as Lambda loads them (configuration from the environment, clients built at
// module scope), with DynamoDB Local and SSM, Lambda, SNS and Slack as local HTTP servers.
const SECRET = 'a-signing-secret-0123456789abcdef';
const FUNCTIONS = '../../../functions';
const saved = { ...process.env };
let doc: DynamoDBDocumentClient;
let config: Config;
let decisionsTable: string;
let lambda: FakeServer;
let responses: FakeServer;
let servers: FakeServer[];

beforeAll(async () => {
  doc = testDynamo();
  config = await createTestTables(doc, await createSessionsTable(doc));
  decisionsTable = `decisions-${randomUUID()}`;
  await ensureTable(doc, decisionsTableDefinition(decisionsTable));
  await createRegistryStore(doc, config.registryTable).replace(
    parseRegistryText(
      'approvers: [UGLOBAL01]\nroles:\n  - roleArn: arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit\n    vendor: Example Corp\n    trustedAccounts: ["999988887777"]\n    externalIds: { current: "ec-7Hq2vN9xK4pL8mR3" }\n',
      'registry.yaml',
    ),
  );
  const webhook = await fakeSlack();
  responses = await fakeSlack();
  lambda = await fakeLambda();
  const ssm = await fakeSsmParameters({
    '/roleguard/test/slack-signing-secret': SECRET,
    '/roleguard/test/slack-webhook-url': `${webhook.url}/services/T0/B0/secret`,
  });
  const sns = await fakeSns();
  servers = [webhook, responses, lambda, ssm, sns];
  Object.assign(process.env, {
    SESSIONS_TABLE: config.sessionsTable,
    REGISTRY_TABLE: config.registryTable,
    ALERTS_TABLE: config.alertsTable,
    REVOCATIONS_TABLE: config.revocationsTable!,
    DECISIONS_TABLE: decisionsTable,
    ALERT_TOPIC_ARN: 'arn:aws:sns:us-east-1:111122223333:roleguard-test-alerts',
    SLACK_WEBHOOK_PARAMETER: '/roleguard/test/slack-webhook-url',
    SLACK_SIGNING_SECRET_PARAMETER: '/roleguard/test/slack-signing-secret',
    SLACK_ACTION_FUNCTION: 'roleguard-test-slackActionWorker',
    SLACK_ACTIONS: 'true',
    AWS_REGION: LOCAL_AWS.region,
    AWS_ENDPOINT_URL_DYNAMODB: testEndpoint(),
    AWS_ENDPOINT_URL_SSM: ssm.url,
    AWS_ENDPOINT_URL_SNS: sns.url,
    AWS_ENDPOINT_URL_LAMBDA: lambda.url,
    AWS_ACCESS_KEY_ID: LOCAL_AWS.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_AWS.credentials.secretAccessKey,
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  });
});
afterAll(async () => {
  process.env = saved;
  await Promise.all(servers.map((s) => s.close()));
  doc.destroy();
});

describe('the deployed Slack functions', () => {
  it('slackActions answers a signed click at once and invokes slackActionWorker asynchronously; refuses the rest', async () => {
    const { handler } = await import(`${FUNCTIONS}/slack-actions.js`);
    const api = await startApi(handler);
    try {
      const body = clickBody({
        alertId: '0123456789abcdef0123',
        action: 'acknowledge',
        userId: 'UGLOBAL01',
        responseUrl: 'https://hooks.slack.com/actions/T0/1/x',
      });
      expect((await postSigned(api.url, body, { secret: SECRET })).status).toBe(200);
      expect(lambda.received).toHaveLength(1);
      expect(lambda.received[0]!.url).toBe('/2015-03-31/functions/roleguard-test-slackActionWorker/invocations');
      expect(lambda.received[0]!.headers['x-amz-invocation-type']).toBe('Event');
      expect((await postSigned(api.url, body, { secret: 'wrong' })).status).toBe(401);
      expect(lambda.received).toHaveLength(1);
    } finally {
      await api.close();
    }
  });

  it('slackActionWorker re-verifies what it is handed, and posts to no response_url outside Slack', async () => {
    const { handler } = await import(`${FUNCTIONS}/slack-action-worker.js`);
    const context = { functionName: 'slackActionWorker', awsRequestId: 'r1', getRemainingTimeInMillis: () => 60000 };
    const timestamp = String(Math.floor(Date.now() / 1000));
    const body = clickBody({
      alertId: 'deadbeefdeadbeefdead',
      action: 'revoke-role',
      userId: 'UGLOBAL01',
      responseUrl: `${responses.url}/actions/T0/1/x`,
    });
    const signature = slackSignature(SECRET, timestamp, body);
    const handover = { body, timestamp, signature, receivedAt: new Date().toISOString() };
    // Signed, but never taken by the receiver: refused, nothing recorded.
    expect(await handler(handover, context as never)).toEqual({ decisionId: null, status: 'refused' });
    // Taken by the receiver, but the response_url is not Slack's: refused before anything is done.
    expect(await createDecisionStore(doc, decisionsTable).takeRequest(signature, new Date())).toBe(true);
    expect(await handler(handover, context as never)).toEqual({ decisionId: null, status: 'refused' });
    expect(responses.received).toHaveLength(0);
    expect(await createDecisionStore(doc, decisionsTable).list()).toEqual([]);
    await expect(handler({ action: 'revoke-role' }, context as never)).rejects.toThrow(/not a Slack action request/);
  });
});
