import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { IAMClient } from '@aws-sdk/client-iam';
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from '@jest/globals';
import { slackSender } from '../../lib/alert/index.js';
import { createDeps } from '../../lib/deps.js';
import { processRecord } from '../../lib/pipeline.js';
import { parseRegistryText } from '../../lib/registry/text.js';
import { liveRevoker, type RevocationDeps, revoke, sweepRevocations } from '../../lib/revoke/service.js';
import { createRevocationStore, intentIdFor } from '../../lib/revoke/store.js';
import { SESSION_INDEX, sharedSessionKey } from '../../lib/sessions/index.js';
import { createSessionsTable, createTestTables, testDynamo } from '../helpers/dynamo.js';
import type { FakeServer } from '../helpers/fake-aws.js';
import { useLiveParts } from '../helpers/live-parts.js';
import { memoryLogger } from '../helpers/logger.js';
import { type EmulatedIam, ROLE_ID, sessionDecision, vendorAssume } from '../helpers/revocation.js';

// An event whose session is revoked writes its session with the revocation's opening transaction, and its alert
// with the closing one. The guarantees stay: a crash after the opening one leaves the intent due and the session
// unprocessed; kept revocations read before the lock are used only while nobody changed them.
const ROLE = 'arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit';
const GOOD = 'ec-7Hq2vN9xK4pL8mR3';
const WRONG = 'tenant-4711-of-example-corp';
const REGISTRY = `
roles:
  - roleArn: ${ROLE}
    vendor: Example Corp
    trustedAccounts: ["999988887777"]
    externalIds: { current: "${GOOD}" }
    response: revoke
`;

let doc: DynamoDBDocumentClient;
let iam: EmulatedIam;
let slack: FakeServer;
useLiveParts((parts) => {
  ({ doc, iam, slack } = parts);
});

type Hook = (command: string, input: Record<string, unknown>, phase: 'before' | 'after') => Promise<void>;

/** One instance: its own client (with a hook on every call), a lock clock the test moves, and onAssumeRole's deps. */
async function instance(config: Awaited<ReturnType<typeof createTestTables>>, clock: { ms: number }) {
  let hook: Hook = async () => undefined;
  const client = testDynamo();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = String(context.commandName).replace(/Command$/, '');
      const input = (args as { input: Record<string, unknown> }).input;
      log.push(`dynamodb:${command}`);
      if (command === 'Query') queries.push(String(input.IndexName ?? input.TableName));
      await hook(command, input, 'before');
      const out = await next(args);
      await hook(command, input, 'after');
      return out;
    },
    { step: 'initialize', name: 'hook' },
  );
  const { logger } = memoryLogger();
  // Every call in order, DynamoDB's (through the hook) and IAM's.
  const log: string[] = [];
  // The index (or table) each Query reads.
  const queries: string[] = [];
  const iamClient = new IAMClient({ region: 'us-east-1' });
  const send = iamClient.send.bind(iamClient);
  iamClient.send = ((command: { constructor: { name: string } }) => {
    log.push(`iam:${command.constructor.name.replace(/Command$/, '')}`);
    return send(command as never);
  }) as typeof iamClient.send;
  const revoking: RevocationDeps = {
    iam: iamClient,
    dynamo: client,
    store: createRevocationStore(client, config.revocationsTable!),
    logger,
    retry: { baseMs: 1 },
    lock: { leaseMs: 60_000, waitMs: 200, now: () => clock.ms },
  };
  const deps = createDeps(config, {
    dynamo: client,
    logger,
    registry: parseRegistryText(REGISTRY, 'r.yaml'),
    senders: { slack: slackSender(`${slack.url}/services/T0/B0/secret`) },
    revoker: liveRevoker(revoking),
  });
  return {
    revoking,
    log,
    queries,
    setHook: (h: Hook) => {
      hook = h;
    },
    process: (record: Record<string, unknown>, at: string) => processRecord(record, deps, { now: () => new Date(at) }),
    close: () => client.destroy(),
  };
}

// Every event carries its own sharedEventID (as in CloudTrail; `vendorAssume` derives it from the event id), so the
// store keeps its session under the shared key: the real case, which the fast path's session rider claims.
const sessionPk = (id: string) => sharedSessionKey(`shared-${id}`);

const wrong = (id: string, session: string) =>
  vendorAssume({ id, time: '2026-11-02T10:05:00Z', session, externalId: WRONG });

describe('the revocation transactions that carry the session and the alert', () => {
  it('an event whose session is revoked: one batched read, the name query and the opening transaction before the deny; the closing transaction and one delivery write after', async () => {
    const config = await createTestTables(doc, await createSessionsTable(doc));
    const a = await instance(config, { ms: Date.now() });
    // Warm: the registry is read and the role's RoleId noted.
    await a.process(
      vendorAssume({ id: 'good-1', time: '2026-11-02T10:00:00Z', session: 'v-1', externalId: GOOD }),
      '2026-11-02T10:00:03Z',
    );
    a.log.length = 0;
    const out = await a.process(wrong('wrong-1', 'scan-1'), '2026-11-02T10:05:03Z');
    expect(out).toMatchObject({ status: 'recorded', recording: 'new' });
    expect(a.log).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:Query',
      'dynamodb:TransactWriteItems',
      'iam:GetRolePolicy',
      'iam:PutRolePolicy',
      'dynamodb:TransactWriteItems',
      // Slack (not an AWS call) took the alert: its delivery recorded in one write.
      'dynamodb:UpdateItem',
    ]);
    expect(slack.received).toHaveLength(1);
    expect(await sessionDecision(iam.policy('ExampleCorpAudit'), 'scan-1', '2026-11-02T10:05:00Z')).toBe('Denied');
    const session = await doc.send(
      new GetCommand({ TableName: config.sessionsTable, Key: { pk: sessionPk('wrong-1') } }),
    );
    expect(session.Item).toMatchObject({ state: 'done', eventId: 'wrong-1', sharedEventId: 'shared-wrong-1' });
    // A redelivery: nothing written, nothing alerted.
    expect((await a.process(wrong('wrong-1', 'scan-1'), '2026-11-02T10:06:00Z')).status).toBe('duplicate');
    expect(iam.written()).toBe(1);
    expect(slack.received).toHaveLength(1);
    a.close();
  });

  it("a repeat within the alert's merge window: the closing transaction goes without the alert, which is merged", async () => {
    const config = await createTestTables(doc, await createSessionsTable(doc));
    const a = await instance(config, { ms: Date.now() });
    await a.process(wrong('wrong-1', 'scan-1'), '2026-11-02T10:05:03Z');
    // Another principal of the same account with the same ID (not "came back"): the same repeat key.
    const second = vendorAssume({
      id: 'wrong-2',
      time: '2026-11-02T10:07:00Z',
      session: 'scan-2',
      externalId: WRONG,
      principal: 'AIDAOTHERTENANT00001',
    });
    const out = await a.process(second, '2026-11-02T10:07:03Z');
    expect(out).toMatchObject({ status: 'recorded', recording: 'new' });
    // Both sessions revoked, one alert (the repeat merged into it), both sessions processed.
    const policy = iam.policy('ExampleCorpAudit');
    expect(await sessionDecision(policy, 'scan-1', '2026-11-02T10:05:00Z')).toBe('Denied');
    expect(await sessionDecision(policy, 'scan-2', '2026-11-02T10:07:00Z')).toBe('Denied');
    expect(slack.received).toHaveLength(1);
    // Settled by the closing transaction, retried without the alert's admission (its window was open).
    expect(await a.revoking.store.get(intentIdFor('111122223333', 'wrong-2', 'revoke-session'))).toMatchObject({
      state: 'applied',
    });
    for (const id of ['wrong-1', 'wrong-2'])
      expect(
        (await doc.send(new GetCommand({ TableName: config.sessionsTable, Key: { pk: sessionPk(id) } }))).Item,
      ).toMatchObject({ state: 'done' });
    expect((await a.process(second, '2026-11-02T10:08:00Z')).status).toBe('duplicate');
    a.close();
  });

  it('a crash right after the opening transaction leaves the session unprocessed and the intent due: the sweep applies it, the redelivery alerts once', async () => {
    const config = await createTestTables(doc, await createSessionsTable(doc));
    const clock = { ms: Date.parse('2026-11-02T10:05:03Z') };
    const a = await instance(config, clock);
    // The function dies as soon as the transaction carrying the session has gone through.
    let crashed = false;
    a.setHook(async (command, input, phase) => {
      const items = (input.TransactItems ?? []) as { Put?: { TableName: string } }[];
      if (phase === 'after' && command === 'TransactWriteItems' && !crashed)
        if (items.some((i) => i.Put?.TableName === config.sessionsTable)) {
          crashed = true;
          throw new Error('the function died');
        }
    });
    await expect(a.process(wrong('wrong-1', 'scan-1'), '2026-11-02T10:05:03Z')).rejects.toThrow('the function died');
    expect(iam.written()).toBe(0);
    const session = await doc.send(
      new GetCommand({ TableName: config.sessionsTable, Key: { pk: sessionPk('wrong-1') } }),
    );
    expect(session.Item).toMatchObject({ state: 'pending' });
    const intentId = intentIdFor('111122223333', 'wrong-1', 'revoke-session');
    expect(await a.revoking.store.get(intentId)).toMatchObject({ state: 'pending' });
    // Due for the sweep once the live path's grace is over (and the dead holder's lease has run out).
    expect(await a.revoking.store.due(new Date('2026-11-02T10:05:30Z'))).toEqual([]);
    const due = await a.revoking.store.due(new Date('2026-11-02T10:06:10Z'));
    expect(due).toEqual([expect.objectContaining({ kind: 'intent' })]);
    clock.ms = Date.parse('2026-11-02T10:06:10Z');
    expect(await sweepRevocations(a.revoking, new Date('2026-11-02T10:06:10Z'))).toMatchObject({ applied: 1 });
    expect(iam.written()).toBe(1);
    expect(await sessionDecision(iam.policy('ExampleCorpAudit'), 'scan-1', '2026-11-02T10:05:00Z')).toBe('Denied');
    // Lambda redelivers the event: the session is unfinished, so it is answered again; written once, alerted once.
    const again = await a.process(wrong('wrong-1', 'scan-1'), '2026-11-02T10:06:20Z');
    expect(again).toMatchObject({ status: 'recorded', recording: 'unfinished' });
    expect(iam.written()).toBe(1);
    expect(slack.received).toHaveLength(1);
    expect(JSON.stringify(slack.received[0]!.body)).toContain('Revoked this session');
    const done = await a.process(wrong('wrong-1', 'scan-1'), '2026-11-02T10:07:00Z');
    expect(done.status).toBe('duplicate');
    expect(slack.received).toHaveLength(1);
    a.close();
  });

  for (const [where, at] of [
    ['the kept state (one of its own items)', 1],
    ['a rider (the session marked processed)', -1],
  ] as const)
    it(`the closing transaction conflicts with another transaction on ${where}: settled all the same, the alert says revoked`, async () => {
      const config = await createTestTables(doc, await createSessionsTable(doc));
      const a = await instance(config, { ms: Date.now() });
      // The first try of the closing transaction (the one that gives the lock up) is cancelled for a conflict.
      let conflicted = false;
      a.setHook(async (command, input, phase) => {
        const items = (input.TransactItems ?? []) as { Delete?: unknown }[];
        if (phase !== 'before' || command !== 'TransactWriteItems' || conflicted || !items.some((i) => i.Delete))
          return;
        conflicted = true;
        const reasons = items.map(() => ({ Code: 'None' }));
        reasons[at < 0 ? items.length + at : at] = { Code: 'TransactionConflict' };
        throw new TransactionCanceledException({
          message: 'Transaction cancelled',
          $metadata: {},
          CancellationReasons: reasons,
        });
      });
      const out = await a.process(wrong('wrong-1', 'scan-1'), '2026-11-02T10:05:03Z');
      expect(conflicted).toBe(true);
      expect(out).toMatchObject({ status: 'recorded', recording: 'new' });
      const intent = await a.revoking.store.get(intentIdFor('111122223333', 'wrong-1', 'revoke-session'));
      expect(intent).toMatchObject({ state: 'applied' });
      expect(iam.written()).toBe(1);
      expect(slack.received).toHaveLength(1);
      expect(JSON.stringify(slack.received[0]!.body)).toContain('Revoked this session');
      const session = await doc.send(
        new GetCommand({ TableName: config.sessionsTable, Key: { pk: sessionPk('wrong-1') } }),
      );
      expect(session.Item).toMatchObject({ state: 'done' });
      // The lock was given up: another revocation of the role takes it at once.
      expect((await a.process(wrong('wrong-2', 'scan-2'), '2026-11-02T10:05:04Z')).status).toBe('recorded');
      expect(iam.written()).toBe(2);
      a.close();
    });

  it('a rolling upgrade: the lock a function of the previous version holds under the role name alone keeps the fast path from writing', async () => {
    const config = await createTestTables(doc, await createSessionsTable(doc));
    // The wall clock: the step-by-step path waits (200 ms) for the lock, then leaves the intent to the sweep.
    const clock = {
      get ms() {
        return Date.now();
      },
    };
    const a = await instance(config, clock);
    // The old function holds `lock#role#ExampleCorpAudit` (it knows no account) while it writes the role.
    const legacy = { pk: 'lock#role#ExampleCorpAudit' };
    await doc.send(
      new PutCommand({
        TableName: config.revocationsTable!,
        Item: { ...legacy, owner: 'old-version', leaseUntil: clock.ms + 60_000 },
      }),
    );
    const out = await a.process(wrong('wrong-1', 'scan-1'), '2026-11-02T10:05:03Z');
    expect(out).toMatchObject({ status: 'recorded', recording: 'new' });
    // The step-by-step path revokes the same session as of the same time: the name check (a query of the role's
    // sessions) the fast path made holds, and is not made again.
    expect(a.queries.filter((q) => q === SESSION_INDEX.byRole)).toHaveLength(1);
    // Not written alongside the old writer: the intent waits for the sweep, and the alert says so.
    expect(iam.written()).toBe(0);
    const intentId = intentIdFor('111122223333', 'wrong-1', 'revoke-session');
    expect(await a.revoking.store.get(intentId)).toMatchObject({ state: 'pending' });
    // The old function is done: the sweep applies it.
    await doc.send(new DeleteCommand({ TableName: config.revocationsTable!, Key: legacy }));
    expect(await sweepRevocations(a.revoking, new Date('2026-11-02T10:06:10Z'))).toMatchObject({ applied: 1 });
    expect(iam.written()).toBe(1);
    expect(await sessionDecision(iam.policy('ExampleCorpAudit'), 'scan-1', '2026-11-02T10:05:00Z')).toBe('Denied');
    a.close();
  });

  it('two revocations of one caller decided in the same second: the second takes the fast path too', async () => {
    const config = await createTestTables(doc, await createSessionsTable(doc));
    const a = await instance(config, { ms: Date.now() });
    await a.process(wrong('wrong-1', 'scan-1'), '2026-11-02T10:05:03Z');
    a.log.length = 0;
    // The same caller, the same second: its marker's decision time is the same, which is no step back.
    const out = await a.process(wrong('wrong-2', 'scan-2'), '2026-11-02T10:05:03Z');
    expect(out).toMatchObject({ status: 'recorded', recording: 'new' });
    expect(a.log.slice(0, 5)).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:Query',
      'dynamodb:TransactWriteItems',
      'iam:GetRolePolicy',
      'iam:PutRolePolicy',
    ]);
    expect(a.log.filter((c) => c === 'dynamodb:Query')).toHaveLength(1);
    expect(await sessionDecision(iam.policy('ExampleCorpAudit'), 'scan-2', '2026-11-02T10:05:00Z')).toBe('Denied');
    a.close();
  });

  it('kept revocations read before the lock are not used once another instance changed them (a stale IAM read drops nothing)', async () => {
    const config = await createTestTables(doc, await createSessionsTable(doc));
    const clock = { ms: Date.now() };
    const a = await instance(config, clock);
    const b = await instance(config, clock);
    // Right after A's batched read, B revokes another session of the role; IAM's next read is stale (before B's write).
    let raced = false;
    a.setHook(async (command, _input, phase) => {
      if (phase !== 'after' || command !== 'BatchGetItem' || raced) return;
      raced = true;
      const now = new Date('2026-11-02T10:05:02Z');
      await revoke(
        b.revoking,
        {
          intentId: intentIdFor('other', 'b'),
          roleArn: ROLE,
          addition: {
            role: null,
            sessions: [
              {
                assumedRoleId: `${ROLE_ID}:other-b`,
                decidedAt: '2026-11-02T10:05:02Z',
                pruneAfter: '2026-11-02T22:00:00Z',
              },
            ],
          },
          source: { kind: 'manual', requestedBy: null, reason: null },
          caller: null,
          dryRun: false,
        },
        now,
      );
      iam.staleNext(1);
    });
    // The first event of this role also reads a marker (the attacker is not the vendor): batched with the kept state.
    const out = await a.process(wrong('wrong-2', 'scan-2'), '2026-11-02T10:05:03Z');
    expect(raced).toBe(true);
    expect(out).toMatchObject({ status: 'recorded' });
    const policy = iam.policy('ExampleCorpAudit');
    expect(await sessionDecision(policy, 'scan-2', '2026-11-02T10:05:00Z')).toBe('Denied');
    expect(await sessionDecision(policy, 'other-b', '2026-11-02T10:05:00Z')).toBe('Denied');
    a.close();
    b.close();
  });
});
