import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import {
  type Channel,
  createOutbox,
  type DeliveryDeps,
  deliverAlert,
  type Outbox,
  type StoredAlert,
  sendWithRetry,
  slackSender,
  snsSender,
  sweepAlerts,
} from '../../../lib/alert/index.js';
import type { Finding } from '../../../lib/detect/index.js';
import { dueShardOf } from '../../../lib/dynamo/due-table.js';
import { createSessionsTable, createTestTables, testDynamo } from '../../helpers/dynamo.js';
import { memoryLogger } from '../../helpers/logger.js';
import { makeAlert, makeFinding, RAW_EXTERNAL_ID, ROLE_ARN } from '../../unit/alert/fixtures.js';
import { alertItem, type FakeSlack, instantPolicy, startSlack } from './support.js';

// Delivery to a real HTTP server on 127.0.0.1 standing in for the Slack webhook, and to SNS through
// aws-sdk-client-mock; the outbox on DynamoDB Local. The retry policy never really waits.
const TOPIC = 'arn:aws:sns:us-east-1:111122223333:alerts';
const WEBHOOK_PATH = '/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX';
const NOW = new Date('2026-11-02T23:47:32Z');
const later = (ms: number) => new Date(NOW.getTime() + ms);

let doc: DynamoDBDocumentClient;
let table: string;
let outbox: Outbox;
let slack: FakeSlack;
const sns = mockClient(SNSClient);

function setup(overrides: Partial<Parameters<typeof instantPolicy>[0]> = {}) {
  const { logger, lines } = memoryLogger();
  const policy = instantPolicy(overrides);
  const deps: DeliveryDeps = {
    outbox,
    senders: {
      slack: slackSender(`${slack.url}${WEBHOOK_PATH}`),
      sns: snsSender(new SNSClient({ region: 'us-east-1' }), TOPIC),
    },
    logger,
    policy,
  };
  return { deps, lines, policy };
}

async function admit(channels: Channel[], finding: Finding = makeFinding(), now = NOW): Promise<StoredAlert> {
  const admission = await outbox.admit(
    finding,
    { action: "Alerted only: this role's response is alert.", nextStep: 'Rotate the external ID.' },
    { now, windowSeconds: 3600, channels },
  );
  if (admission.status !== 'new') throw new Error(`expected a new alert, got ${admission.status}`);
  return admission.alert;
}

const throttled = (name: string) =>
  Object.assign(new Error('Rate exceeded'), { name, $metadata: { httpStatusCode: 400 } });
const publishes = () => sns.commandCalls(PublishCommand).map((c) => c.args[0].input);
const dueIds = async (at: Date) => (await outbox.due(at)).map((a) => a.alertId);

beforeAll(async () => {
  doc = testDynamo();
  slack = await startSlack();
});
beforeEach(async () => {
  table = (await createTestTables(doc, await createSessionsTable(doc))).alertsTable;
  outbox = createOutbox(doc, table);
  slack.reset();
  sns.reset();
  sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
});
afterAll(async () => {
  sns.restore();
  doc.destroy();
  await slack.close();
});

describe('Slack webhook delivery', () => {
  it('200: posts the Block Kit payload once and settles the alert as delivered', async () => {
    const { deps: plain, policy } = setup();
    // With the Slack app set up (the slackActions param): the buttons are drawn.
    const deps = { ...plain, slackButtons: true };
    const alert = await admit(['slack']);
    expect(await deliverAlert(alert, deps, NOW)).toEqual({ delivered: true });
    expect(slack.received).toHaveLength(1);
    const [request] = slack.received;
    expect(request).toMatchObject({ method: 'POST', url: WEBHOOK_PATH, contentType: 'application/json' });
    const [body] = slack.bodies();
    expect(body!.text).toBe(`CRITICAL: unexpected-external-id on Example Corp's role: ${ROLE_ARN}`);
    expect(body!.blocks.map((b) => b.type)).toEqual([
      'header',
      'section',
      'section',
      'section',
      'section',
      'actions',
      'context',
    ]);
    const fields = body!.blocks.flatMap((b) => b.fields ?? []).map((f) => f.text);
    expect(fields).toEqual(
      expect.arrayContaining([
        `*Role*\n${ROLE_ARN}`,
        '*Vendor*\nExample Corp',
        '*Caller account*\n999988887777',
        '*Source IP*\n198.51.100.77',
        '*Session name*\nExampleCorp-scan-1730538904',
      ]),
    );
    const sections = body!.blocks.map((b) => b.text?.text ?? '');
    expect(sections).toContain("*What roleguard did*\nAlerted only: this role's response is alert.");
    expect(sections).toContain('*Next step*\nRotate the external ID.');
    expect(request!.body).not.toContain(RAW_EXTERNAL_ID);
    expect(policy.waits).toEqual([]);
    expect(await outbox.get(alert.alertId)).toMatchObject({
      state: 'delivered',
      attempts: 1,
      channels: { slack: 'sent', sns: 'skipped' },
    });
    expect(await dueIds(later(86400_000))).toEqual([]);
    // Nothing left for the sweep.
    expect(await sweepAlerts(deps, later(86400_000))).toEqual({ retried: 0, summaries: 0 });
    expect(slack.received).toHaveLength(1);
  });

  it('429 then 200: retried after a backoff and delivered exactly once', async () => {
    const { deps, policy } = setup();
    slack.statuses.push(429);
    const alert = await admit(['slack']);
    expect(await deliverAlert(alert, deps, NOW)).toEqual({ delivered: true });
    expect(slack.received).toHaveLength(2);
    expect(slack.received[1]!.body).toBe(slack.received[0]!.body);
    expect(policy.waits).toEqual([250]);
    expect(await outbox.get(alert.alertId)).toMatchObject({ state: 'delivered', channels: { slack: 'sent' } });
  });

  it('500 three times: not delivered now; left due with a backoff; the sweep delivers it once when Slack is back', async () => {
    const { deps, policy, lines } = setup();
    slack.statuses.push(500, 500, 500);
    const alert = await admit(['slack']);
    expect(await deliverAlert(alert, deps, NOW)).toEqual({ delivered: false });
    expect(slack.received).toHaveLength(3);
    expect(policy.waits).toEqual([250, 1000]);
    expect(await outbox.get(alert.alertId)).toMatchObject({
      state: 'pending',
      attempts: 1,
      channels: { slack: 'pending' },
    });
    const item = await alertItem(doc, table, alert.alertId);
    expect(item).toMatchObject({ dueShard: dueShardOf(`alert#${alert.alertId}`) });
    expect(Date.parse(String(item!.dueAt))).toBe(NOW.getTime() + 30_000);
    expect(lines.some((l) => l.includes('alert delivery failed; the sweep will retry it'))).toBe(true);
    expect(lines.join('\n')).not.toContain(WEBHOOK_PATH);

    // Not due yet: the sweep leaves it alone.
    expect(await sweepAlerts(deps, later(29_000))).toEqual({ retried: 0, summaries: 0 });
    expect(slack.received).toHaveLength(3);
    // Due, and Slack is healthy again.
    expect(await sweepAlerts(deps, later(30_000))).toEqual({ retried: 1, summaries: 0 });
    expect(slack.received).toHaveLength(4);
    expect(slack.received[3]!.body).toBe(slack.received[0]!.body);
    expect(await outbox.get(alert.alertId)).toMatchObject({
      state: 'delivered',
      attempts: 2,
      channels: { slack: 'sent' },
    });
    expect(await dueIds(later(86400_000))).toEqual([]);
    expect(await sweepAlerts(deps, later(86400_000))).toEqual({ retried: 0, summaries: 0 });
    expect(slack.received).toHaveLength(4);
  });

  it('400 is not retried now; the sweep tries again, and after maxAttempts it is failed for good and logged', async () => {
    const { deps, policy, lines } = setup({ maxAttempts: 3 });
    slack.statuses.push(...Array<number>(10).fill(400));
    const alert = await admit(['slack']);
    expect(await deliverAlert(alert, deps, NOW)).toEqual({ delivered: false });
    expect(slack.received).toHaveLength(1);
    expect(policy.waits).toEqual([]);
    expect(await outbox.get(alert.alertId)).toMatchObject({ state: 'pending', attempts: 1 });
    // Backoff: 30 s, then 60 s.
    expect(await sweepAlerts(deps, later(30_000))).toEqual({ retried: 1, summaries: 0 });
    expect(await sweepAlerts(deps, later(60_000))).toEqual({ retried: 0, summaries: 0 });
    expect(await sweepAlerts(deps, later(90_000))).toEqual({ retried: 1, summaries: 0 });
    expect(slack.received).toHaveLength(3);
    expect(await outbox.get(alert.alertId)).toMatchObject({ state: 'failed', attempts: 3 });
    expect(lines.some((l) => l.includes('alert delivery failed for good'))).toBe(true);
    expect(await dueIds(later(86400_000))).toEqual([]);
    expect(await sweepAlerts(deps, later(86400_000))).toEqual({ retried: 0, summaries: 0 });
    expect(slack.received).toHaveLength(3);
    expect(lines.join('\n')).not.toContain(WEBHOOK_PATH);
  });

  it('a network failure (nothing listening) is retried like a 5xx', async () => {
    const { deps, policy } = setup();
    const dead = await startSlack();
    const url = dead.url;
    await dead.close();
    const alert = makeAlert();
    await expect(
      sendWithRetry('slack', alert, { ...deps, senders: { slack: slackSender(`${url}${WEBHOOK_PATH}`) } }),
    ).rejects.toThrow(/request error/);
    expect(policy.waits).toEqual([250, 1000]);
  });

  it('refuses a webhook that is not a URL, without echoing it', () => {
    expect(() => slackSender('not a url')).toThrow('the Slack webhook secret is not a URL');
    let message = '';
    try {
      slackSender('hooks.slack.com/services/T0/B0/secret');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe('the Slack webhook secret is not a URL');
  });
});

describe('SNS delivery', () => {
  it('publishes to the topic with a JSON message and filterable attributes', async () => {
    const { deps } = setup();
    const finding = makeFinding();
    const alert = await admit(['sns'], finding);
    expect(await deliverAlert(alert, deps, NOW)).toEqual({ delivered: true });
    const [input] = publishes();
    expect(publishes()).toHaveLength(1);
    expect(input).toMatchObject({
      TopicArn: TOPIC,
      Subject: 'roleguard critical: unexpected-external-id on Example Corp',
      MessageAttributes: {
        kind: { DataType: 'String', StringValue: 'unexpected-external-id' },
        severity: { DataType: 'String', StringValue: 'critical' },
        role: { DataType: 'String', StringValue: ROLE_ARN },
      },
    });
    expect(JSON.parse(input!.Message!)).toMatchObject({
      source: 'roleguard',
      alertId: alert.alertId,
      repeatSummary: false,
      count: 1,
      finding: { kind: 'unexpected-external-id', eventId: finding.eventId, roleArn: ROLE_ARN },
      context: { vendor: 'Example Corp' },
    });
    expect(JSON.stringify(input)).not.toContain(RAW_EXTERNAL_ID);
    expect(slack.received).toHaveLength(0);
    expect(await outbox.get(alert.alertId)).toMatchObject({
      state: 'delivered',
      channels: { slack: 'skipped', sns: 'sent' },
    });
  });

  it.each([
    'Throttling',
    'ThrottlingException',
    'TooManyRequestsException',
    'ThrottledException',
    'RequestLimitExceeded',
  ])('retries SNS throttling (%s, HTTP 400) and publishes once', async (name) => {
    const { deps, policy } = setup();
    sns.reset();
    sns.on(PublishCommand).rejectsOnce(throttled(name)).resolves({ MessageId: 'm-2' });
    const alert = await admit(['sns']);
    expect(await deliverAlert(alert, deps, NOW)).toEqual({ delivered: true });
    expect(publishes()).toHaveLength(2);
    expect(policy.waits).toEqual([250]);
    expect((await outbox.get(alert.alertId))!.channels.sns).toBe('sent');
  });

  it('does not retry a 400 that is not throttling now', async () => {
    const { deps, policy } = setup();
    sns.reset();
    sns.on(PublishCommand).rejects(
      Object.assign(new Error('Invalid parameter: Message'), {
        name: 'InvalidParameterException',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    const alert = await admit(['sns']);
    expect(await deliverAlert(alert, deps, NOW)).toEqual({ delivered: false });
    expect(publishes()).toHaveLength(1);
    expect(policy.waits).toEqual([]);
  });

  it('retries a 5xx from SNS', async () => {
    const { deps } = setup();
    sns.reset();
    sns
      .on(PublishCommand)
      .rejectsOnce(
        Object.assign(new Error('Internal error'), {
          name: 'InternalErrorException',
          $metadata: { httpStatusCode: 500 },
        }),
      )
      .resolves({ MessageId: 'm-3' });
    expect(await deliverAlert(await admit(['sns']), deps, NOW)).toEqual({ delivered: true });
    expect(publishes()).toHaveLength(2);
  });
});

describe('several channels', () => {
  it('Slack took it and SNS failed: the sweep sends SNS only, and Slack gets exactly one request in all', async () => {
    const { deps } = setup();
    sns.reset();
    sns.on(PublishCommand).rejects(throttled('Throttling'));
    const alert = await admit(['slack', 'sns']);
    expect(await deliverAlert(alert, deps, NOW)).toEqual({ delivered: false });
    expect(slack.received).toHaveLength(1);
    expect(publishes()).toHaveLength(3);
    expect(await outbox.get(alert.alertId)).toMatchObject({
      state: 'pending',
      attempts: 1,
      channels: { slack: 'sent', sns: 'pending' },
    });

    // Still throttled at the first sweep.
    expect(await sweepAlerts(deps, later(30_000))).toEqual({ retried: 1, summaries: 0 });
    expect(publishes()).toHaveLength(6);
    expect(slack.received).toHaveLength(1);
    expect(await outbox.get(alert.alertId)).toMatchObject({ state: 'pending', attempts: 2 });

    // SNS recovers.
    sns.reset();
    sns.on(PublishCommand).resolves({ MessageId: 'm-4' });
    expect(await sweepAlerts(deps, later(90_000))).toEqual({ retried: 1, summaries: 0 });
    expect(publishes()).toHaveLength(1);
    expect(slack.received).toHaveLength(1);
    expect(await outbox.get(alert.alertId)).toMatchObject({
      state: 'delivered',
      channels: { slack: 'sent', sns: 'sent' },
    });
    expect(await sweepAlerts(deps, later(86400_000))).toEqual({ retried: 0, summaries: 0 });
    expect(slack.received).toHaveLength(1);
    expect(publishes()).toHaveLength(1);
  });

  it('Slack down and SNS fine: SNS is published once, Slack is sent by the sweep', async () => {
    const { deps } = setup();
    slack.statuses.push(503, 503, 503);
    const alert = await admit(['slack', 'sns']);
    expect(await deliverAlert(alert, deps, NOW)).toEqual({ delivered: false });
    expect(await sweepAlerts(deps, later(30_000))).toEqual({ retried: 1, summaries: 0 });
    expect(slack.received).toHaveLength(4);
    expect(publishes()).toHaveLength(1);
    expect(await outbox.get(alert.alertId)).toMatchObject({
      state: 'delivered',
      channels: { slack: 'sent', sns: 'sent' },
    });
  });
});
