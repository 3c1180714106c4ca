import { TransactionConflictException } from '@aws-sdk/client-dynamodb';
import { GetRolePolicyCommand, IAMClient, NoSuchEntityException, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import type { Config } from '../../lib/config.js';
import { applyRevocations, legacyRoleLockKey, roleLockKey } from '../../lib/revoke/apply.js';
import { acquireLock, heldLock, LockTimeoutError, lockItemKey } from '../../lib/revoke/lock.js';
import { createSessionsTable, createTestTables, testDynamo } from '../helpers/dynamo.js';
import { memoryLogger } from '../helpers/logger.js';

// The fast path takes and gives up a role's lock inside TransactWriteItems. A plain Put or Delete of the lock item
// while such a transaction is under way fails with TransactionConflictException (which the SDK does not retry):
// waiting for the lock, or giving it up, must ride that out; and a lock that cannot be given up must never turn a
// revocation that IAM took into a failure (its lease ends it).
let doc: DynamoDBDocumentClient;
let config: Config;
const iamMock = mockClient(IAMClient);
const ROLE = 'arn:aws:iam::111122223333:role/vendors/Conflicted';

/** The next `count` Put/Delete calls on a lock item fail as if a transaction were writing it. */
function conflicts(client: DynamoDBDocumentClient, count: number, error?: () => Error) {
  const left = { count };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = (args as { input: { Key?: { pk?: string }; Item?: { pk?: string } } }).input;
      const pk = String(input.Key?.pk ?? input.Item?.pk ?? '');
      if (/^(Put|Delete)/.test(String(context.commandName)) && pk.startsWith('lock#') && left.count > 0) {
        left.count--;
        throw error
          ? error()
          : new TransactionConflictException({ message: 'Transaction is ongoing for the item', $metadata: {} });
      }
      return next(args);
    },
    { step: 'initialize', name: `conflicts-${Math.random()}` },
  );
  return left;
}

const lockItem = async (key: string) =>
  (await doc.send(new GetCommand({ TableName: config.revocationsTable!, Key: lockItemKey(key) }))).Item;

beforeAll(async () => {
  doc = testDynamo();
  config = await createTestTables(doc, await createSessionsTable(doc));
  iamMock.on(GetRolePolicyCommand).rejects(new NoSuchEntityException({ message: 'not found', $metadata: {} }));
  iamMock.on(PutRolePolicyCommand).resolves({});
});
afterAll(() => {
  iamMock.restore();
  doc.destroy();
});

describe('the role lock and a transaction writing its item', () => {
  it('a waiter whose put conflicts with a transaction waits and takes the lock', async () => {
    const client = testDynamo();
    const left = conflicts(client, 2);
    const lock = await acquireLock(client, config.revocationsTable!, 'role#conflict-wait', {
      leaseMs: 30_000,
      waitMs: 5_000,
    });
    expect(left.count).toBe(0);
    expect(await lockItem('role#conflict-wait')).toMatchObject({ owner: lock.owner });
    client.destroy();
  });

  it('a release that conflicts with a transaction is tried again and gives the lock up', async () => {
    const client = testDynamo();
    await doc.send(
      new PutCommand({
        TableName: config.revocationsTable!,
        Item: { ...lockItemKey('role#conflict-release'), owner: 'me', leaseUntil: Date.now() + 30_000 },
      }),
    );
    const left = conflicts(client, 2);
    await heldLock(client, config.revocationsTable!, 'role#conflict-release', 'me').release();
    expect(left.count).toBe(0);
    expect(await lockItem('role#conflict-release')).toBeUndefined();
    client.destroy();
  });

  it('a lock that cannot be given up does not turn a written revocation into an error: logged, its lease ends it', async () => {
    const client = testDynamo();
    const { logger, lines } = memoryLogger();
    const iam = new IAMClient({ region: 'us-east-1' });
    const deps = { iam, dynamo: client, lockTable: config.revocationsTable!, lock: { leaseMs: 30_000, waitMs: 5_000 } };
    // Taken normally; then every attempt to give it up fails.
    let failing = false;
    const denied = () => Object.assign(new Error('the table is not reachable'), { name: 'InternalServerError' });
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (failing && /^Delete/.test(String(context.commandName))) throw denied();
        return next(args);
      },
      { step: 'initialize', name: 'release-fails' },
    );
    const applied = await applyRevocations(
      { ...deps, logger },
      ROLE,
      [
        {
          role: null,
          sessions: [
            {
              assumedRoleId: 'AROA3XFRBF23EXAMPLE1:scan-1',
              decidedAt: '2026-11-02T10:00:00Z',
              pruneAfter: '2099-11-02T22:00:00Z',
            },
          ],
        },
      ],
      new Date('2026-11-02T10:00:00Z'),
      {
        dryRun: false,
        whileLocked: async () => {
          failing = true;
        },
      },
    );
    expect(applied).toMatchObject({ written: true });
    expect(iamMock.commandCalls(PutRolePolicyCommand)).toHaveLength(1);
    // Still held: it ends by its lease.
    expect(await lockItem(roleLockKey(ROLE))).toBeDefined();
    expect(lines.some((l) => /could not be given up/.test(l))).toBe(true);
    client.destroy();
  });
});

describe('a rolling upgrade: a function of the previous version locks the role by name only', () => {
  it('a writer of this version waits for the lock the old one holds under `role#<name>`, then writes', async () => {
    const arn = 'arn:aws:iam::111122223333:role/vendors/Upgrading';
    const iam = new IAMClient({ region: 'us-east-1' });
    const deps = { iam, dynamo: doc, lockTable: config.revocationsTable!, lock: { leaseMs: 30_000, waitMs: 300 } };
    const addition = {
      role: null,
      sessions: [
        {
          assumedRoleId: 'AROA3XFRBF23EXAMPLE1:scan-2',
          decidedAt: '2026-11-02T10:00:00Z',
          pruneAfter: '2099-01-01T00:00:00Z',
        },
      ],
    };
    // The old function takes the lock as it always did: `lock#role#Upgrading`.
    expect(legacyRoleLockKey(arn)).toBe('role#Upgrading');
    const old = await acquireLock(doc, config.revocationsTable!, 'role#Upgrading', { leaseMs: 30_000, waitMs: 1_000 });
    const before = iamMock.commandCalls(PutRolePolicyCommand).length;
    await expect(
      applyRevocations(deps, arn, [addition], new Date('2026-11-02T10:00:00Z'), { dryRun: false }),
    ).rejects.toThrow(LockTimeoutError);
    expect(iamMock.commandCalls(PutRolePolicyCommand)).toHaveLength(before);
    // Nothing of this writer is left held: the old function's lock is still its own.
    expect(await lockItem(roleLockKey(arn))).toBeUndefined();
    expect(await lockItem('role#Upgrading')).toMatchObject({ owner: old.owner });
    await old.release();
    expect(
      await applyRevocations(deps, arn, [addition], new Date('2026-11-02T10:00:00Z'), { dryRun: false }),
    ).toMatchObject({ written: true });
    expect(iamMock.commandCalls(PutRolePolicyCommand)).toHaveLength(before + 1);
    // Both keys given up.
    expect(await lockItem(roleLockKey(arn))).toBeUndefined();
    expect(await lockItem('role#Upgrading')).toBeUndefined();
  });

  it("a role of a member account has no legacy key (the old version wrote the hub's own roles only): it does not wait", async () => {
    const hub = '111122223333';
    const member = 'arn:aws:iam::444455556666:role/vendors/Upgrading';
    expect(legacyRoleLockKey(member, hub)).toBeNull();
    expect(legacyRoleLockKey('arn:aws:iam::111122223333:role/vendors/Upgrading', hub)).toBe('role#Upgrading');
    const iam = new IAMClient({ region: 'us-east-1' });
    const deps = {
      iam,
      dynamo: doc,
      lockTable: config.revocationsTable!,
      lock: { leaseMs: 30_000, waitMs: 300 },
      hubAccountId: hub,
    };
    const addition = {
      role: null,
      sessions: [
        {
          assumedRoleId: 'AROA3XFRBF23EXAMPLE2:scan-3',
          decidedAt: '2026-11-02T10:00:00Z',
          pruneAfter: '2099-01-01T00:00:00Z',
        },
      ],
    };
    // The hub's same-named role is locked by name (an old function at work): the member's role is another role.
    const old = await acquireLock(doc, config.revocationsTable!, 'role#Upgrading', { leaseMs: 30_000, waitMs: 1_000 });
    const before = iamMock.commandCalls(PutRolePolicyCommand).length;
    expect(
      await applyRevocations(deps, member, [addition], new Date('2026-11-02T10:00:00Z'), { dryRun: false }),
    ).toMatchObject({ written: true });
    expect(iamMock.commandCalls(PutRolePolicyCommand)).toHaveLength(before + 1);
    await old.release();
    iam.destroy();
  });
});
