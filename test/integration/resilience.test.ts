import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { IAMClient } from '@aws-sdk/client-iam';
import { type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { slackSender, sweepAlerts } from '../../lib/alert/index.js';
import { createDeps } from '../../lib/deps.js';
import { handleCloudTrailEvent } from '../../lib/handle-event.js';
import { parseRegistryText } from '../../lib/registry/text.js';
import { liveRevoker, type RevocationDeps, sweepRevocations } from '../../lib/revoke/service.js';
import { createRevocationStore } from '../../lib/revoke/store.js';
import { createSessionsTable, createTestTables, testDynamo } from '../helpers/dynamo.js';
import { type FakeServer, startFakeServer } from '../helpers/fake-aws.js';
import { memoryLogger } from '../helpers/logger.js';
import { prng } from '../helpers/prng.js';
import { type EmulatedIam, emulateIam, sessionDecision, throttling, vendorAssume } from '../helpers/revocation.js';

// Delivery, duplicates, out-of-order and faults, end to end: the capture function's handler on DynamoDB Local, IAM
// emulated (last writer wins), Slack a real HTTP server, SNS a sender function; every fault injected on purpose.
const EVENTS = 1_000;
const COPIES = 3;
const ROLES = ['VendorA', 'VendorB', 'VendorC', 'VendorD'].map(
  (name) => `arn:aws:iam::111122223333:role/vendors/${name}`,
);
const GOOD = 'ec-7Hq2vN9xK4pL8mR3';
const WRONG = 'guessed-tenant-4711';
const T0 = Date.parse('2026-11-20T08:00:00Z');
const registry = `roles:\n${ROLES.map((arn) => `  - { roleArn: "${arn}", vendor: "${arn.split('/').pop()}", trustedAccounts: ["999988887777"], externalIds: { current: "${GOOD}" }, response: revoke }`).join('\n')}\n`;

const envelope = (detail: Record<string, unknown>) => ({
  version: '0',
  id: `env-${String(detail.eventID)}`,
  'detail-type': 'AWS API Call via CloudTrail',
  source: 'aws.sts',
  account: '111122223333',
  time: detail.eventTime,
  region: 'us-east-1',
  resources: [],
  detail,
});

/** Run `work` over `items`, `n` at a time. */
async function pool<T>(items: T[], n: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

describe('delivery, duplicates and faults, end to end', () => {
  let doc: DynamoDBDocumentClient;
  let iam: EmulatedIam;
  let slack: FakeServer;
  const random = prng(7);
  const faults = { iam: 0, dynamo: 0, slack: 0, sns: 0 };
  let failedPuts = 0;
  let faulty = true;
  const slackDelivered: string[] = [];
  const snsDelivered: string[] = [];

  beforeAll(async () => {
    doc = testDynamo();
    // DynamoDB: ProvisionedThroughputExceeded on 10% of first and second attempts; the SDK's own retry gets through.
    doc.middlewareStack.add(
      (next) => async (args) => {
        const attempt = Number(
          /attempt=(\d+)/.exec(
            String((args.request as { headers?: Record<string, string> }).headers?.['amz-sdk-request'] ?? ''),
          )?.[1] ?? 1,
        );
        if (faulty && attempt < 3 && random() < 0.1) {
          faults.dynamo++;
          throw new ProvisionedThroughputExceededException({
            message: 'The level of configured provisioned throughput for the table was exceeded',
            $metadata: { httpStatusCode: 400 },
          });
        }
        return next(args);
      },
      { step: 'finalizeRequest', priority: 'low', name: 'injectDynamoFaults' },
    );
    // IAM: throttling or a 5xx on 30% of the calls that read or write the revocation policy.
    iam = emulateIam({
      fault: (command) => {
        if (!faulty || random() >= 0.3) return null;
        faults.iam++;
        if (command === 'PutRolePolicy') failedPuts++;
        return random() < 0.5
          ? throttling()
          : Object.assign(new Error('We encountered an internal error. Please try again.'), {
              name: 'ServiceFailure',
              $metadata: { httpStatusCode: 500 },
            });
      },
    });
    slack = await startFakeServer((request) => {
      if (faulty && random() < 0.3) {
        faults.slack++;
        return random() < 0.5 ? { status: 429, body: 'rate_limited' } : { status: 500, body: 'error' };
      }
      slackDelivered.push(request.body);
      return { status: 200, body: 'ok' };
    });
  });
  afterAll(async () => {
    iam.restore();
    await slack.close();
    doc.destroy();
  });

  it(`${EVENTS} events delivered ${COPIES} times each, shuffled and concurrent, under faults: one session each, each alert once, each revocation written once, nothing lost`, async () => {
    const config = await createTestTables(doc, await createSessionsTable(doc), { alertWindowSeconds: 0 });
    const { logger } = memoryLogger();
    const iamClient = new IAMClient({ region: 'us-east-1' });
    const revoking: RevocationDeps = {
      iam: iamClient,
      dynamo: doc,
      store: createRevocationStore(doc, config.revocationsTable!),
      logger,
      retry: { baseMs: 2 },
      lock: { leaseMs: 60_000, waitMs: 30_000 },
    };
    const sns = async (message: { Message?: string }) => {
      if (faulty && random() < 0.3) {
        faults.sns++;
        throw Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $metadata: { httpStatusCode: 400 } });
      }
      snsDelivered.push(String(message.Message));
    };
    let clock = new Date(T0 + 30 * 60_000);
    const deps = createDeps(config, {
      dynamo: doc,
      logger,
      registry: parseRegistryText(registry, 'r.yaml'),
      now: () => clock,
      senders: { slack: slackSender(`${slack.url}/services/T0/B0/secret`), sns },
      deliveryPolicy: {
        attemptsNow: 3,
        baseDelayMs: 2,
        maxAttempts: 12,
        sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      },
      revoker: liveRevoker(revoking),
    });

    // One in ten events uses a wrong external ID: a critical finding, an alert and a revocation each. Every caller is
    // distinct (no "came back" findings); sessions last a day, so nothing expires during the run.
    const events = Array.from({ length: EVENTS }, (_, i) => {
      const time = new Date(T0 + i * 1000).toISOString().replace('.000Z', 'Z');
      return envelope(
        vendorAssume({
          id: `ev-${i}`,
          time,
          session: `s-${i}`,
          externalId: i % 10 === 0 ? WRONG : GOOD,
          roleArn: ROLES[i % ROLES.length],
          principal: `AIDAVENDOR${String(i).padStart(8, '0')}`,
          expiration: new Date(T0 + i * 1000 + 86_400_000).toISOString(),
        }),
      );
    });
    const offending = events
      .filter((_, i) => i % 10 === 0)
      .map(
        (e) =>
          e.detail as {
            eventID: string;
            eventTime: string;
            requestParameters: { roleArn: string; roleSessionName: string };
          },
      );
    // Every copy, shuffled: later events often come first.
    const deliveries = events.flatMap((e) => Array.from({ length: COPIES }, () => e)).sort(() => random() - 0.5);
    // Five events hit a table that keeps refusing them while the faults last: Lambda retries twice, then dead-letters.
    const poison = new Set(['ev-3', 'ev-33', 'ev-333', 'ev-503', 'ev-777']);
    const deadLetters: { event: (typeof events)[number]; reason: string }[] = [];
    let lambdaRetries = 0;
    await pool(deliveries, 16, async (event) => {
      for (let attempt = 1; attempt <= 3; attempt++) {
        try {
          if (faulty && poison.has(String(event.detail.eventID)))
            throw new ProvisionedThroughputExceededException({
              message: 'persistent throttling on this partition',
              $metadata: { httpStatusCode: 400 },
            });
          await handleCloudTrailEvent(event, deps);
          return;
        } catch (error) {
          if (attempt === 3)
            deadLetters.push({ event, reason: `${(error as Error).name}: ${(error as Error).message}` });
          else lambdaRetries++;
        }
      }
    });

    // The scheduled sweep, every 5 minutes, faults still on; then the faults stop and the dead letters are redriven.
    const sweeps = { revocations: 0, alerts: 0 };
    for (let i = 0; i < 24; i++) {
      clock = new Date(clock.getTime() + 5 * 60_000);
      const r = await sweepRevocations(revoking, clock).catch(() => null);
      const a = await sweepAlerts(deps.alerts, clock).catch(() => null);
      sweeps.revocations += r?.applied ?? 0;
      sweeps.alerts += a?.retried ?? 0;
    }
    faulty = false;
    const redriven = deadLetters.length;
    for (const { event } of deadLetters) await handleCloudTrailEvent(event, deps);
    for (let i = 0; i < 3; i++) {
      clock = new Date(clock.getTime() + 15 * 60_000);
      await sweepRevocations(revoking, clock);
      await sweepAlerts(deps.alerts, clock);
    }

    // Exactly one session per event.
    let sessions = 0;
    let start: Record<string, unknown> | undefined;
    do {
      const page = await doc.send(
        new ScanCommand({ TableName: config.sessionsTable, Select: 'COUNT', ExclusiveStartKey: start }),
      );
      sessions += page.Count ?? 0;
      start = page.LastEvaluatedKey;
    } while (start);
    // Each finding alerted exactly once per channel.
    const slackIds = offending.map(
      (e) =>
        slackDelivered.filter(
          (b) =>
            b.includes(`${e.eventID}\``) ||
            b.includes(`${e.eventID}"`) ||
            new RegExp(`\\b${e.eventID}\\b(?!\\d)`).test(b),
        ).length,
    );
    const snsIds = offending.map((e) => snsDelivered.filter((m) => JSON.parse(m).finding.eventId === e.eventID).length);
    // Each revocation in its role's final policy, decided once; the benign sessions untouched.
    const denied: string[] = [];
    for (const e of offending) {
      const policy = iam.policy(e.requestParameters.roleArn.split('/').pop()!);
      if ((await sessionDecision(policy, e.requestParameters.roleSessionName, e.eventTime)) === 'Denied')
        denied.push(e.eventID);
    }
    const benign = await sessionDecision(iam.policy('VendorB'), 's-1', new Date(T0 + 1000).toISOString());
    // PutRolePolicy calls IAM took (those refused by an injected fault wrote nothing).
    const puts = iam.puts() - failedPuts;
    const due = await revoking.store.due(new Date(T0 + 2 * 86_400_000));
    const pendingIntents = due.filter((d) => d.kind === 'intent').length;
    const lost =
      EVENTS -
      sessions +
      offending.length -
      denied.length +
      snsIds.filter((n) => n === 0).length +
      slackIds.filter((n) => n === 0).length;
    process.stdout.write(
      `resilience: events ${EVENTS}, deliveries ${deliveries.length} (duplicates ${deliveries.length - EVENTS}), concurrency 16; faults injected: IAM ${faults.iam}, DynamoDB ${faults.dynamo}, Slack ${faults.slack}, SNS ${faults.sns}; ` +
        `Lambda retries ${lambdaRetries}, dead-lettered ${redriven} (redriven); sessions ${sessions}; findings ${offending.length}; Slack alerts ${slackDelivered.length}, SNS alerts ${snsDelivered.length}; ` +
        `revocations ${denied.length}/${offending.length} in force with ${puts} PutRolePolicy; applied by the sweep ${sweeps.revocations}; alerts retried by the sweep ${sweeps.alerts}; lost ${lost}\n`,
    );
    expect(deadLetters.map((d) => d.reason)).toEqual(
      expect.arrayContaining([expect.stringContaining('ProvisionedThroughputExceededException')]),
    );
    expect(sessions).toBe(EVENTS);
    expect(snsIds).toEqual(offending.map(() => 1));
    expect(snsDelivered).toHaveLength(offending.length);
    expect(slackDelivered).toHaveLength(offending.length);
    expect(denied).toHaveLength(offending.length);
    expect(benign).toBe('Allowed');
    expect(pendingIntents).toBe(0);
    // Each revocation is written once at most: never more writes than revocations (several may share one write).
    expect(puts).toBeLessThanOrEqual(offending.length);
    expect(lost).toBe(0);
    expect(faults.iam).toBeGreaterThan(0);
    expect(faults.dynamo).toBeGreaterThan(0);
    expect(faults.slack).toBeGreaterThan(0);
    expect(faults.sns).toBeGreaterThan(0);
  }, 600_000);
});
