import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { type Admission, createOutbox, type Outbox, type StoredAlert } from '../../../lib/alert/index.js';
import { dueShardOf } from '../../../lib/dynamo/due-table.js';
import { createSessionsTable, createTestTables, testDynamo } from '../../helpers/dynamo.js';
import { makeFinding } from '../../unit/alert/fixtures.js';

// The outbox on DynamoDB Local, each test on fresh tables.
const TEXT = { action: 'Alerted only.', nextStep: 'Rotate the external ID.' };
const WINDOW = 3600;
const T0 = new Date('2026-11-02T23:00:00Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const options = (now: Date) => ({ now, windowSeconds: WINDOW, channels: ['slack', 'sns'] as ('slack' | 'sns')[] });

let doc: DynamoDBDocumentClient;
let table: string;
let outbox: Outbox;

/** The raw alert item, with its place in the due index. */
async function item(alertId: string): Promise<Record<string, unknown> | undefined> {
  return (await doc.send(new GetCommand({ TableName: table, Key: { pk: `alert#${alertId}` }, ConsistentRead: true })))
    .Item;
}

function expectNew(admission: Admission): StoredAlert {
  expect(admission.status).toBe('new');
  if (admission.status !== 'new') throw new Error('not new');
  return admission.alert;
}

beforeAll(() => {
  doc = testDynamo();
});
beforeEach(async () => {
  table = (await createTestTables(doc, await createSessionsTable(doc))).alertsTable;
  outbox = createOutbox(doc, table);
});
afterAll(() => {
  doc.destroy();
});

describe('outbox.admit', () => {
  it('stores a new alert, pending on each channel and due now', async () => {
    const f = makeFinding();
    const alert = expectNew(await outbox.admit(f, TEXT, options(T0)));
    expect(alert).toMatchObject({
      finding: f,
      count: 1,
      firstAt: f.context.at,
      lastAt: f.context.at,
      ...TEXT,
      channels: { slack: 'pending', sns: 'pending' },
      attempts: 0,
      state: 'pending',
      summary: 'none',
      windowEndsAt: at(WINDOW).toISOString(),
    });
    expect(await outbox.get(alert.alertId)).toEqual(alert);
    expect(await item(alert.alertId)).toMatchObject({
      dueShard: dueShardOf(`alert#${alert.alertId}`),
      dueAt: T0.toISOString(),
    });
    expect((await outbox.due(T0)).map((a) => a.alertId)).toEqual([alert.alertId]);
    expect(await outbox.get('no-such-alert')).toBeNull();
  });

  it('marks channels that are not configured as skipped', async () => {
    const alert = expectNew(await outbox.admit(makeFinding(), TEXT, { ...options(T0), channels: ['sns'] }));
    expect(alert.channels).toEqual({ slack: 'skipped', sns: 'pending' });
  });

  it('admits a redelivered event once: new, then duplicate with the same alert', async () => {
    const f = makeFinding();
    const first = expectNew(await outbox.admit(f, TEXT, options(T0)));
    // A redelivery (a copy of the same event), even a while later and with a different clock.
    expect(await outbox.admit(structuredClone(f), TEXT, options(at(5)))).toEqual({
      status: 'duplicate',
      alertId: first.alertId,
    });
    expect(await outbox.admit(f, TEXT, options(at(WINDOW * 3)))).toEqual({
      status: 'duplicate',
      alertId: first.alertId,
    });
    expect((await outbox.get(first.alertId))!.count).toBe(1);
  });

  it('merges a different event with the same repeat key within the window: count 2, lastAt updated, summary owed', async () => {
    const first = expectNew(
      await outbox.admit(makeFinding({ context: { at: '2026-11-02T23:00:00Z' } }), TEXT, options(T0)),
    );
    const second = await outbox.admit(
      makeFinding({
        context: { at: '2026-11-02T23:10:00Z', sourceIpAddress: '203.0.113.9', roleSessionName: 'other' },
      }),
      TEXT,
      options(at(600)),
    );
    expect(second).toEqual({ status: 'merged', alertId: first.alertId });
    const stored = (await outbox.get(first.alertId))!;
    expect(stored).toMatchObject({
      count: 2,
      firstAt: '2026-11-02T23:00:00Z',
      lastAt: '2026-11-02T23:10:00Z',
      summary: 'due',
    });
    // The alert keeps the first finding.
    expect(stored.finding.context.sourceIpAddress).toBe('198.51.100.77');
    const third = makeFinding({ context: { at: '2026-11-02T23:20:00Z' } });
    expect(await outbox.admit(third, TEXT, options(at(1200)))).toEqual({ status: 'merged', alertId: first.alertId });
    expect(await outbox.get(first.alertId)).toMatchObject({ count: 3, lastAt: '2026-11-02T23:20:00Z' });
    // A redelivery of a merged event is a duplicate, not another repeat.
    expect(await outbox.admit(third, TEXT, options(at(1300)))).toEqual({ status: 'duplicate', alertId: first.alertId });
    expect((await outbox.get(first.alertId))!.count).toBe(3);
  });

  it('does not merge findings with a different repeat key', async () => {
    const first = expectNew(await outbox.admit(makeFinding(), TEXT, options(T0)));
    const others = [
      makeFinding({ kind: 'missing-external-id' }),
      makeFinding({ callerAccountId: '444455556666' }),
      makeFinding({ context: { externalId: 'othe…#12345678' } }),
    ];
    for (const other of others) {
      const alert = expectNew(await outbox.admit(other, TEXT, options(at(10))));
      expect(alert.alertId).not.toBe(first.alertId);
    }
  });

  it('opens a new alert once the window has ended', async () => {
    const first = expectNew(await outbox.admit(makeFinding(), TEXT, options(T0)));
    expect((await outbox.admit(makeFinding(), TEXT, options(at(WINDOW - 1)))).status).toBe('merged');
    const next = expectNew(
      await outbox.admit(makeFinding({ context: { at: '2026-11-03T00:00:00Z' } }), TEXT, options(at(WINDOW))),
    );
    expect(next.alertId).not.toBe(first.alertId);
    expect(next.windowEndsAt).toBe(at(2 * WINDOW).toISOString());
    // The new window takes the repeats now; the old alert keeps its count.
    expect(await outbox.admit(makeFinding(), TEXT, options(at(WINDOW + 60)))).toEqual({
      status: 'merged',
      alertId: next.alertId,
    });
    expect((await outbox.get(first.alertId))!.count).toBe(2);
    expect((await outbox.get(next.alertId))!.count).toBe(2);
  });

  it('admits concurrent copies of one finding exactly once', async () => {
    const f = makeFinding();
    const results = await Promise.all(
      Array.from({ length: 5 }, () => outbox.admit(structuredClone(f), TEXT, options(T0))),
    );
    const fresh = results.filter((r) => r.status === 'new');
    expect(fresh).toHaveLength(1);
    const alertId = (fresh[0] as { alert: StoredAlert }).alert.alertId;
    expect(results.filter((r) => r.status === 'duplicate')).toEqual(Array(4).fill({ status: 'duplicate', alertId }));
    expect((await outbox.get(alertId))!.count).toBe(1);
  });

  it('merges concurrent repeats into one alert and counts each', async () => {
    const results = await Promise.all(Array.from({ length: 5 }, () => outbox.admit(makeFinding(), TEXT, options(T0))));
    const fresh = results.filter((r) => r.status === 'new');
    expect(fresh).toHaveLength(1);
    const alertId = (fresh[0] as { alert: StoredAlert }).alert.alertId;
    expect(results.filter((r) => r.status === 'merged')).toEqual(Array(4).fill({ status: 'merged', alertId }));
    expect((await outbox.get(alertId))!.count).toBe(5);
  });
});

/**
 * A client on which the given transactions (counted from 1) are cancelled by a conflicting write, as DynamoDB does
 * when two invocations write the same items at once. DynamoDB Local serialises transactions, so it never does.
 */
function conflicting(failing: number[]): { client: DynamoDBDocumentClient; transactions: () => number } {
  let n = 0;
  const client = {
    send: async (command: unknown) => {
      if (command instanceof TransactWriteCommand && failing.includes(++n)) {
        const reasons = (command.input.TransactItems ?? []).map((_, i) => ({
          Code: i === 1 ? 'TransactionConflict' : 'None',
        }));
        throw new TransactionCanceledException({
          message:
            'Transaction cancelled, please refer cancellation reasons for specific reasons [None, TransactionConflict, None]',
          $metadata: { httpStatusCode: 400 },
          CancellationReasons: reasons,
        });
      }
      return doc.send(command as never);
    },
  } as unknown as DynamoDBDocumentClient;
  return { client, transactions: () => n };
}

describe('outbox.admit under conflicting writes', () => {
  it('admits a new finding when its transaction was cancelled by a conflict', async () => {
    const { client, transactions } = conflicting([1, 2]);
    const alert = expectNew(await createOutbox(client, table).admit(makeFinding(), TEXT, options(T0)));
    expect(transactions()).toBe(3);
    expect((await outbox.get(alert.alertId))!.count).toBe(1);
  });

  it('merges a repeat when the merge was cancelled by a conflict', async () => {
    const first = expectNew(await outbox.admit(makeFinding(), TEXT, options(T0)));
    // Transaction 1 finds the window open; transaction 2 (the merge) conflicts; 3 finds the window; 4 merges.
    const { client } = conflicting([2]);
    expect(await createOutbox(client, table).admit(makeFinding(), TEXT, options(at(5)))).toEqual({
      status: 'merged',
      alertId: first.alertId,
    });
    expect((await outbox.get(first.alertId))!.count).toBe(2);
  });

  it('gives up, throwing, when the conflict does not clear', async () => {
    const { client } = conflicting([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    await expect(createOutbox(client, table).admit(makeFinding(), TEXT, options(T0))).rejects.toBeInstanceOf(
      TransactionCanceledException,
    );
  });
});

describe('outbox.admit in a dry run', () => {
  it('records the alert with no channel pending; dismiss takes it out of the due index', async () => {
    const f = makeFinding();
    const alert = expectNew(await outbox.admit(f, TEXT, { ...options(T0), dryRun: true }));
    expect(alert).toMatchObject({
      dryRun: true,
      channels: { slack: 'skipped', sns: 'skipped' },
      count: 1,
      state: 'pending',
      summary: 'none',
    });
    expect(await outbox.get(alert.alertId)).toEqual(alert);
    // Listed (so a run can be inspected) until the sweep dismisses it.
    expect((await outbox.due(T0)).map((a) => a.alertId)).toEqual([alert.alertId]);
    // A repeat is counted and owes no summary.
    expect(await outbox.admit(makeFinding(), TEXT, { ...options(at(60)), dryRun: true })).toEqual({
      status: 'merged',
      alertId: alert.alertId,
    });
    expect(await outbox.get(alert.alertId)).toMatchObject({ count: 2, summary: 'none' });
    await outbox.dismiss(alert.alertId);
    expect(await item(alert.alertId)).not.toHaveProperty('dueAt');
    expect(await outbox.due(at(10 * WINDOW))).toEqual([]);
    // A repeat after dismissal does not bring it back.
    await outbox.admit(makeFinding(), TEXT, { ...options(at(120)), dryRun: true });
    expect(await outbox.due(at(10 * WINDOW))).toEqual([]);
    expect((await outbox.get(alert.alertId))!.count).toBe(3);
  });

  it('keeps dry-run findings and windows apart from live ones', async () => {
    const f = makeFinding();
    const dry = expectNew(await outbox.admit(f, TEXT, { ...options(T0), dryRun: true }));
    const live = expectNew(await outbox.admit(f, TEXT, options(at(1))));
    expect(live.alertId).not.toBe(dry.alertId);
    expect(live.channels).toEqual({ slack: 'pending', sns: 'pending' });
    expect(await outbox.admit(f, TEXT, { ...options(at(2)), dryRun: true })).toEqual({
      status: 'duplicate',
      alertId: dry.alertId,
    });
    expect(await outbox.admit(makeFinding(), TEXT, options(at(3)))).toEqual({
      status: 'merged',
      alertId: live.alertId,
    });
    expect((await outbox.get(dry.alertId))!.count).toBe(1);
  });
});

describe('outbox delivery state', () => {
  it('markSent and settle(delivered) take a delivered alert without repeats out of the due index', async () => {
    const alert = expectNew(await outbox.admit(makeFinding(), TEXT, options(T0)));
    await outbox.markSent(alert.alertId, 'slack');
    expect((await outbox.get(alert.alertId))!.channels).toEqual({ slack: 'sent', sns: 'pending' });
    await outbox.markSent(alert.alertId, 'sns');
    await outbox.settle(alert.alertId, { delivered: true, now: T0 });
    expect(await outbox.get(alert.alertId)).toMatchObject({
      channels: { slack: 'sent', sns: 'sent' },
      state: 'delivered',
      attempts: 1,
    });
    expect(await item(alert.alertId)).not.toHaveProperty('dueAt');
    expect(await outbox.due(at(10 * WINDOW))).toEqual([]);
  });

  it('settle(not delivered) keeps it due at the retry time; failed takes it out for good', async () => {
    const alert = expectNew(await outbox.admit(makeFinding(), TEXT, options(T0)));
    await outbox.settle(alert.alertId, { delivered: false, now: T0, retryAt: at(30) });
    expect(await outbox.get(alert.alertId)).toMatchObject({ state: 'pending', attempts: 1 });
    expect(await item(alert.alertId)).toMatchObject({
      dueShard: dueShardOf(`alert#${alert.alertId}`),
      dueAt: at(30).toISOString(),
    });
    expect(await outbox.due(at(29))).toEqual([]);
    expect((await outbox.due(at(30))).map((a) => a.alertId)).toEqual([alert.alertId]);
    await outbox.settle(alert.alertId, { delivered: false, now: at(30), failed: true });
    expect(await outbox.get(alert.alertId)).toMatchObject({ state: 'failed', attempts: 2 });
    expect(await outbox.due(at(10 * WINDOW))).toEqual([]);
  });

  it('a delivered alert with repeats stays due until its window ends, for the summary', async () => {
    const alert = expectNew(await outbox.admit(makeFinding(), TEXT, options(T0)));
    await outbox.admit(makeFinding(), TEXT, options(at(60)));
    await outbox.settle(alert.alertId, { delivered: true, now: at(61) });
    expect(await outbox.due(at(WINDOW - 1))).toEqual([]);
    const due = await outbox.due(at(WINDOW));
    expect(due.map((a) => [a.alertId, a.state, a.summary, a.count])).toEqual([[alert.alertId, 'delivered', 'due', 2]]);
    await outbox.markSummarySent(alert.alertId);
    expect((await outbox.get(alert.alertId))!.summary).toBe('sent');
    expect(await outbox.due(at(10 * WINDOW))).toEqual([]);
  });

  it('a repeat merged after delivery puts the alert back in the due index at the window end', async () => {
    const alert = expectNew(await outbox.admit(makeFinding(), TEXT, options(T0)));
    await outbox.settle(alert.alertId, { delivered: true, now: at(1) });
    expect(await outbox.due(at(10 * WINDOW))).toEqual([]);
    await outbox.admit(makeFinding(), TEXT, options(at(120)));
    expect(await item(alert.alertId)).toMatchObject({
      dueShard: dueShardOf(`alert#${alert.alertId}`),
      dueAt: at(WINDOW).toISOString(),
    });
    expect(await outbox.due(at(WINDOW - 1))).toEqual([]);
    expect((await outbox.due(at(WINDOW))).map((a) => a.alertId)).toEqual([alert.alertId]);
  });

  it('a repeat merged while delivery is being retried keeps the retry time', async () => {
    const alert = expectNew(await outbox.admit(makeFinding(), TEXT, options(T0)));
    await outbox.settle(alert.alertId, { delivered: false, now: T0, retryAt: at(30) });
    await outbox.admit(makeFinding(), TEXT, options(at(10)));
    expect(await item(alert.alertId)).toMatchObject({ dueAt: at(30).toISOString() });
  });

  it('lists due alerts oldest first, up to the limit', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push(
        expectNew(await outbox.admit(makeFinding({ callerAccountId: `99998888777${i}` }), TEXT, options(at(i))))
          .alertId,
      );
    expect((await outbox.due(at(10))).map((a) => a.alertId)).toEqual(ids);
    expect((await outbox.due(at(10), 2)).map((a) => a.alertId)).toEqual(ids.slice(0, 2));
    expect((await outbox.due(at(1))).map((a) => a.alertId)).toEqual(ids.slice(0, 2));
  });
});
