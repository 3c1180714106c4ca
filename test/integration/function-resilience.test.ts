import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Config } from '../../lib/config.js';
import { loadConfig } from '../../lib/config.js';
import { LOCAL_AWS } from '../../lib/local/dynamodb-local.js';
import { createRegistryStore } from '../../lib/registry/index.js';
import { parseRegistryText } from '../../lib/registry/text.js';
import { SWEEP_GRACE_MS } from '../../lib/revoke/service.js';
import { createRevocationStore } from '../../lib/revoke/store.js';
import { createSessionsTable, createTestTables, testDynamo, testEndpoint } from '../helpers/dynamo.js';
import { type FakeServer, fakeSlack, fakeSns, fakeSsm } from '../helpers/fake-aws.js';
import { EVENTS_DIR, loadJson } from '../helpers/fixtures.js';
import { type EmulatedIam, emulateIam, ROLE_ID } from '../helpers/revocation.js';
import { sqsBatch } from '../helpers/sqs.js';

// The deployed functions keep their core (record, detect, revoke) when a side service fails: an unreadable Slack
// webhook, no Slack at all, a registry that cannot be read by the sweep.
const ROLE = 'arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit';
const PARAMETER = '/roleguard/test/slack-webhook-url';
const FUNCTIONS = '../../functions';
// A fresh invocation of the queue-fed functions' 120 s timeout (a batch keeps one record's worst case in hand).
const context = { functionName: 'fn', awsRequestId: 'r1', getRemainingTimeInMillis: () => 120000 };
const saved = { ...process.env };
let doc: DynamoDBDocumentClient;
let config: Config;
let iam: EmulatedIam;
let slack: FakeServer;
let ssm: Awaited<ReturnType<typeof fakeSsm>>;
let sns: FakeServer;

function env(tables: Config, overrides: Record<string, string | undefined> = {}) {
  process.env = {
    ...saved,
    SESSIONS_TABLE: tables.sessionsTable,
    REGISTRY_TABLE: tables.registryTable,
    ALERTS_TABLE: tables.alertsTable,
    REVOCATIONS_TABLE: tables.revocationsTable!,
    ALERT_TOPIC_ARN: 'arn:aws:sns:us-east-1:111122223333:roleguard-test-alerts',
    SLACK_WEBHOOK_PARAMETER: PARAMETER,
    OWN_ROLE_ARNS: 'arn:aws:iam::111122223333:role/roleguard-test-*',
    AWS_REGION: LOCAL_AWS.region,
    AWS_ENDPOINT_URL_DYNAMODB: testEndpoint(),
    AWS_ENDPOINT_URL_SSM: ssm.url,
    AWS_ENDPOINT_URL_SNS: sns.url,
    AWS_ACCESS_KEY_ID: LOCAL_AWS.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_AWS.credentials.secretAccessKey,
    POWERTOOLS_LOG_LEVEL: 'ERROR',
    ROLEGUARD_STACK: 'roleguard-test',
  };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}

/** What the function logged (its logger writes JSON lines, errors to stderr). */
async function logged<T>(work: () => Promise<T>): Promise<{ result: T; lines: Record<string, unknown>[] }> {
  const lines: Record<string, unknown>[] = [];
  const streams = [process.stdout, process.stderr];
  const writes = streams.map((stream) => stream.write);
  for (const stream of streams) {
    const write = stream.write.bind(stream);
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      const text = String(chunk);
      if (!text.startsWith('{')) return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
      lines.push(JSON.parse(text));
      return true;
    }) as typeof stream.write;
  }
  try {
    return { result: await work(), lines };
  } finally {
    streams.forEach((stream, i) => {
      stream.write = writes[i]!;
    });
  }
}

/** The wrong-external-ID fixture as it arrives live (issued a minute ago, valid for an hour). */
function wrongIdEvent(id: string) {
  const event = structuredClone(loadJson(join(EVENTS_DIR, 'eventbridge-assume-role-wrong-external-id.json'))) as any;
  event.detail.eventID = id;
  event.detail.eventTime = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000).toISOString().replace('.000Z', 'Z');
  event.detail.responseElements.credentials.expiration = new Date(Date.now() + 3600_000).toISOString();
  event.detail.requestParameters.roleSessionName = `s-${id}`;
  event.detail.responseElements.assumedRoleUser.assumedRoleId = `${ROLE_ID}:s-${id}`;
  return event;
}

beforeAll(async () => {
  doc = testDynamo();
  iam = emulateIam();
  config = await createTestTables(doc, await createSessionsTable(doc));
  await createRegistryStore(doc, config.registryTable).replace(
    parseRegistryText(readFileSync(join(EVENTS_DIR, 'registry.yaml'), 'utf8'), 'registry.yaml'),
  );
  slack = await fakeSlack();
  ssm = await fakeSsm(PARAMETER, null);
  sns = await fakeSns();
});
afterAll(async () => {
  process.env = saved;
  iam.restore();
  doc.destroy();
  await Promise.all([slack.close(), ssm.close(), sns.close()]);
});

describe('an alert channel never stops the core', () => {
  it('with the Slack webhook unreadable, onAssumeRole still records, detects, revokes and alerts on SNS, and alerts and logs the Slack failure', async () => {
    env(config);
    ssm.set(null); // ParameterNotFound
    const { result, lines } = await logged(async () => {
      const { handler } = await import(`${FUNCTIONS}/on-assume-role.js?unreadable-slack`);
      // As the STS queue delivers it, with a malformed message beside it (acknowledged, counted as rejected).
      return handler(sqsBatch([wrongIdEvent('no-slack-1'), 'not json']), context as never);
    });
    expect(result).toEqual({ batchItemFailures: [] });
    // Revoked through IAM.
    expect(iam.puts('ExampleCorpAudit')).toBe(1);
    // The finding went out on SNS, and so did the alert that Slack is unavailable; Slack got nothing.
    const published = sns.received.map((r) => new URLSearchParams(r.body));
    expect(published.map((p) => p.get('Subject'))).toEqual([
      'roleguard high: Slack alert channel unavailable',
      expect.stringMatching(/^roleguard critical: unexpected-external-id/),
    ]);
    expect(published[0]!.get('Message')).toContain(PARAMETER);
    expect(slack.received).toHaveLength(0);
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          level: 'ERROR',
          message: expect.stringContaining('Slack alerts cannot be sent'),
          parameter: PARAMETER,
        }),
      ]),
    );
    // The coverage heartbeat: one StsEventsRecorded in Embedded Metric Format for the recorded event, and the
    // malformed message counted as rejected.
    expect(lines.filter((l) => '_aws' in l)).toEqual([
      {
        _aws: {
          Timestamp: expect.any(Number),
          CloudWatchMetrics: [
            {
              Namespace: 'roleguard',
              Dimensions: [['Stack']],
              Metrics: [
                { Name: 'StsEventsRecorded', Unit: 'Count' },
                { Name: 'EventsRejected', Unit: 'Count' },
              ],
            },
          ],
        },
        Stack: 'roleguard-test',
        StsEventsRecorded: 1,
        EventsRejected: 1,
      },
    ]);
    // The SSM secret never appears in a log line.
    expect(JSON.stringify(lines)).not.toContain('hooks.slack.com');
  });

  it('without Slack configured, the functions run on SNS alone and never ask SSM', async () => {
    expect(() =>
      loadConfig(
        {
          SESSIONS_TABLE: 's',
          REGISTRY_TABLE: 'r',
          ALERTS_TABLE: 'a',
          ALERT_TOPIC_ARN: 'arn:aws:sns:us-east-1:111122223333:roleguard-test-alerts',
        },
        { alerting: true },
      ),
    ).not.toThrow();
    const base = {
      SESSIONS_TABLE: 's',
      REGISTRY_TABLE: 'r',
      ALERTS_TABLE: 'a',
      ALERT_TOPIC_ARN: 'arn:aws:sns:us-east-1:111122223333:roleguard-test-alerts',
    };
    // "none" is how a stage turns Slack off (the deploy CLI takes no empty parameter); a name must start with "/".
    expect(
      loadConfig({ ...base, SLACK_WEBHOOK_PARAMETER: 'none' }, { alerting: true }).slackWebhookParameter,
    ).toBeNull();
    expect(() => loadConfig({ ...base, SLACK_WEBHOOK_PARAMETER: 'slack-url' }, { alerting: true })).toThrow(
      /SLACK_WEBHOOK_PARAMETER must be an SSM parameter name starting with "\/"/,
    );
    const tables = await createTestTables(doc, await createSessionsTable(doc));
    await createRegistryStore(doc, tables.registryTable).replace(
      parseRegistryText(readFileSync(join(EVENTS_DIR, 'registry.yaml'), 'utf8'), 'registry.yaml'),
    );
    env(tables, { SLACK_WEBHOOK_PARAMETER: 'none' });
    const ssmBefore = ssm.received.length;
    const snsBefore = sns.received.length;
    const { handler } = await import(`${FUNCTIONS}/on-assume-role.js?no-slack`);
    expect(await handler(sqsBatch([wrongIdEvent('no-slack-2')]), context as never)).toEqual({ batchItemFailures: [] });
    expect(iam.puts('ExampleCorpAudit')).toBe(2);
    expect(sns.received.length - snsBefore).toBe(1);
    expect(ssm.received.length).toBe(ssmBefore);
    const { handler: change } = await import(`${FUNCTIONS}/on-trust-policy-change.js?no-slack`);
    const event = structuredClone(loadJson(join(EVENTS_DIR, 'eventbridge-update-assume-role-policy.json'))) as any;
    expect(await change(event, context as never)).toMatchObject({ status: 'trust-policy-change' });
    expect(sns.received.length - snsBefore).toBe(2);
    expect(ssm.received.length).toBe(ssmBefore);
  });
});

describe('the sweep without its registry', () => {
  it('applies deferred revocations with the checks that need no registry, refuses protected paths, and fails to be seen', async () => {
    const tables = await createTestTables(doc, await createSessionsTable(doc));
    const store = createRevocationStore(doc, tables.revocationsTable!);
    const now = Date.now();
    const at = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
    const intent = (intentId: string, roleArn: string) =>
      store.record(
        {
          intentId,
          roleArn,
          roleName: roleArn.slice(roleArn.lastIndexOf('/') + 1),
          addition: {
            role: null,
            sessions: [
              { assumedRoleId: `${ROLE_ID}:${intentId}`, decidedAt: at(now - 600_000), pruneAfter: at(now + 3600_000) },
            ],
          },
          source: { kind: 'finding', eventId: `e-${intentId}`, findingKind: 'unexpected-external-id' },
          caller: null,
          dryRun: false,
          createdAt: at(now - 600_000),
        },
        { dueAt: new Date(now - SWEEP_GRACE_MS) },
      );
    await intent('deferred', ROLE);
    await intent('own', 'arn:aws:iam::111122223333:role/roleguard-test-SweepRole-1A2B3C');
    // The registry table does not exist: every read of it fails.
    env({ ...tables, registryTable: 'no-such-registry-table' });
    const before = iam.puts('ExampleCorpAudit');
    const { result, lines } = await logged(async () => {
      const { handler } = await import(`${FUNCTIONS}/sweep.js?no-registry`);
      return handler({}, { ...context, functionName: 'sweep' } as never).then(
        () => 'succeeded',
        (error: Error) => error.name,
      );
    });
    expect(result).toBe('ResourceNotFoundException');
    expect(iam.puts('ExampleCorpAudit')).toBe(before + 1);
    expect(await store.get('deferred')).toMatchObject({ state: 'applied' });
    expect(await store.get('own')).toMatchObject({ state: 'refused' });
    expect(iam.puts('roleguard-test-SweepRole-1A2B3C')).toBe(0);
    expect(lines.map((l) => l.message)).toEqual(
      expect.arrayContaining([expect.stringContaining('the registry cannot be read')]),
    );
    // The failed run counts for the sweep-failure alarm.
    expect(lines.filter((l) => '_aws' in l)).toEqual([
      expect.objectContaining({ Stack: 'roleguard-test', SweepFailures: 1 }),
    ]);
  });
});
