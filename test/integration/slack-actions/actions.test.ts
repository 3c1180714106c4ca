import { randomUUID } from 'node:crypto';
import { GetRoleCommand, UpdateAssumeRolePolicyCommand } from '@aws-sdk/client-iam';
import { LambdaClient } from '@aws-sdk/client-lambda';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { slackSender, sweepAlerts } from '../../../lib/alert/index.js';
import type { Config } from '../../../lib/config.js';
import { createDeps, type Deps } from '../../../lib/deps.js';
import { LOCAL_AWS } from '../../../lib/local/dynamodb-local.js';
import { ensureTable } from '../../../lib/local/tables.js';
import { processRecord } from '../../../lib/pipeline.js';
import { createRegistryStore } from '../../../lib/registry/index.js';
import { parseRegistryText } from '../../../lib/registry/text.js';
import {
  createDecisionStore,
  type Decision,
  decisionsTableDefinition,
  slackActionHandler,
  slackActionsHttpHandler,
  slackResponder,
} from '../../../lib/slack-actions/index.js';
import { lambdaEnqueue, liveActionDeps, signingSecretReader } from '../../../lib/slack-actions/live.js';
import { createSessionsTable, createTestTables, testDynamo } from '../../helpers/dynamo.js';
import { type FakeServer, fakeSlack, fakeSns } from '../../helpers/fake-aws.js';
import { memoryLogger } from '../../helpers/logger.js';
import { type EmulatedIam, emulateIam, ROLE_ID, sessionDecision, vendorAssume } from '../../helpers/revocation.js';
import { vendorTrustPolicy } from '../../helpers/rotation.js';
import { instantPolicy } from '../alert/support.js';
import { clickBody, fakeLambda, fakeSsmParameters, postSigned, startApi } from './support.js';

const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const SECRET_PARAMETER = '/roleguard/test/slack-signing-secret';
const WORKER = 'roleguard-test-slackActionWorker';
const ACCOUNT = '111122223333';
const AUDIT = `arn:aws:iam::${ACCOUNT}:role/vendors/ExampleCorpAudit`;
const GLASS = `arn:aws:iam::${ACCOUNT}:role/BreakGlass`;
const TRIAL = `arn:aws:iam::${ACCOUNT}:role/vendors/TrialVendor`;
const REGISTRY = `
approvers: [UGLOBAL01]
protectedRoleArns: ["${GLASS}"]
roles:
  - roleArn: ${AUDIT}
    vendor: Example Corp
    trustedAccounts: ["999988887777"]
    externalIds: { current: "ec-7Hq2vN9xK4pL8mR3" }
    approvers: [UAUDIT001]
  - roleArn: arn:aws:iam::${ACCOUNT}:role/vendors/OtherVendor
    vendor: Other Vendor
    trustedAccounts: ["999988887777"]
    externalIds: { current: "ov-7Hq2vN9xK4pL8mR3" }
    approvers: [UOTHER001]
  - roleArn: ${GLASS}
    vendor: Break glass
    trustedAccounts: ["999988887777"]
    externalIds: { current: "bg-7Hq2vN9xK4pL8mR3" }
  - roleArn: ${TRIAL}
    vendor: Trial Vendor
    trustedAccounts: ["999988887777"]
    externalIds: { current: "tv-7Hq2vN9xK4pL8mR3" }
    dryRun: true
`;
const context = { functionName: 'slackActionWorker', awsRequestId: 'r1', getRemainingTimeInMillis: () => 60000 };
const saved = { ...process.env };

interface Reply {
  text: string;
  replace_original: boolean;
  response_type?: string;
  blocks?: {
    type: string;
    text?: { text: string };
    elements?: { action_id: string; value: string; confirm?: unknown }[];
  }[];
}

let doc: DynamoDBDocumentClient;
let config: Config;
let deps: Deps;
let iam: EmulatedIam;
let webhook: FakeServer;
let responses: FakeServer;
let lambda: FakeServer;
let servers: FakeServer[];
let api: { url: string; close(): Promise<void> };
let decisionsTable: string;
let worker: ReturnType<typeof slackActionHandler>;
const log = memoryLogger();
let seq = 0;

beforeAll(async () => {
  doc = testDynamo();
  iam = emulateIam();
  config = await createTestTables(doc, await createSessionsTable(doc), {
    ownRoleArns: [`arn:aws:iam::${ACCOUNT}:role/roleguard-test-*`],
  });
  decisionsTable = `decisions-${randomUUID()}`;
  await ensureTable(doc, decisionsTableDefinition(decisionsTable));
  await createRegistryStore(doc, config.registryTable).replace(parseRegistryText(REGISTRY, 'registry.yaml'));
  webhook = await fakeSlack();
  responses = await fakeSlack();
  lambda = await fakeLambda();
  const ssm = await fakeSsmParameters({ [SECRET_PARAMETER]: SECRET });
  const sns = await fakeSns();
  servers = [webhook, responses, lambda, ssm, sns];
  Object.assign(process.env, {
    AWS_REGION: LOCAL_AWS.region,
    AWS_ACCESS_KEY_ID: LOCAL_AWS.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_AWS.credentials.secretAccessKey,
    AWS_ENDPOINT_URL_SSM: ssm.url,
    AWS_ENDPOINT_URL_LAMBDA: lambda.url,
    AWS_ENDPOINT_URL_SNS: sns.url,
  });
  // The receiver as functions/slack-actions.ts builds it, with a logger the tests can read.
  const receiver = slackActionsHttpHandler({
    signingSecret: signingSecretReader(SECRET_PARAMETER),
    decisions: createDecisionStore(doc, decisionsTable),
    enqueue: lambdaEnqueue(new LambdaClient({}), WORKER),
    logger: log.logger,
    now: () => new Date(),
  });
  api = await startApi(receiver as never);
  deps = createDeps(config, {
    dynamo: doc,
    logger: log.logger,
    senders: { slack: slackSender(`${webhook.url}/services/T0/B0/secret`) },
    deliveryPolicy: instantPolicy(),
  });
  // The action function as functions/slack-action-worker.ts builds it; its response_url is the local server.
  worker = slackActionHandler({
    ...liveActionDeps(deps, { DECISIONS_TABLE: decisionsTable }),
    reply: slackResponder({ allowed: (url) => url.startsWith(responses.url) }),
    logger: log.logger,
  });
});

afterAll(async () => {
  process.env = saved;
  iam.restore();
  await api.close();
  await Promise.all(servers.map((s) => s.close()));
  doc.destroy();
});

/** A finding on a role (an unexpected external ID, each time a new one): its alert, as posted to Slack. */
async function raise(roleArn = AUDIT, options: { denied?: boolean } = {}) {
  seq++;
  const session = `scan-${seq}`;
  const time = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000).toISOString().replace(/\.\d+Z$/, 'Z');
  const record = vendorAssume({ id: `ev-${seq}-${randomUUID()}`, time, session, externalId: `guess-${seq}`, roleArn });
  if (options.denied) {
    Object.assign(record, { errorCode: 'AccessDenied', errorMessage: 'not authorized' });
    delete (record as { responseElements?: unknown }).responseElements;
  }
  const before = webhook.received.length;
  await processRecord(record, deps);
  expect(webhook.received.length).toBe(before + 1);
  const body = JSON.parse(webhook.received.at(-1)!.body) as Reply;
  const actions = body.blocks!.find((b) => b.type === 'actions');
  return { session, time, body, actions, alertId: actions?.elements?.[0]?.value as string };
}

/** Click a button as Slack does: a signed form post to the API, then the asynchronous invoke it caused. */
async function click(alertId: string, action: string, userId: string, timestamp?: number) {
  const responseUrl = `${responses.url}/actions/T0/${seq}/${randomUUID()}`;
  const body = clickBody({ alertId, action, userId, responseUrl });
  const invokes = lambda.received.length;
  const res = await postSigned(api.url, body, { secret: SECRET, ...(timestamp ? { timestamp } : {}) });
  expect(res.status).toBe(200);
  expect(lambda.received.length).toBe(invokes + 1);
  const invoke = lambda.received[invokes]!;
  expect(invoke.url).toBe(`/2015-03-31/functions/${WORKER}/invocations`);
  expect(invoke.headers['x-amz-invocation-type']).toBe('Event');
  const replies = responses.received.length;
  const result = (await worker(JSON.parse(invoke.body), context as never)) as { decisionId: string; status: string };
  const reply = JSON.parse(responses.received[replies]!.body) as Reply;
  expect(responses.received[replies]!.url).toBe(new URL(responseUrl).pathname);
  return { result, reply };
}

const trail = () => createDecisionStore(doc, decisionsTable).list();

describe('the alert', () => {
  it('carries the buttons its finding calls for, each valued with the alert id only', async () => {
    const { actions, alertId } = await raise();
    expect(alertId).toMatch(/^[0-9a-f]{20}$/);
    expect(actions!.elements!.map((e) => e.action_id)).toEqual([
      'revoke-session',
      'revoke-role',
      'start-rotation',
      'acknowledge',
    ]);
    for (const element of actions!.elements!) expect(element.value).toBe(alertId);
    expect(actions!.elements![1]!.confirm).toMatchObject({
      title: { type: 'plain_text', text: 'Revoke every session?' },
      confirm: { text: 'Revoke all sessions' },
      deny: { text: 'Cancel' },
    });
  });
});

describe('the full path: a finding, its alert, a click, the action, the message, the decision', () => {
  it('revokes the session of the finding through the revocation code, updates the message and records who did it', async () => {
    const { alertId, session, time } = await raise();
    iam.reset();
    const { result, reply } = await click(alertId, 'revoke-session', 'UAUDIT001');
    expect(result.status).toBe('done');
    expect(iam.puts('ExampleCorpAudit')).toBe(1);
    const policy = iam.policy('ExampleCorpAudit');
    expect(await sessionDecision(policy, session, time)).toBe('Denied');
    expect(await sessionDecision(policy, 'another-session', time)).toBe('Allowed');
    // The message is replaced: who did what and when, the policy written, and no buttons left.
    expect(reply.replace_original).toBe(true);
    expect(reply.blocks!.some((b) => b.type === 'actions')).toBe(false);
    const line = reply.blocks!.find((b) => b.text?.text.includes('<@UAUDIT001>'))!.text!.text;
    expect(line).toMatch(/^:white_check_mark: \*Revoke this session\* by <@UAUDIT001> at \d{4}-.*Z: Revoked session/);
    expect(line).toContain(`${ROLE_ID}:${session}`);
    expect(reply.blocks!.some((b) => b.text?.text.startsWith('*Policy roleguard-revocations*'))).toBe(true);
    const [decision] = (await trail()).filter((d) => d.alertId === alertId);
    expect(decision).toMatchObject<Partial<Decision>>({
      action: 'revoke-session',
      userId: 'UAUDIT001',
      status: 'done',
      roleArn: AUDIT,
      findingKind: 'unexpected-external-id',
      dryRun: false,
    });
    expect(decision!.outcome).toMatch(/^Revoked session/);
    expect(decision!.policy).toEqual({ name: 'roleguard-revocations', document: policy });
  });
});
