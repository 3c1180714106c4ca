import { randomUUID } from 'node:crypto';
import { type DynamoDBDocumentClient, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { alertsTableDefinition, createOutbox } from '../../lib/alert/index.js';
import { DUE_SHARDS, dueShardOf } from '../../lib/dynamo/due-table.js';
import { ensureTable } from '../../lib/local/tables.js';
import { createRevocationStore, type RevocationIntent, revocationsTableDefinition } from '../../lib/revoke/store.js';
import { testDynamo } from '../helpers/dynamo.js';
import { makeFinding } from '../unit/alert/fixtures.js';

// The due index is spread over shards by a hash of each item's key; the sweep queries every shard (and the one
// constant shard items had before), oldest first overall.
let doc: DynamoDBDocumentClient;
beforeAll(() => {
  doc = testDynamo();
});
afterAll(() => doc.destroy());

const ROLE = 'arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit';
const T0 = Date.parse('2026-11-02T10:00:00Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000);
const fields = (n: number) => ({
  intentId: `i-${String(n).padStart(3, '0')}`,
  roleArn: ROLE,
  roleName: 'ExampleCorpAudit',
  addition: {
    role: null,
    sessions: [
      {
        assumedRoleId: `AROA3XFRBF23EXAMPLE1:s-${n}`,
        decidedAt: '2026-11-02T10:00:01Z',
        pruneAfter: '2026-11-02T22:00:00Z',
      },
    ],
  },
  source: { kind: 'manual' as const, requestedBy: null, reason: null },
  caller: null,
  dryRun: false,
  createdAt: at(0).toISOString(),
});

describe('the sharded due index', () => {
  it('spreads due intents over several shards, and the sweep finds them all, a legacy one too, oldest first', async () => {
    const table = `revocations-${randomUUID()}`;
    await ensureTable(doc, revocationsTableDefinition(table));
    const store = createRevocationStore(doc, table);
    // 40 intents, each due a minute after the previous one (from 10:01).
    for (let n = 1; n <= 40; n++) await store.record(fields(n), { dueAt: at(n) });
    // One written before the upgrade, on the one constant shard, due first.
    const legacy: RevocationIntent = {
      ...fields(0),
      state: 'pending',
      attempts: 0,
      lastError: null,
      appliedAt: null,
      policyDocument: null,
      fellBack: false,
    };
    await doc.send(
      new PutCommand({
        TableName: table,
        Item: { pk: 'intent#i-000', intent: legacy, dueShard: 'due', dueAt: at(0).toISOString() },
      }),
    );
    const shards = new Set(
      ((await doc.send(new ScanCommand({ TableName: table }))).Items ?? []).map((i) => String(i.dueShard)),
    );
    expect(shards.size).toBeGreaterThan(5);
    expect([...shards].every((s) => s === 'due' || /^due#\d+$/.test(s))).toBe(true);
    expect(dueShardOf('intent#i-001')).toBe(dueShardOf('intent#i-001'));
    expect(Number(dueShardOf('intent#i-001').slice(4))).toBeLessThan(DUE_SHARDS);

    const due = await store.due(at(40));
    expect(due.map((d) => (d.kind === 'intent' ? d.intent.intentId : d.roleArn))).toEqual(
      Array.from({ length: 41 }, (_, n) => `i-${String(n).padStart(3, '0')}`),
    );
    // Oldest first overall, and the limit takes the oldest.
    expect((await store.due(at(40), 5)).map((d) => (d.kind === 'intent' ? d.intent.intentId : ''))).toEqual([
      'i-000',
      'i-001',
      'i-002',
      'i-003',
      'i-004',
    ]);
    expect(await store.due(new Date(T0 - 1))).toEqual([]);
    // Settled, an item leaves its shard; the legacy one too.
    await store.settle('i-000', { state: 'applied', at: at(1), policyDocument: null, fellBack: false });
    await store.settle('i-007', { state: 'applied', at: at(1), policyDocument: null, fellBack: false });
    expect((await store.due(at(40))).length).toBe(39);
    // A role's prune item is due on its own shard.
    await store.trackPolicy(ROLE, 'ExampleCorpAudit', at(50).toISOString());
    expect((await store.due(at(50))).filter((d) => d.kind === 'policy')).toEqual([
      { kind: 'policy', roleArn: ROLE, roleName: 'ExampleCorpAudit', pruneAt: at(50).toISOString() },
    ]);
  });

  it('the outbox sweep finds alerts on every shard and a legacy alert', async () => {
    const table = `alerts-${randomUUID()}`;
    await ensureTable(doc, alertsTableDefinition(table));
    const outbox = createOutbox(doc, table);
    const ids: string[] = [];
    for (let n = 0; n < 20; n++) {
      const admission = await outbox.admit(
        makeFinding({ eventId: `e-${n}`, roleArn: `${ROLE}-${n}` }),
        { action: 'a', nextStep: 'n' },
        { now: at(n), windowSeconds: 3600, channels: ['sns'] },
      );
      if (admission.status === 'new') ids.push(admission.alert.alertId);
    }
    expect(ids).toHaveLength(20);
    const legacy = await outbox.admit(
      makeFinding({ eventId: 'e-legacy', roleArn: `${ROLE}-legacy` }),
      { action: 'a', nextStep: 'n' },
      { now: at(0), windowSeconds: 3600, channels: ['sns'] },
    );
    if (legacy.status !== 'new') throw new Error('not new');
    // Written as the code before sharding wrote it: the constant shard.
    await doc.send(
      new PutCommand({
        TableName: table,
        Item: {
          pk: `alert#${legacy.alert.alertId}`,
          alert: legacy.alert,
          dueShard: 'due',
          dueAt: at(-1).toISOString(),
        },
      }),
    );
    const items = (await doc.send(new ScanCommand({ TableName: table }))).Items ?? [];
    expect(new Set(items.filter((i) => i.dueShard).map((i) => i.dueShard)).size).toBeGreaterThan(5);
    const due = (await outbox.due(at(30))).map((a) => a.alertId);
    expect(due).toEqual([legacy.alert.alertId, ...ids]);
  });
});
