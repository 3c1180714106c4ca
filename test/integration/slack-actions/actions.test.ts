import { randomUUID } from 'node:crypto';
import { GetRoleCommand, UpdateAssumeRolePolicyCommand } from '@aws-sdk/client-iam';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { DeleteCommand, type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { slackSender, sweepAlerts } from '../../../lib/alert/index.js';
import type { Config } from '../../../lib/config.js';
import { createDeps, type Deps } from '../../../lib/deps.js';
import { LOCAL_AWS } from '../../../lib/local/dynamodb-local.js';
import { ensureTable } from '../../../lib/local/tables.js';
import { processRecord } from '../../../lib/pipeline.js';
import { createRegistryStore } from '../../../lib/registry/index.js';
import { parseRegistryText } from '../../../lib/registry/text.js';
import { createRevocationStore, intentIdFor } from '../../../lib/revoke/store.js';
import { sessionKey, sharedSessionKey } from '../../../lib/sessions/index.js';
import {
  createDecisionStore,
  DECISION_LEASE_MS,
  DecisionInProgress,
  decisionsTableDefinition,
  slackActionHandler,
  slackActionsHttpHandler,
  slackResponder,
  slackSignature,
} from '../../../lib/slack-actions/index.js';
import { liveActionDeps } from '../../../lib/slack-actions/live.js';
import { lambdaEnqueue, signingSecretReader } from '../../../lib/slack-actions/receiver-live.js';
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
    slackActions: true,
    rotationTopicArn: `arn:aws:sns:us-east-1:${ACCOUNT}:roleguard-test-rotation`,
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
    enabled: true,
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
    ...liveActionDeps(deps, { DECISIONS_TABLE: decisionsTable, SLACK_SIGNING_SECRET_PARAMETER: SECRET_PARAMETER }),
    reply: slackResponder({ allowed: (url) => url.startsWith(responses.url) }),
    responseUrlAllowed: (url) => url.startsWith(responses.url),
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
  const eventId = `ev-${seq}-${randomUUID()}`;
  const record = vendorAssume({ id: eventId, time, session, externalId: `guess-${seq}`, roleArn });
  if (options.denied) {
    Object.assign(record, { errorCode: 'AccessDenied', errorMessage: 'not authorized' });
    delete (record as { responseElements?: unknown }).responseElements;
  }
  const before = webhook.received.length;
  await processRecord(record, deps);
  expect(webhook.received.length).toBe(before + 1);
  const body = JSON.parse(webhook.received.at(-1)!.body) as Reply;
  const actions = body.blocks!.find((b) => b.type === 'actions');
  return { session, time, eventId, body, actions, alertId: actions?.elements?.[0]?.value as string };
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
const buttonsOf = (reply: Reply) =>
  reply.blocks!.filter((b) => b.type === 'actions').flatMap((b) => b.elements!.map((e) => e.action_id));

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
    const { alertId, session, time, eventId } = await raise();
    iam.reset();
    const { result, reply } = await click(alertId, 'revoke-session', 'UAUDIT001');
    // The session of the finding's event, through the automatic path's revoker and its recorded intent.
    const intent = await createRevocationStore(doc, config.revocationsTable!).get(
      intentIdFor('slack', alertId, 'revoke-session'),
    );
    expect(intent).toMatchObject({
      state: 'applied',
      source: { kind: 'finding', eventId, findingKind: 'unexpected-external-id' },
    });
    expect(result.status).toBe('done');
    expect(iam.puts('ExampleCorpAudit')).toBe(1);
    const policy = iam.policy('ExampleCorpAudit');
    expect(await sessionDecision(policy, session, time)).toBe('Denied');
    expect(await sessionDecision(policy, 'another-session', time)).toBe('Allowed');
    // The message is replaced: who did what and when, the policy written, and the buttons of the other actions.
    expect(reply.replace_original).toBe(true);
    expect(buttonsOf(reply)).toEqual(['revoke-role', 'start-rotation', 'acknowledge']);
    const line = reply.blocks!.find((b) => b.text?.text.includes('<@UAUDIT001>'))!.text!.text;
    expect(line).toMatch(/^:white_check_mark: \*Revoke this session\* by <@UAUDIT001> at \d{4}-.*Z: Revoked session/);
    expect(line).toContain(`${ROLE_ID}:${session}`);
    expect(reply.blocks!.some((b) => b.text?.text.startsWith('*Policy roleguard-revocations*'))).toBe(true);
    const [decision] = (await trail()).filter((d) => d.alertId === alertId);
    expect(decision).toMatchObject({
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

describe('a session the session store does not hold', () => {
  it('is revoked through the manual path, by its assumed-role id, on behalf of the clicker', async () => {
    const { alertId, session, eventId } = await raise();
    // Wherever the store keeps it: under the event's own key, or its sharedEventID's (assumeRecord gives it one).
    let deleted = 0;
    for (const pk of [sessionKey(ACCOUNT, eventId), sharedSessionKey(`shared-${eventId}`)]) {
      const gone = await doc.send(
        new DeleteCommand({ TableName: config.sessionsTable, Key: { pk }, ReturnValues: 'ALL_OLD' }),
      );
      if (gone.Attributes) deleted++;
    }
    expect(deleted).toBe(1);
    iam.reset();
    const { result } = await click(alertId, 'revoke-session', 'UAUDIT001');
    expect(result.status).toBe('done');
    const policy = iam.policy('ExampleCorpAudit');
    expect(await sessionDecision(policy, session, new Date(Date.now() - 5000).toISOString())).toBe('Denied');
    expect(await sessionDecision(policy, 'another-session', new Date(Date.now() - 5000).toISOString())).toBe('Allowed');
    const intent = await createRevocationStore(doc, config.revocationsTable!).get(
      intentIdFor('manual', `slack#${alertId}#revoke-session`),
    );
    expect(intent).toMatchObject({ state: 'applied', source: { kind: 'manual', requestedBy: 'slack:UAUDIT001' } });
  });
});

describe('POST /slack/actions: only requests Slack signed, once, within 5 minutes', () => {
  const body = () =>
    clickBody({
      alertId: '0123456789abcdef0123',
      action: 'acknowledge',
      userId: 'UGLOBAL01',
      responseUrl: responses.url,
    });
  const refused = async (reason: string, post: () => Promise<{ status: number; text: string }>) => {
    const invokes = lambda.received.length;
    const lines = log.lines.length;
    const res = await post();
    expect(res).toEqual({ status: 401, text: 'unauthorized' });
    expect(lambda.received.length).toBe(invokes);
    const logged = log.lines.slice(lines).join('\n');
    expect(logged).toContain('Slack request rejected');
    expect(logged).toContain(`"reason":"${reason}"`);
    // Logged without the body.
    expect(logged).not.toContain('block_actions');
    expect(logged).not.toContain('0123456789abcdef0123');
  };

  it('takes a validly signed click and hands it over: the signed body and headers, as Slack sent them', async () => {
    const invokes = lambda.received.length;
    const timestamp = Math.floor(Date.now() / 1000);
    const res = await postSigned(api.url, body(), { secret: SECRET, timestamp });
    expect(res.status).toBe(200);
    expect(JSON.parse(lambda.received[invokes]!.body)).toEqual({
      body: body(),
      timestamp: String(timestamp),
      signature: slackSignature(SECRET, String(timestamp), body()),
      receivedAt: expect.any(String),
    });
  });

  it('refuses a wrong signature', async () => {
    await refused('bad-signature', () => postSigned(api.url, body(), { secret: 'not-the-signing-secret' }));
  });

  it('refuses a request without the signature or the timestamp header', async () => {
    await refused('missing-header', () =>
      postSigned(api.url, body(), { secret: SECRET, headers: { 'x-slack-signature': null } }),
    );
    await refused('missing-header', () =>
      postSigned(api.url, body(), { secret: SECRET, headers: { 'x-slack-request-timestamp': null } }),
    );
  });

  it('refuses a stale (or future) timestamp, even correctly signed (well outside the 5 minutes)', async () => {
    const now = Math.floor(Date.now() / 1000);
    await refused('stale-timestamp', () => postSigned(api.url, body(), { secret: SECRET, timestamp: now - 400 }));
    await refused('stale-timestamp', () => postSigned(api.url, body(), { secret: SECRET, timestamp: now + 400 }));
  });

  it('refuses a replayed request: the same signed body sent again within the window', async () => {
    const timestamp = Math.floor(Date.now() / 1000) - 2;
    const invokes = lambda.received.length;
    expect((await postSigned(api.url, body(), { secret: SECRET, timestamp })).status).toBe(200);
    await refused('replayed', () => postSigned(api.url, body(), { secret: SECRET, timestamp }));
    expect(lambda.received.length).toBe(invokes + 1);
  });

  it('refuses a body altered after signing', async () => {
    const altered = body().replace('0123456789abcdef0123', 'fedcba9876543210fedc');
    await refused('bad-signature', () => postSigned(api.url, body(), { secret: SECRET, sendBody: altered }));
  });

  it('answers 404 to everything, signed or not, while Slack actions are turned off', async () => {
    const off = await startApi(
      slackActionsHttpHandler({
        enabled: false,
        signingSecret: signingSecretReader(SECRET_PARAMETER),
        decisions: createDecisionStore(doc, decisionsTable),
        enqueue: lambdaEnqueue(new LambdaClient({}), WORKER),
        logger: log.logger,
        now: () => new Date(),
      }) as never,
    );
    try {
      const invokes = lambda.received.length;
      expect(await postSigned(off.url, body(), { secret: SECRET })).toEqual({ status: 404, text: 'not found' });
      expect(lambda.received.length).toBe(invokes);
    } finally {
      await off.close();
    }
  });

  it('answers 400 to a signed post that is not a button click', async () => {
    const res = await postSigned(api.url, 'payload=%7B%22type%22%3A%22view_submission%22%7D', { secret: SECRET });
    expect(res.status).toBe(400);
  });
});

describe('who may act, and on what', () => {
  const expectRefused = async (reply: Reply, why: RegExp) => {
    expect(reply).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    expect(reply.text).toMatch(why);
  };

  it('refuses a user who is not an approver, in the message, and logs and records it', async () => {
    const { alertId } = await raise();
    iam.reset();
    const lines = log.lines.length;
    const { result, reply } = await click(alertId, 'revoke-role', 'UNOBODY01');
    expect(result.status).toBe('refused');
    await expectRefused(reply, /you are not an approver for .*ExampleCorpAudit/);
    expect(iam.puts()).toBe(0);
    expect(log.lines.slice(lines).join('\n')).toMatch(/Slack action refused.*UNOBODY01/);
    expect((await trail()).find((d) => d.alertId === alertId)).toMatchObject({
      userId: 'UNOBODY01',
      status: 'refused',
    });
  });

  it("refuses an approver of another role only; a global approver may act on any role's finding", async () => {
    const { alertId } = await raise();
    iam.reset();
    await expectRefused((await click(alertId, 'revoke-role', 'UOTHER001')).reply, /not an approver/);
    expect(iam.puts()).toBe(0);
    const { result, reply } = await click(alertId, 'revoke-role', 'UGLOBAL01');
    expect(result.status).toBe('done');
    expect(reply.blocks!.some((b) => b.text?.text.includes('*Revoke all sessions of the role* by <@UGLOBAL01>'))).toBe(
      true,
    );
    // Every session issued before the decision is denied, none issued after it.
    const policy = iam.policy('ExampleCorpAudit');
    expect(await sessionDecision(policy, 'any-session', '2026-01-01T00:00:00Z')).toBe('Denied');
    expect(await sessionDecision(policy, 'any-session', new Date(Date.now() + 60_000).toISOString())).toBe('Allowed');
  });

  it('acts once on a double click: the second click is told who already did it', async () => {
    const { alertId } = await raise();
    iam.reset();
    const now = Math.floor(Date.now() / 1000);
    const first = await click(alertId, 'revoke-session', 'UAUDIT001', now);
    const second = await click(alertId, 'revoke-session', 'UGLOBAL01', now - 1);
    expect(first.result.status).toBe('done');
    expect(second.result).toEqual(first.result);
    expect(second.reply).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    expect(second.reply.text).toMatch(/^Already decided by <@UAUDIT001> at .* \(done\): Revoked session/);
    expect(iam.puts()).toBe(1);
    expect((await trail()).filter((d) => d.alertId === alertId)).toHaveLength(1);
  });

  it('a run left started by a crash: a retry within the lease is thrown (Lambda tries again), one after it acts', async () => {
    const { alertId } = await raise();
    iam.reset();
    // The claim a crashed run left behind, 30 seconds ago.
    const claim = (at: Date) =>
      doc.send(
        new PutCommand({
          TableName: decisionsTable,
          Item: {
            pk: `decision#${alertId}#revoke-role`,
            trail: 'decision',
            alertId,
            action: 'revoke-role',
            userId: 'UAUDIT001',
            userName: null,
            at: at.toISOString(),
            status: 'started',
            outcome: 'in progress',
          },
        }),
      );
    await claim(new Date(Date.now() - 30_000));
    const timestamp = Math.floor(Date.now() / 1000) - 5;
    const body = clickBody({ alertId, action: 'revoke-role', userId: 'UAUDIT001', responseUrl: responses.url });
    const invokes = lambda.received.length;
    expect((await postSigned(api.url, body, { secret: SECRET, timestamp })).status).toBe(200);
    const handover = JSON.parse(lambda.received[invokes]!.body);
    const replies = responses.received.length;
    await expect(worker(handover, context as never)).rejects.toThrow(DecisionInProgress);
    expect(responses.received.length).toBe(replies);
    expect(iam.puts()).toBe(0);
    // Lambda's retry of the same invoke, once the lease has run out: the claim is taken back and the action done.
    await claim(new Date(Date.now() - DECISION_LEASE_MS - 1000));
    const result = (await worker(handover, context as never)) as { status: string };
    expect(result.status).toBe('done');
    expect(iam.puts('ExampleCorpAudit')).toBe(1);
    expect((await trail()).find((d) => d.alertId === alertId)).toMatchObject({ status: 'done', userId: 'UAUDIT001' });
  });

  it('does nothing for a forged finding id', async () => {
    iam.reset();
    const { result, reply } = await click('deadbeefdeadbeefdead', 'revoke-role', 'UGLOBAL01');
    expect(result.status).toBe('refused');
    await expectRefused(reply, /roleguard has no finding deadbeefdeadbeefdead/);
    expect(iam.puts()).toBe(0);
  });

  it('does nothing the finding does not call for: no session to revoke on a denied assume', async () => {
    const { actions, alertId } = await raise(AUDIT, { denied: true });
    expect(actions!.elements!.map((e) => e.action_id)).toEqual(['acknowledge']);
    iam.reset();
    await expectRefused((await click(alertId, 'revoke-session', 'UGLOBAL01')).reply, /does not call for it/);
    await expectRefused((await click(alertId, 'revoke-role', 'UGLOBAL01')).reply, /does not call for it/);
    expect(iam.puts()).toBe(0);
  });

  it('never acts on a protected role', async () => {
    const { alertId } = await raise(GLASS);
    iam.reset();
    for (const action of ['revoke-session', 'revoke-role', 'start-rotation']) {
      const { result, reply } = await click(alertId, action, 'UGLOBAL01');
      expect(result.status).toBe('refused');
      await expectRefused(
        reply,
        /BreakGlass is protected \(it is listed in protectedRoleArns\); roleguard never acts on it/,
      );
    }
    expect(iam.mock.calls().filter((c) => /Put|Update|Delete/.test(c.args[0].constructor.name))).toHaveLength(0);
  });

  it("respects the role's dry run: the policy is shown, nothing is written", async () => {
    const { alertId } = await raise(TRIAL);
    iam.reset();
    const { result, reply } = await click(alertId, 'revoke-role', 'UGLOBAL01');
    expect(result.status).toBe('done');
    expect(iam.puts()).toBe(0);
    const line = reply.blocks!.find((b) => b.text?.text.includes('<@UGLOBAL01>'))!.text!.text;
    expect(line).toContain('Dry run: would revoke every session of the role');
    const shown = reply.blocks!.find((b) => b.text?.text.startsWith('*Policy roleguard-revocations*'))!.text!.text;
    const document = JSON.parse(
      shown.slice(shown.indexOf('```') + 3, shown.lastIndexOf('```')).replace(/&quot;/g, '"'),
    );
    expect(await sessionDecision(document, 'any-session', '2026-01-01T00:00:00Z')).toBe('Denied');
    expect((await trail()).find((d) => d.alertId === alertId)).toMatchObject({ status: 'done', dryRun: true });
  });
});

describe('acknowledge and rotation', () => {
  it('acknowledging stops the repeat summary of the finding', async () => {
    const { alertId } = await raise();
    const { result, reply } = await click(alertId, 'acknowledge', 'UAUDIT001');
    expect(result.status).toBe('done');
    expect(reply.blocks!.some((b) => b.text?.text.includes('Acknowledged: no more repeat summaries'))).toBe(true);
    // A repeat within the merge window: the same caller, external ID and kind.
    const alert = await deps.alerts.outbox.get(alertId);
    const repeat = vendorAssume({
      id: `ev-repeat-${randomUUID()}`,
      time: new Date(Math.floor(Date.now() / 1000) * 1000 - 30_000).toISOString().replace(/\.\d+Z$/, 'Z'),
      session: 'scan-repeat',
      externalId: `guess-${seq}`,
    });
    const posts = webhook.received.length;
    await processRecord(repeat, deps);
    expect((await deps.alerts.outbox.get(alertId))!.count).toBe(2);
    const after = new Date(Date.parse(alert!.windowEndsAt) + 1000);
    expect((await sweepAlerts(deps.alerts, after)).summaries).toBe(0);
    expect(webhook.received.length).toBe(posts);
    expect((await deps.alerts.outbox.due(after)).map((a) => a.alertId)).not.toContain(alertId);
  });

  it('a decision removes only the buttons of the actions decided on the alert, not the others', async () => {
    const { alertId } = await raise();
    iam.reset();
    const acknowledged = await click(alertId, 'acknowledge', 'UAUDIT001');
    expect(buttonsOf(acknowledged.reply)).toEqual(['revoke-session', 'revoke-role', 'start-rotation']);
    const revoked = await click(alertId, 'revoke-role', 'UAUDIT001');
    expect(revoked.result.status).toBe('done');
    expect(buttonsOf(revoked.reply)).toEqual(['revoke-session', 'start-rotation']);
  });

  it('a reply Slack does not take, once the decision is recorded, is logged and not thrown', async () => {
    const { alertId } = await raise();
    const unreachable = slackActionHandler({
      ...liveActionDeps(deps, { DECISIONS_TABLE: decisionsTable, SLACK_SIGNING_SECRET_PARAMETER: SECRET_PARAMETER }),
      reply: async () => {
        throw new Error("Slack's response_url answered HTTP 404");
      },
      responseUrlAllowed: (url) => url.startsWith(responses.url),
      logger: log.logger,
    });
    const handOver = async (userId: string, seconds: number) => {
      const body = clickBody({ alertId, action: 'acknowledge', userId, responseUrl: responses.url });
      const invokes = lambda.received.length;
      const timestamp = Math.floor(Date.now() / 1000) - seconds;
      expect((await postSigned(api.url, body, { secret: SECRET, timestamp })).status).toBe(200);
      return JSON.parse(lambda.received[invokes]!.body);
    };
    const lines = log.lines.length;
    // Done, refused, and already decided: each recorded, each reply failure logged.
    expect(await unreachable(await handOver('UAUDIT001', 6), context as never)).toMatchObject({ status: 'done' });
    expect(await unreachable(await handOver('UNOBODY01', 7), context as never)).toMatchObject({ status: 'refused' });
    expect(await unreachable(await handOver('UGLOBAL01', 8), context as never)).toMatchObject({ status: 'done' });
    const logged = log.lines.slice(lines).filter((l) => l.includes('Cannot update the Slack message'));
    expect(logged).toHaveLength(3);
    expect(logged.join('\n')).toContain('answered HTTP 404');
    expect((await trail()).filter((d) => d.alertId === alertId).map((d) => d.status)).toEqual(
      expect.arrayContaining(['done', 'refused']),
    );
  });

  it('starts a rotation through the rotation state machine', async () => {
    const { alertId } = await raise();
    iam.reset();
    const written: string[] = [];
    iam.mock.on(GetRoleCommand).resolves({
      Role: {
        RoleName: 'ExampleCorpAudit',
        RoleId: ROLE_ID,
        Arn: AUDIT,
        Path: '/vendors/',
        CreateDate: new Date(),
        AssumeRolePolicyDocument: encodeURIComponent(JSON.stringify(vendorTrustPolicy())),
      },
    });
    iam.mock.on(UpdateAssumeRolePolicyCommand).callsFake(async (input: { PolicyDocument: string }) => {
      written.push(input.PolicyDocument);
      return {};
    });
    const { result, reply } = await click(alertId, 'start-rotation', 'UAUDIT001');
    expect(result.status).toBe('done');
    expect(reply.blocks!.find((b) => b.text?.text.includes('<@UAUDIT001>'))!.text!.text).toMatch(
      /Rotation started \(phase \w+; steps: create, set/,
    );
    // The trust policy now accepts both the current ID and a new one.
    const ids = (JSON.parse(written[0]!) as { Statement: { Condition?: { StringEquals: Record<string, string[]> } }[] })
      .Statement[1]!.Condition!.StringEquals['sts:ExternalId'];
    expect(ids).toHaveLength(2);
    expect(ids).toContain('ec-7Hq2vN9xK4pL8mR3');
  });
});

describe('the action function trusts only what Slack signed and the receiver took', () => {
  /** Invoke the action function directly, as any principal allowed to invoke it could, and see what it did. */
  const invokeDirectly = async (event: unknown) => {
    const before = { replies: responses.received.length, trail: (await trail()).length, lines: log.lines.length };
    iam.reset();
    const result = await worker(event, context as never);
    expect(iam.puts()).toBe(0);
    expect(responses.received.length).toBe(before.replies);
    expect((await trail()).length).toBe(before.trail);
    return { result, logged: log.lines.slice(before.lines).join('\n') };
  };
  const forged = (alertId: string, userId: string, responseUrl = `${responses.url}/actions/forged`) => {
    const body = clickBody({ alertId, action: 'revoke-role', userId, responseUrl });
    const timestamp = String(Math.floor(Date.now() / 1000));
    return { body, timestamp, receivedAt: new Date().toISOString() };
  };

  it("refuses a forged approver's click: a body signed with another secret, or an old-style unsigned event", async () => {
    const { alertId } = await raise();
    const event = forged(alertId, 'UGLOBAL01');
    const { result, logged } = await invokeDirectly({
      ...event,
      signature: slackSignature('not-the-signing-secret', event.timestamp, event.body),
    });
    expect(result).toEqual({ decisionId: null, status: 'refused' });
    expect(logged).toContain('Slack action request refused');
    expect(logged).toContain('"reason":"bad-signature"');
    expect(logged).not.toContain('block_actions');
    // The fields the worker used to take as given: refused, nothing done.
    await expect(
      worker(
        {
          alertId,
          action: 'revoke-role',
          userId: 'UGLOBAL01',
          userName: null,
          responseUrl: `${responses.url}/actions/forged`,
          receivedAt: new Date().toISOString(),
        },
        context as never,
      ),
    ).rejects.toThrow(/not a Slack action request/);
    expect(iam.puts()).toBe(0);
  });

  it('refuses a validly signed body the receiver never took (no request nonce), and an approver swapped in after signing', async () => {
    const { alertId } = await raise();
    const event = forged(alertId, 'UGLOBAL01');
    const signature = slackSignature(SECRET, event.timestamp, event.body);
    const unseen = await invokeDirectly({ ...event, signature });
    expect(unseen.result).toEqual({ decisionId: null, status: 'refused' });
    expect(unseen.logged).toContain('"reason":"not-received"');
    // A click the receiver did take, by someone else, with the approver's id swapped into the body.
    const timestamp = Math.floor(Date.now() / 1000) - 3;
    const mine = clickBody({ alertId, action: 'revoke-role', userId: 'UNOBODY01', responseUrl: responses.url });
    const invokes = lambda.received.length;
    expect((await postSigned(api.url, mine, { secret: SECRET, timestamp })).status).toBe(200);
    const handedOver = JSON.parse(lambda.received[invokes]!.body) as { body: string };
    const swapped = await invokeDirectly({ ...handedOver, body: handedOver.body.replace('UNOBODY01', 'UGLOBAL01') });
    expect(swapped.result).toEqual({ decisionId: null, status: 'refused' });
    expect(swapped.logged).toContain('"reason":"bad-signature"');
  });

  it("refuses a signed click whose response_url is not Slack's before acting", async () => {
    const { alertId } = await raise();
    const timestamp = Math.floor(Date.now() / 1000) - 4;
    const body = clickBody({ alertId, action: 'revoke-role', userId: 'UGLOBAL01', responseUrl: 'https://evil.test/x' });
    const invokes = lambda.received.length;
    expect((await postSigned(api.url, body, { secret: SECRET, timestamp })).status).toBe(200);
    const { result, logged } = await invokeDirectly(JSON.parse(lambda.received[invokes]!.body));
    expect(result).toEqual({ decisionId: null, status: 'refused' });
    expect(logged).toContain('response_url is not a Slack URL');
  });
});
