import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { type DynamoDBDocumentClient, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import {
  type Channel,
  createOutbox,
  type DeliveryDeps,
  type Outbox,
  respondToFindings,
  type StoredAlert,
  slackSender,
  snsSender,
  sweepAlerts,
} from '../../../lib/alert/index.js';
import type { Finding } from '../../../lib/detect/index.js';
import { createSessionsTable, createTestTables, testDynamo } from '../../helpers/dynamo.js';
import { memoryLogger } from '../../helpers/logger.js';
import { makeFinding, ROLE } from '../../unit/alert/fixtures.js';
import { type FakeSlack, instantPolicy, startSlack } from './support.js';

// respondToFindings and the sweep end to end: the outbox on DynamoDB Local, Slack on a real local HTTP server,
// SNS through aws-sdk-client-mock. The window is an hour from T0.
const TOPIC = 'arn:aws:sns:us-east-1:111122223333:alerts';
const WINDOW = 3600;
const T0 = new Date('2026-11-02T23:00:00Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const WINDOW_END = at(WINDOW);

let doc: DynamoDBDocumentClient;
let table: string;
let outbox: Outbox;
let slack: FakeSlack;
const sns = mockClient(SNSClient);

function setup(options: { doc?: DynamoDBDocumentClient; maxAttempts?: number } = {}) {
  const { logger, lines } = memoryLogger();
  const deps: DeliveryDeps = {
    outbox: options.doc ? createOutbox(options.doc, table) : outbox,
    senders: {
      slack: slackSender(`${slack.url}/services/T0/B0/secret`),
      sns: snsSender(new SNSClient({ region: 'us-east-1' }), TOPIC),
    },
    logger,
    policy: instantPolicy(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
  };
  return { deps, lines };
}

/** A repeat of the same finding (same kind, role, caller and external ID) from another event at `seconds`. */
const repeatAt = (seconds: number, overrides: Partial<Finding['context']> = {}) =>
  makeFinding({ context: { at: at(seconds).toISOString().replace('.000', ''), ...overrides } });

function respond(
  deps: DeliveryDeps,
  finding: Finding,
  now: Date,
  options: { dryRun?: boolean; channels?: Channel[] } = {},
) {
  return respondToFindings([{ finding, role: ROLE }], deps, {
    now,
    windowSeconds: WINDOW,
    channels: options.channels ?? ['slack', 'sns'],
    dryRun: options.dryRun ?? false,
  });
}

const publishes = () => sns.commandCalls(PublishCommand).map((c) => c.args[0].input);
const snsBodies = () =>
  publishes().map((p) => JSON.parse(p.Message!) as { repeatSummary: boolean; count: number; lastAt: string });

/** Every alert in the table. */
async function storedAlerts(): Promise<StoredAlert[]> {
  const items = (await doc.send(new ScanCommand({ TableName: table, ConsistentRead: true }))).Items ?? [];
  return items.filter((i) => String(i.pk).startsWith('alert#')).map((i) => i.alert as StoredAlert);
}

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

describe('respondToFindings', () => {
  it('sends a new finding at once and reports one applied alert action; a repeat adds none; a redelivery is a duplicate', async () => {
    const { deps } = setup();
    const first = repeatAt(0);
    const one = await respond(deps, first, T0);
    expect(one.actions).toEqual([
      {
        kind: 'alert',
        roleArn: ROLE.roleArn,
        eventId: first.eventId,
        at: T0.toISOString(),
        policyName: null,
        policyDocument: null,
        applied: true,
      },
    ]);
    expect(one.duplicates.size).toBe(0);
    const two = await respond(deps, repeatAt(60), at(60));
    expect(two).toEqual({ actions: [], duplicates: new Set() });
    const again = await respond(deps, first, at(90));
    expect(again.actions).toEqual([]);
    expect([...again.duplicates]).toEqual([first]);
    expect(slack.received).toHaveLength(1);
    expect(publishes()).toHaveLength(1);
    expect(
      slack
        .bodies()[0]!
        .blocks.some((b) => b.text?.text === "*What roleguard did*\nAlerted only: this role's response is alert."),
    ).toBe(true);
  });

  it('uses the action text it is given', async () => {
    const { deps } = setup();
    await respondToFindings([{ finding: makeFinding(), role: ROLE, action: 'Revoked this session.' }], deps, {
      now: T0,
      windowSeconds: WINDOW,
      channels: ['slack'],
      dryRun: false,
    });
    expect(slack.bodies()[0]!.blocks.some((b) => b.text?.text === '*What roleguard did*\nRevoked this session.')).toBe(
      true,
    );
  });

  it('reports applied: false when the alert could not be delivered yet', async () => {
    const { deps } = setup();
    slack.statuses.push(500, 500, 500);
    const { actions } = await respond(deps, makeFinding(), T0, { channels: ['slack'] });
    expect(actions).toEqual([expect.objectContaining({ kind: 'alert', applied: false })]);
  });
});

describe('repeat summaries', () => {
  it('repeats within the window: one alert now, exactly one "repeated N times" message per channel when the window closes', async () => {
    const { deps } = setup();
    await respond(deps, repeatAt(0), T0);
    await respond(deps, repeatAt(600, { sourceIpAddress: '203.0.113.9' }), at(600));
    await respond(deps, repeatAt(1200, { roleSessionName: 'another-session' }), at(1200));
    expect(slack.received).toHaveLength(1);
    expect(publishes()).toHaveLength(1);

    // The window is still open: no summary yet.
    expect(await sweepAlerts(deps, at(WINDOW - 1))).toEqual({ retried: 0, summaries: 0 });
    expect(slack.received).toHaveLength(1);

    expect(await sweepAlerts(deps, WINDOW_END)).toEqual({ retried: 0, summaries: 1 });
    expect(slack.received).toHaveLength(2);
    const summary = slack.bodies()[1]!;
    expect(summary.text).toMatch(/repeated 3 times/);
    const when = summary.blocks.flatMap((b) => b.fields ?? []).find((f) => f.text.startsWith('*When (UTC)*'))!.text;
    expect(when).toBe('*When (UTC)*\n2026-11-02T23:00:00Z – 2026-11-02T23:20:00Z (3×)');
    expect(snsBodies()).toEqual([
      expect.objectContaining({ repeatSummary: false, count: 1 }),
      expect.objectContaining({ repeatSummary: true, count: 3, lastAt: '2026-11-02T23:20:00Z' }),
    ]);

    // Never again.
    for (const hours of [1, 2, 24])
      expect(await sweepAlerts(deps, at(WINDOW + hours * 3600))).toEqual({ retried: 0, summaries: 0 });
    expect(slack.received).toHaveLength(2);
    expect(publishes()).toHaveLength(2);
    expect((await storedAlerts())[0]).toMatchObject({ summary: 'sent', count: 3 });
  });

  it('no repeat, or only redeliveries of the same event: no summary', async () => {
    const { deps } = setup();
    const f = repeatAt(0);
    await respond(deps, f, T0);
    await respond(deps, f, at(60));
    await respond(deps, structuredClone(f), at(120));
    for (const seconds of [WINDOW, WINDOW + 3600, WINDOW * 48])
      expect(await sweepAlerts(deps, at(seconds))).toEqual({ retried: 0, summaries: 0 });
    expect(slack.received).toHaveLength(1);
    expect(publishes()).toHaveLength(1);
    expect(JSON.stringify(slack.bodies())).not.toMatch(/repeated/);
  });

  it('a repeat after the window is a new alert, not part of the summary', async () => {
    const { deps } = setup();
    await respond(deps, repeatAt(0), T0);
    await respond(deps, repeatAt(60), at(60));
    await respond(deps, repeatAt(WINDOW + 60), at(WINDOW + 60));
    expect(slack.received).toHaveLength(2);
    expect(await sweepAlerts(deps, at(WINDOW + 120))).toEqual({ retried: 0, summaries: 1 });
    expect(slack.bodies().map((b) => b.text.match(/repeated \d+ times/)?.[0] ?? 'first')).toEqual([
      'first',
      'first',
      'repeated 2 times',
    ]);
    // The second window had no repeats.
    expect(await sweepAlerts(deps, at(3 * WINDOW))).toEqual({ retried: 0, summaries: 0 });
    expect(slack.received).toHaveLength(3);
  });

  it('an alert delivered late by the sweep still gets its summary, once', async () => {
    const { deps } = setup();
    slack.statuses.push(500, 500, 500);
    await respond(deps, repeatAt(0), T0, { channels: ['slack'] });
    await respond(deps, repeatAt(10), at(10), { channels: ['slack'] });
    expect(await sweepAlerts(deps, at(60))).toEqual({ retried: 1, summaries: 0 });
    expect(slack.received).toHaveLength(4);
    expect(await sweepAlerts(deps, WINDOW_END)).toEqual({ retried: 0, summaries: 1 });
    expect(await sweepAlerts(deps, at(2 * WINDOW))).toEqual({ retried: 0, summaries: 0 });
    expect(slack.received).toHaveLength(5);
    expect(slack.bodies()[4]!.text).toMatch(/repeated 2 times/);
  });

  it('a repeat merged while the first alert is being settled still gets its summary', async () => {
    // Another invocation merges a repeat just as this one records the delivery of the first alert.
    let injected = false;
    const racing = {
      send: async (command: unknown) => {
        if (
          !injected &&
          command instanceof UpdateCommand &&
          /:delivered/.test(String(command.input.UpdateExpression))
        ) {
          injected = true;
          expect(
            (
              await outbox.admit(
                repeatAt(5),
                { action: 'a', nextStep: 'b' },
                { now: at(5), windowSeconds: WINDOW, channels: ['slack'] },
              )
            ).status,
          ).toBe('merged');
        }
        return doc.send(command as never);
      },
    } as unknown as DynamoDBDocumentClient;
    const { deps } = setup({ doc: racing });
    await respond(deps, repeatAt(0), T0, { channels: ['slack'] });
    expect(injected).toBe(true);
    expect(slack.received).toHaveLength(1);
    expect(await sweepAlerts(deps, WINDOW_END)).toEqual({ retried: 0, summaries: 1 });
    expect(slack.received).toHaveLength(2);
    expect(slack.bodies()[1]!.text).toMatch(/repeated 2 times/);
  });

  it('a channel that took the summary is not sent it again while another channel fails; the summary gives up after maxAttempts', async () => {
    const { deps, lines } = setup({ maxAttempts: 3 });
    await respond(deps, repeatAt(0), T0);
    await respond(deps, repeatAt(60), at(60));
    sns.reset();
    sns.on(PublishCommand).rejects(
      Object.assign(new Error('User is not authorized'), {
        name: 'AuthorizationErrorException',
        $metadata: { httpStatusCode: 403 },
      }),
    );
    // Sweep every 5 minutes for two hours after the window closes.
    const results = [];
    for (let minutes = 0; minutes <= 120; minutes += 5)
      results.push(await sweepAlerts(deps, at(WINDOW + minutes * 60)));
    expect(results.every((r) => r.summaries === 0 && r.retried === 0)).toBe(true);
    // Slack: the alert and one summary; SNS: one try per sweep until maxAttempts, then nothing.
    expect(slack.received).toHaveLength(2);
    expect(slack.bodies()[1]!.text).toMatch(/repeated 2 times/);
    expect(publishes()).toHaveLength(3);
    expect((await storedAlerts())[0]).toMatchObject({ summary: 'failed', summaryAttempts: 3, summarySent: ['slack'] });
    expect(lines.some((l) => l.includes('repeat summary delivery failed for good'))).toBe(true);
    expect(await outbox.due(at(WINDOW * 100))).toEqual([]);
  });

  it('a summary that failed on every channel is retried by a later sweep and sent once', async () => {
    const { deps } = setup();
    await respond(deps, repeatAt(0), T0, { channels: ['slack'] });
    await respond(deps, repeatAt(60), at(60), { channels: ['slack'] });
    slack.statuses.push(500, 500, 500);
    expect(await sweepAlerts(deps, WINDOW_END)).toEqual({ retried: 0, summaries: 0 });
    expect(slack.received).toHaveLength(4);
    // Backed off: not again at once.
    expect(await sweepAlerts(deps, at(WINDOW + 1))).toEqual({ retried: 0, summaries: 0 });
    expect(slack.received).toHaveLength(4);
    expect(await sweepAlerts(deps, at(WINDOW + 30))).toEqual({ retried: 0, summaries: 1 });
    expect(await sweepAlerts(deps, at(WINDOW + 3600))).toEqual({ retried: 0, summaries: 0 });
    expect(slack.received).toHaveLength(5);
    expect(slack.bodies()[4]!.text).toMatch(/repeated 2 times/);
  });
});

describe('dry run', () => {
  it('sends nothing, reports the alert as not applied, and records it', async () => {
    const { deps } = setup();
    const f = makeFinding();
    const { actions, duplicates } = await respond(deps, f, T0, { dryRun: true });
    expect(actions).toEqual([
      {
        kind: 'alert',
        roleArn: ROLE.roleArn,
        eventId: f.eventId,
        at: T0.toISOString(),
        policyName: null,
        policyDocument: null,
        applied: false,
      },
    ]);
    expect(duplicates.size).toBe(0);
    expect(slack.received).toHaveLength(0);
    expect(publishes()).toHaveLength(0);
    const stored = await storedAlerts();
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ finding: f, count: 1 });
    expect(stored[0]!.action).toMatch(/^Dry run: nothing was sent or changed\./);
  });

  it('the sweep never sends what a dry run recorded, repeats included', async () => {
    const { deps } = setup();
    await respond(deps, repeatAt(0), T0, { dryRun: true });
    await respond(deps, repeatAt(60), at(60), { dryRun: true });
    for (const seconds of [1, 60, WINDOW, WINDOW * 24])
      expect(await sweepAlerts(deps, at(seconds))).toEqual({ retried: 0, summaries: 0 });
    expect(slack.received).toHaveLength(0);
    expect(publishes()).toHaveLength(0);
    expect((await storedAlerts())[0]).toMatchObject({ count: 2, dryRun: true });
    // The sweep took it out of the due index: it does not come back to every sweep.
    expect(await outbox.due(at(WINDOW * 24))).toEqual([]);
  });

  it('a dry run still tells redeliveries and repeats apart', async () => {
    const { deps } = setup();
    const f = repeatAt(0);
    expect((await respond(deps, f, T0, { dryRun: true })).actions).toHaveLength(1);
    expect([...(await respond(deps, f, at(1), { dryRun: true })).duplicates]).toEqual([f]);
    expect(await respond(deps, repeatAt(60), at(60), { dryRun: true })).toEqual({ actions: [], duplicates: new Set() });
  });

  it('does not swallow a live alert: the same event or a repeat handled live afterwards is sent', async () => {
    const { deps } = setup();
    const f = repeatAt(0);
    await respond(deps, f, T0, { dryRun: true });
    const live = await respond(deps, f, at(30));
    expect(live.duplicates.size).toBe(0);
    expect(live.actions).toEqual([expect.objectContaining({ applied: true })]);
    expect(slack.received).toHaveLength(1);
    expect(slack.bodies()[0]!.blocks.some((b) => /Dry run/.test(b.text?.text ?? ''))).toBe(false);
    expect(publishes()).toHaveLength(1);
  });
});
