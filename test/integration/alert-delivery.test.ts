import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import {
  createOutbox,
  type DeliveryDeps,
  deliverAlert,
  type Outbox,
  respondToFindings,
  slackSender,
  snsSender,
  sweepAlerts,
} from '../../lib/alert/index.js';
import type { Finding } from '../../lib/detect/index.js';
import { maskExternalId } from '../../lib/redact.js';
import type { RegisteredRole } from '../../lib/registry/index.js';
import { createSessionsTable, createTestTables, testDynamo } from '../helpers/dynamo.js';
import { type FakeServer, startFakeServer } from '../helpers/fake-aws.js';
import { memoryLogger } from '../helpers/logger.js';

// Alerts delivered to a real HTTP server on 127.0.0.1 standing in for Slack; SNS through aws-sdk-client-mock.
const RAW_ID = 'tenant-4711-of-example-corp';
const TOPIC = 'arn:aws:sns:us-east-1:111122223333:roleguard-test-alerts';
let doc: DynamoDBDocumentClient;
let outbox: Outbox;
let slack: FakeServer & { statuses: number[] };
const sns = mockClient(SNSClient);
const role: RegisteredRole = {
  roleArn: 'arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit',
  vendor: 'Example Corp',
  trustedAccounts: ['999988887777'],
  externalIds: { current: 'ec-7Hq2vN9xK4pL8mR3', pending: null, retired: [] },
  response: 'alert',
  rotation: null,
};
let counter = 0;

function finding(overrides: Partial<Finding['context']> = {}, eventId = `evt-${++counter}`): Finding {
  return {
    kind: 'unexpected-external-id',
    severity: 'critical',
    roleArn: role.roleArn,
    eventId,
    assumedRoleId: 'AROA3XFRBF23EXAMPLE1:ExampleCorp-scan',
    callerAccountId: '999988887777',
    message: `999988887777 assumed Example Corp's role with an unknown external ID ${maskExternalId(RAW_ID)}`,
    context: {
      recipientAccountId: '111122223333',
      vendor: 'Example Corp',
      at: '2026-11-02T23:47:31Z',
      callerArn: null,
      callerType: 'AWSAccount',
      sourceIpAddress: '198.51.100.77',
      roleSessionName: 'ExampleCorp-scan',
      externalId: maskExternalId(RAW_ID),
      userAgent: null,
      ...overrides,
    },
  };
}

function deps(): DeliveryDeps {
  return {
    outbox,
    senders: {
      slack: slackSender(`${slack.url}/services/T0/B0/secret`),
      sns: snsSender(new SNSClient({ region: 'us-east-1' }), TOPIC),
    },
    logger: memoryLogger().logger,
    policy: { attemptsNow: 3, baseDelayMs: 1, maxAttempts: 4, sleep: async () => undefined },
  };
}

const respond = (f: Finding, now: Date, window = 3600) =>
  respondToFindings([{ finding: f, role }], deps(), {
    now,
    windowSeconds: window,
    channels: ['slack', 'sns'],
    dryRun: false,
  });
const bodies = () =>
  slack.received.map(
    (r) =>
      JSON.parse(r.body) as {
        text: string;
        blocks: { type: string; text?: { text: string }; fields?: { text: string }[] }[];
      },
  );

beforeAll(async () => {
  doc = testDynamo();
  const statuses: number[] = [];
  slack = Object.assign(await startFakeServer(() => ({ status: statuses.shift() ?? 200, body: 'ok' })), { statuses });
});
beforeEach(async () => {
  outbox = createOutbox(doc, (await createTestTables(doc, await createSessionsTable(doc))).alertsTable);
  slack.received.length = 0;
  slack.statuses.length = 0;
  sns.reset();
  sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
});
afterAll(async () => {
  sns.restore();
  doc.destroy();
  await slack.close();
});

describe('alert delivery', () => {
  it('posts one Block Kit message and one filterable SNS message, neither holding the external ID', async () => {
    const { actions } = await respond(finding(), new Date('2026-11-02T23:47:32Z'));
    expect(actions).toEqual([
      expect.objectContaining({ kind: 'alert', applied: true, policyName: null, policyDocument: null }),
    ]);
    expect(slack.received).toHaveLength(1);
    expect(slack.received[0]!.url).toBe('/services/T0/B0/secret');
    const [body] = bodies();
    expect(body!.text).toBe(`CRITICAL: unexpected-external-id on Example Corp's role: ${role.roleArn}`);
    const fields = body!.blocks.flatMap((b) => b.fields ?? []).map((f) => f.text);
    for (const label of ['Role', 'Vendor', 'Caller account', 'Source IP', 'Session name', 'External ID'])
      expect(fields.some((t) => t.startsWith(`*${label}*`))).toBe(true);
    expect(fields).toContain('*Caller account*\n999988887777');
    expect(fields).toContain('*Source IP*\n198.51.100.77');
    const sections = body!.blocks.map((b) => b.text?.text ?? '');
    expect(sections.some((t) => t.startsWith('*What roleguard did*'))).toBe(true);
    expect(sections.some((t) => t.startsWith('*Next step*') && /rotate/i.test(t))).toBe(true);
    const [call] = sns.commandCalls(PublishCommand);
    expect(call!.args[0].input).toMatchObject({
      TopicArn: TOPIC,
      MessageAttributes: {
        kind: { DataType: 'String', StringValue: 'unexpected-external-id' },
        severity: { DataType: 'String', StringValue: 'critical' },
        role: { DataType: 'String', StringValue: role.roleArn },
      },
    });
    expect(JSON.parse(call!.args[0].input.Message!)).toMatchObject({
      source: 'roleguard',
      finding: { kind: 'unexpected-external-id', eventId: expect.any(String) },
    });
    expect(slack.received[0]!.body + call!.args[0].input.Message).not.toContain(RAW_ID);
  });

  it('retries Slack 429 and 500 within the invocation and delivers exactly once', async () => {
    slack.statuses.push(429, 500);
    const { actions } = await respond(finding(), new Date('2026-11-02T23:47:32Z'));
    expect(actions[0]!.applied).toBe(true);
    expect(slack.received).toHaveLength(3);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(1);
  });

  it('retries SNS throttling', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), {
      name: 'Throttling',
      $metadata: { httpStatusCode: 400 },
    });
    sns.reset();
    sns.on(PublishCommand).rejectsOnce(throttled).resolves({ MessageId: 'm-2' });
    const { actions } = await respond(finding(), new Date('2026-11-02T23:47:32Z'));
    expect(actions[0]!.applied).toBe(true);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(2);
  });

  it('leaves what still fails to the sweep, which sends it once, and never re-sends a channel that took it', async () => {
    slack.statuses.push(500, 500, 500);
    const now = new Date('2026-11-02T23:47:32Z');
    const f = finding();
    const { actions } = await respond(f, now);
    expect(actions[0]!.applied).toBe(false);
    expect(slack.received).toHaveLength(3);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(1);
    // Not due yet: the retry is backed off.
    expect(await sweepAlerts(deps(), now)).toEqual({ retried: 0, summaries: 0 });
    const later = new Date(now.getTime() + 60_000);
    expect(await sweepAlerts(deps(), later)).toEqual({ retried: 1, summaries: 0 });
    expect(slack.received).toHaveLength(4);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(1);
    expect(await sweepAlerts(deps(), new Date(later.getTime() + 3600_000))).toEqual({ retried: 0, summaries: 0 });
    expect(slack.received).toHaveLength(4);
  });

  it('does not retry a 400 from Slack now, and gives up after maxAttempts with an error log', async () => {
    slack.statuses.push(...Array(20).fill(400));
    const now = new Date('2026-11-02T23:47:32Z');
    const { logger, lines } = memoryLogger();
    const d = { ...deps(), logger };
    const [f] = [finding()];
    await respondToFindings([{ finding: f, role }], d, {
      now,
      windowSeconds: 3600,
      channels: ['slack'],
      dryRun: false,
    });
    expect(slack.received).toHaveLength(1);
    for (let i = 1; i <= 5; i++) await sweepAlerts(d, new Date(now.getTime() + i * 3600_000));
    expect(slack.received).toHaveLength(4);
    expect(lines.some((l) => /alert delivery failed for good/.test(l))).toBe(true);
    expect(lines.join('\n')).not.toContain('/services/T0/B0/secret');
  });

  it('merges repeats within the window into one alert and sends one summary with the count when it closes', async () => {
    const first = new Date('2026-11-02T23:00:00Z');
    await respond(finding({ at: '2026-11-02T23:00:00Z' }), first);
    await respond(finding({ at: '2026-11-02T23:10:00Z' }), new Date('2026-11-02T23:10:00Z'));
    await respond(finding({ at: '2026-11-02T23:20:00Z' }), new Date('2026-11-02T23:20:00Z'));
    expect(slack.received).toHaveLength(1);
    expect(await sweepAlerts(deps(), new Date('2026-11-02T23:30:00Z'))).toEqual({ retried: 0, summaries: 0 });
    expect(await sweepAlerts(deps(), new Date('2026-11-03T00:00:01Z'))).toEqual({ retried: 0, summaries: 1 });
    expect(slack.received).toHaveLength(2);
    expect(bodies()[1]!.text).toMatch(/repeated 3 times/);
    expect(await sweepAlerts(deps(), new Date('2026-11-03T01:00:00Z'))).toEqual({ retried: 0, summaries: 0 });
    // After the window, the same finding is a new alert.
    await respond(finding({ at: '2026-11-03T00:30:00Z' }), new Date('2026-11-03T00:30:00Z'));
    expect(slack.received).toHaveLength(3);
  });

  it('a redelivered finding alerts once, even when copies arrive together', async () => {
    const f = finding({}, 'evt-same');
    const results = await Promise.all(Array.from({ length: 5 }, () => respond(f, new Date('2026-11-02T23:47:32Z'))));
    expect(results.flatMap((r) => r.actions)).toHaveLength(1);
    expect(results.filter((r) => r.duplicates.size === 1)).toHaveLength(4);
    expect(slack.received).toHaveLength(1);
  });

  it('a dry run records the alert and sends nothing', async () => {
    const f = finding();
    const { actions } = await respondToFindings([{ finding: f, role }], deps(), {
      now: new Date('2026-11-02T23:47:32Z'),
      windowSeconds: 3600,
      channels: ['slack', 'sns'],
      dryRun: true,
    });
    expect(actions).toEqual([expect.objectContaining({ kind: 'alert', applied: false })]);
    expect(slack.received).toHaveLength(0);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
    const stored = await outbox.due(new Date('2026-11-02T23:47:32Z'));
    expect(stored.map((a) => a.finding.eventId)).toContain(f.eventId);
    expect(stored.find((a) => a.finding.eventId === f.eventId)!.action).toMatch(/^Dry run/);
  });

  it('escapes mentions, links and formatting from event fields', async () => {
    await respond(
      finding({
        roleSessionName: '<!channel> *urgent* <https://evil.example|click>\u202egnp.exe',
        callerArn: 'arn:aws:sts::999988887777:assumed-role/x/\u202e<@U123>',
      }),
      new Date('2026-11-02T23:47:32Z'),
    );
    const raw = slack.received[0]!.body;
    expect(raw).not.toContain('<!channel>');
    expect(raw).not.toContain('<https://evil');
    expect(raw).toContain('&lt;!channel&gt;');
    expect(
      JSON.parse(raw).blocks.some((b: { elements?: { text: string }[] }) =>
        (b.elements ?? []).some((e) => JSON.stringify(e).includes('\u202e')),
      ),
    ).toBe(false);
    expect(raw).not.toMatch(/\\u202e|\u202e/);
  });

  it('deliverAlert skips channels already sent', async () => {
    const f = finding();
    const admission = await outbox.admit(
      f,
      { action: 'a', nextStep: 'b' },
      { now: new Date('2026-11-02T23:47:32Z'), windowSeconds: 3600, channels: ['slack', 'sns'] },
    );
    if (admission.status !== 'new') throw new Error('expected a new alert');
    await outbox.markSent(admission.alert.alertId, 'slack');
    await deliverAlert((await outbox.get(admission.alert.alertId))!, deps(), new Date('2026-11-02T23:47:33Z'));
    expect(slack.received).toHaveLength(0);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(1);
  });
});
