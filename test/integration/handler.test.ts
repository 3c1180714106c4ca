import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Config } from '../../lib/config.js';
import { createDeps, createDocumentClient } from '../../lib/deps.js';
import { handleCloudTrailEvent } from '../../lib/handle-event.js';
import { LOCAL_AWS } from '../../lib/local/dynamodb-local.js';
import { assumeEventHandler, BATCH_TIME_MARGIN_MS, queuedEventHandler } from '../../lib/queue-handler.js';
import { createRegistryStore } from '../../lib/registry/index.js';
import { parseRegistryText } from '../../lib/registry/text.js';
import { createSessionsTable, createTestTables, testDynamo, testEndpoint } from '../helpers/dynamo.js';
import { fakeSlack, fakeSns, fakeSsm } from '../helpers/fake-aws.js';
import { EVENTS_DIR, loadJson } from '../helpers/fixtures.js';
import { memoryLogger } from '../helpers/logger.js';
import { sqsBatch } from '../helpers/sqs.js';

let doc: DynamoDBDocumentClient;
let table: string;
let config: Config;
const event = (name: string) => loadJson(join(EVENTS_DIR, name));

beforeAll(async () => {
  doc = testDynamo();
  table = await createSessionsTable(doc);
  config = await createTestTables(doc, table);
});
afterAll(() => doc.destroy());

function deps() {
  const { logger, lines } = memoryLogger();
  const d = createDeps(config, { dynamo: doc, logger, now: () => new Date('2026-11-02T09:15:06Z') });
  return { deps: d, lines };
}

describe('capture handler (EventBridge → DynamoDB Local)', () => {
  it('records a vendor assume, and a redelivery of it is a duplicate', async () => {
    const { deps: d, lines } = deps();
    expect(await handleCloudTrailEvent(event('eventbridge-assume-role-vendor.json'), d)).toEqual({
      status: 'recorded',
      eventId: '8f1d3c52-9a7e-4b1f-b6a2-3c9d5e7f1a01',
    });
    expect(await handleCloudTrailEvent(event('eventbridge-assume-role-vendor.json'), d)).toEqual({
      status: 'duplicate',
      eventId: '8f1d3c52-9a7e-4b1f-b6a2-3c9d5e7f1a01',
    });
    const logged = lines.map((l) => JSON.parse(l));
    expect(logged.map((l) => l.message)).toEqual(['session recorded', 'duplicate delivery; already recorded']);
    // The external ID is masked in logs.
    expect(lines.join('\n')).not.toContain('ec-7Hq2vN9xK4pL8mR3');
    expect(logged[0]).toMatchObject({
      roleArn: 'arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit',
      externalId: expect.stringMatching(/^ec-7…#[0-9a-f]{8}$/),
    });
  });

  it('records a denied assume with the role taken from errorMessage', async () => {
    const { deps: d } = deps();
    expect(await handleCloudTrailEvent(event('eventbridge-assume-role-denied.json'), d)).toMatchObject({
      status: 'recorded',
    });
    const { Items } = await doc.send(
      new ScanCommand({
        TableName: table,
        FilterExpression: 'outcome = :d',
        ExpressionAttributeValues: { ':d': 'denied' },
      }),
    );
    expect(Items).toEqual([
      expect.objectContaining({
        roleArn: 'arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit',
        callerArn: 'arn:aws:iam::111122223333:user/mallory',
        awsRegion: 'eu-west-1',
      }),
    ]);
  });

  it('acknowledges an event that can never succeed, with the reason logged', async () => {
    const { deps: d, lines } = deps();
    const broken = {
      ...(event('eventbridge-assume-role-vendor.json') as object),
      detail: { eventName: 'AssumeRole', eventSource: 'sts.amazonaws.com' },
    };
    const result = await handleCloudTrailEvent(broken, d);
    expect(result).toMatchObject({ status: 'rejected', reason: expect.stringMatching(/eventID: missing/) });
    expect(JSON.parse(lines[0]!)).toMatchObject({
      level: 'WARN',
      message: 'event rejected',
      envelopeId: 'd2a1c3e4-0b5f-4a6e-9d7c-8b1a2f3e4d51',
    });
    expect(await handleCloudTrailEvent('not an event', d)).toMatchObject({ status: 'rejected' });
  });

  it('throws on an AWS failure so that Lambda retries and dead-letters the event', async () => {
    const { logger } = memoryLogger();
    const missingTable = createDeps({ ...config, sessionsTable: 'no-such-table' }, { dynamo: doc, logger });
    await expect(handleCloudTrailEvent(event('eventbridge-assume-role-vendor.json'), missingTable)).rejects.toThrow(
      /non-existent table|not found/i,
    );
    const unreachable = createDocumentClient({ ...LOCAL_AWS, endpoint: 'http://127.0.0.1:9', maxAttempts: 1 });
    const down = createDeps(config, { dynamo: unreachable, logger });
    await expect(handleCloudTrailEvent(event('eventbridge-assume-role-vendor.json'), down)).rejects.toThrow();
    unreachable.destroy();
  });

  it('the deployed handler module fails at cold start without its configuration, starts without its webhook secret, and alerts with them', async () => {
    const saved = { ...process.env };
    const webhookPath = '/services/T000/B000/very-secret-token';
    const slack = await fakeSlack();
    const ssm = await fakeSsm('/roleguard/test/slack-webhook-url', null);
    const sns = await fakeSns();
    // A query string gives each import its own module instance, hence its own cold start.
    const handlerModule = '../../functions/on-assume-role.js';
    try {
      await createRegistryStore(doc, config.registryTable).replace(
        parseRegistryText(readFileSync(join(EVENTS_DIR, 'registry.yaml'), 'utf8'), 'registry.yaml'),
      );
      delete process.env.SESSIONS_TABLE;
      await expect(import(`${handlerModule}?missing`)).rejects.toThrow(/SESSIONS_TABLE is required/);
      Object.assign(process.env, {
        SESSIONS_TABLE: table,
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
      // No webhook secret: the function still starts (an alert channel never stops recording, detection or
      // revocation); what it does then is in function-resilience.test.ts.
      await expect(import(`${handlerModule}?no-secret`)).resolves.toHaveProperty('handler');
      ssm.set(`${slack.url}${webhookPath}`);
      const { handler } = await import(`${handlerModule}?configured`);
      const context = { functionName: 'onAssumeRole', awsRequestId: 'r1', getRemainingTimeInMillis: () => 30000 };
      expect(await handler(event('eventbridge-assume-role-wrong-external-id.json'), context as never)).toEqual({
        status: 'recorded',
        eventId: 'c4b7e2a9-1d3f-4e6a-8b5c-7f2e9d1a3b02',
        findings: 1,
      });
      // Alerted once on each channel, within the invocation; the webhook path is the secret one from SSM.
      expect(slack.received.map((r) => [r.method, r.url])).toEqual([['POST', webhookPath]]);
      expect(JSON.parse(slack.received[0]!.body).text).toMatch(/^CRITICAL: unexpected-external-id/);
      expect(sns.received).toHaveLength(1);
      const publish = new URLSearchParams(sns.received[0]!.body);
      expect(publish.get('Action')).toBe('Publish');
      expect(publish.get('TopicArn')).toBe('arn:aws:sns:us-east-1:111122223333:roleguard-test-alerts');
      expect(JSON.parse(publish.get('Message')!).finding.kind).toBe('unexpected-external-id');
      // The wrong external ID the caller used appears in neither payload in full.
      const used = (
        event('eventbridge-assume-role-wrong-external-id.json') as {
          detail: { requestParameters: { externalId: string } };
        }
      ).detail.requestParameters.externalId;
      expect(slack.received[0]!.body + sns.received[0]!.body).not.toContain(used);
      // A redelivery records nothing and alerts nobody again.
      expect(await handler(event('eventbridge-assume-role-wrong-external-id.json'), context as never)).toEqual({
        status: 'duplicate',
        eventId: 'c4b7e2a9-1d3f-4e6a-8b5c-7f2e9d1a3b02',
      });
      expect(slack.received).toHaveLength(1);
      expect(sns.received).toHaveLength(1);
    } finally {
      process.env = saved;
      await Promise.all([slack.close(), ssm.close(), sns.close()]);
    }
  });
});

describe('onAssumeRole reads the STS queue in batches (SQS → DynamoDB Local)', () => {
  // A fresh invocation of the function's 120 s timeout.
  const context = { functionName: 'onAssumeRole', awsRequestId: 'r1', getRemainingTimeInMillis: () => 120_000 };
  /** The vendor fixture with its own event id and access key (so each is a new session). */
  const vendor = (id: string) => {
    const e = structuredClone(event('eventbridge-assume-role-vendor.json')) as any;
    e.detail.eventID = id;
    e.detail.responseElements.credentials.accessKeyId = `ASIA${id
      .toUpperCase()
      .replace(/[^A-Z0-9]/g, '')
      .padEnd(16, 'Q')}`;
    return e;
  };
  const recorded = async (id: string) =>
    (
      await doc.send(
        new ScanCommand({
          TableName: table,
          FilterExpression: 'eventId = :e',
          ExpressionAttributeValues: { ':e': id },
        }),
      )
    ).Items?.length ?? 0;

  it('one record that fails with an AWS error is reported alone; the others are recorded', async () => {
    const { deps: d, lines } = deps();
    // DynamoDB refuses this one event's session write (as a throttle would): the rest of the batch goes on.
    const sessions = d.sessions;
    d.sessions = {
      ...sessions,
      record: async (e, options) => {
        if (e.eventId === 'batch-fails')
          throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
        return sessions.record(e, options);
      },
    };
    const handler = assumeEventHandler(d);
    const batch = sqsBatch([vendor('batch-ok-1'), vendor('batch-fails'), vendor('batch-ok-2')]);
    expect(await handler(batch, context as never)).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-2' }] });
    expect([await recorded('batch-ok-1'), await recorded('batch-fails'), await recorded('batch-ok-2')]).toEqual([
      1, 0, 1,
    ]);
    const logged = lines.map((l) => JSON.parse(l));
    expect(logged).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          level: 'ERROR',
          messageId: 'm-2',
          message: expect.stringContaining('returns to the queue'),
        }),
        expect.objectContaining({ message: 'batch done', records: 3, recorded: 2, rejected: 0, failed: 1 }),
      ]),
    );
    // The failed record comes back from the queue: now it is recorded, and the others are duplicates.
    d.sessions = sessions;
    expect(await handler(batch, context as never)).toEqual({ batchItemFailures: [] });
    expect(await recorded('batch-fails')).toBe(1);
  });

  it('a malformed message is logged with its reason and acknowledged: it never fails the batch', async () => {
    const { deps: d, lines } = deps();
    const handler = assumeEventHandler(d);
    const batch = sqsBatch(['{not json', '"a string"', { detail: { eventName: 'AssumeRole' } }, vendor('batch-ok-3')]);
    expect(await handler(batch, context as never)).toEqual({ batchItemFailures: [] });
    expect(await recorded('batch-ok-3')).toBe(1);
    const logged = lines.map((l) => JSON.parse(l));
    const rejections = logged.filter((l) => l.level === 'WARN').map((l) => [l.messageId ?? null, l.reason]);
    expect(rejections).toEqual([
      ['m-1', 'message body is not JSON'],
      ['m-2', 'message body is not an EventBridge event (no detail)'],
      ['m-3', expect.stringMatching(/^invalid EventBridge event: version: missing/)],
    ]);
    expect(logged).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ message: 'batch done', records: 4, recorded: 1, rejected: 3 }),
      ]),
    );
  });

  it('with too little time left, the records not yet started go back to the queue untouched', async () => {
    const { deps: d } = deps();
    const handler = assumeEventHandler(d);
    const batch = sqsBatch([vendor('late-1'), vendor('late-2')]);
    expect(await handler(batch, { ...context, getRemainingTimeInMillis: () => 1_000 } as never)).toEqual({
      batchItemFailures: [{ itemIdentifier: 'm-1' }, { itemIdentifier: 'm-2' }],
    });
    expect(await recorded('late-1')).toBe(0);
  });

  it('starts no record with less than one record’s worst case left (30 s: the old timeout)', async () => {
    const { deps: d } = deps();
    const batch = sqsBatch([vendor('short-1'), vendor('short-2')]);
    expect(await assumeEventHandler(d)(batch, { ...context, getRemainingTimeInMillis: () => 30_000 } as never)).toEqual(
      { batchItemFailures: [{ itemIdentifier: 'm-1' }, { itemIdentifier: 'm-2' }] },
    );
    expect([await recorded('short-1'), await recorded('short-2')]).toEqual([0, 0]);
  });

  it('as the clock runs down, the records not yet started go back; those done are not returned', async () => {
    const { deps: d, lines } = deps();
    // A fake clock: the invocation starts with 120 s; each record takes 40 s (a lock wait, slow Slack).
    let remaining = 120_000;
    const sessions = d.sessions;
    d.sessions = {
      ...sessions,
      record: async (e, options) => {
        remaining -= 40_000;
        return sessions.record(e, options);
      },
    };
    const batch = sqsBatch([vendor('clock-1'), vendor('clock-2'), vendor('clock-3')]);
    expect(
      await assumeEventHandler(d)(batch, { ...context, getRemainingTimeInMillis: () => remaining } as never),
    ).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-3' }] });
    // 120 s and 80 s left: started and done; 40 s (below the margin): back to the queue, untouched.
    expect(BATCH_TIME_MARGIN_MS).toBeGreaterThan(40_000);
    expect(BATCH_TIME_MARGIN_MS).toBeLessThanOrEqual(80_000);
    expect([await recorded('clock-1'), await recorded('clock-2'), await recorded('clock-3')]).toEqual([1, 1, 0]);
    expect(lines.map((l) => JSON.parse(l))).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          message: 'time is short; the rest of the batch goes back to the queue',
          returned: 1,
        }),
        expect.objectContaining({ message: 'batch done', records: 3, recorded: 2, failed: 1 }),
      ]),
    );
  });

  it('onTrustPolicyChange reads the IAM queue with the same handler: IAM events in a batch', async () => {
    const { deps: d, lines } = deps();
    const change = event('eventbridge-update-assume-role-policy.json');
    const batch = sqsBatch([change, '{not json'], 'roleguard-test-iam-events');
    expect(await queuedEventHandler(d)(batch, context as never)).toEqual({ batchItemFailures: [] });
    // The change was handled (ok: neither recorded nor rejected), the malformed message rejected with its reason.
    expect(lines.map((l) => JSON.parse(l))).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ message: 'batch done', records: 2, ok: 1, rejected: 1, failed: 0 }),
      ]),
    );
  });

  it('still takes one EventBridge event invoked directly (a replay by hand), answering with its result', async () => {
    const { deps: d } = deps();
    expect(await assumeEventHandler(d)(vendor('direct-1'), context as never)).toEqual({
      status: 'recorded',
      eventId: 'direct-1',
    });
  });
});
