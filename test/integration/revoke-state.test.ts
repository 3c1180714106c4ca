import { IAMClient } from '@aws-sdk/client-iam';
import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { LeaseLostError } from '../../lib/revoke/lock.js';
import type { RevocationState } from '../../lib/revoke/policy.js';
import {
  keptRevocationPolicy,
  type RevocationDeps,
  reapplyRevocationPolicy,
  revoke,
  sweepRevocations,
} from '../../lib/revoke/service.js';
import { createRevocationStore, intentIdFor } from '../../lib/revoke/store.js';
import { createSessionsTable, createTestTables, testDynamo } from '../helpers/dynamo.js';
import { memoryLogger } from '../helpers/logger.js';
import { type EmulatedIam, emulateIam, ROLE_ID, sessionDecision } from '../helpers/revocation.js';

// IAM is eventually consistent: a read right after another writer's PutRolePolicy can return the older policy. The
// revocations kept in DynamoDB are merged into every read, so such a read never drops a statement.
const ROLE = 'arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit';
const NOW = new Date('2026-11-02T10:10:00Z');

let doc: DynamoDBDocumentClient;
let iam: EmulatedIam;
beforeAll(() => {
  doc = testDynamo();
  iam = emulateIam();
});
afterAll(() => {
  iam.restore();
  doc.destroy();
});
afterEach(() => iam.reset());

async function revoking(): Promise<RevocationDeps> {
  const config = await createTestTables(doc, await createSessionsTable(doc));
  return {
    iam: new IAMClient({ region: 'us-east-1' }),
    dynamo: doc,
    store: createRevocationStore(doc, config.revocationsTable!),
    logger: memoryLogger().logger,
    retry: { baseMs: 1 },
  };
}

const session = (name: string): RevocationState => ({
  role: null,
  sessions: [
    { assumedRoleId: `${ROLE_ID}:${name}`, decidedAt: '2026-11-02T10:10:00Z', pruneAfter: '2026-11-02T11:00:00Z' },
  ],
});
const request = (name: string, dryRun = false) => ({
  intentId: intentIdFor('state', name),
  roleArn: ROLE,
  addition: session(name),
  source: { kind: 'manual' as const, requestedBy: null, reason: null },
  caller: null,
  dryRun,
});
const denied = async (policy: unknown, name: string) => sessionDecision(policy, name, '2026-11-02T10:00:00Z');

describe('the kept revocation state', () => {
  it('a stale IAM read after an earlier write does not drop that write: the next policy still denies both', async () => {
    const deps = await revoking();
    expect(await revoke(deps, request('first'), NOW)).toMatchObject({ applied: true });
    // The next read returns the policy as it was before the first write (none at all).
    iam.staleNext(1);
    expect(await revoke(deps, request('second'), NOW)).toMatchObject({ applied: true });
    const policy = iam.policy('ExampleCorpAudit');
    expect(await denied(policy, 'first')).toBe('Denied');
    expect(await denied(policy, 'second')).toBe('Denied');
    expect(await denied(policy, 'someone-else')).toBe('Allowed');
    // The sweep's path (step by step, with its own lock) merges the kept state too.
    iam.staleNext(1);
    await sweepRevocations(deps, new Date('2026-11-02T10:40:00Z'));
    await revoke(deps, request('third'), NOW);
    for (const name of ['first', 'second', 'third'])
      expect(await denied(iam.policy('ExampleCorpAudit'), name)).toBe('Denied');
  });

  it('re-applies the kept policy after someone deleted it, even when IAM still reads the old policy', async () => {
    const deps = await revoking();
    expect(await reapplyRevocationPolicy(deps, ROLE, NOW)).toBeNull();
    await revoke(deps, request('first'), NOW);
    await revoke(deps, request('second'), NOW);
    const kept = await keptRevocationPolicy(deps, ROLE);
    expect(await denied(kept!.policyDocument, 'first')).toBe('Denied');
    expect(await denied(kept!.policyDocument, 'second')).toBe('Denied');
    // Someone deletes roleguard's policy; the read right after still shows it (stale).
    iam.policies.delete('ExampleCorpAudit/roleguard-revocations');
    iam.staleNext(1);
    const puts = iam.puts();
    // A dry run decides and writes nothing.
    expect(await reapplyRevocationPolicy(deps, ROLE, NOW, { dryRun: true })).toMatchObject({ written: false });
    expect(iam.puts()).toBe(puts);
    iam.staleNext(1);
    expect(await reapplyRevocationPolicy(deps, ROLE, NOW)).toMatchObject({ written: true });
    expect(iam.puts()).toBe(puts + 1);
    for (const name of ['first', 'second']) expect(await denied(iam.policy('ExampleCorpAudit'), name)).toBe('Denied');
  });

  it("a caller's marker keeps the latest decision and the latest until, each on its own, whatever the order", async () => {
    const { store } = await revoking();
    const caller = '999988887777/AIDAATTACKERTENANT01';
    // The later decision (its session lives to 11:00) is noted first; the earlier one (its session lives to 12:00)
    // arrives after it.
    await store.noteRevokedCaller(ROLE, caller, '2026-11-02T10:30:00Z', '2026-11-02T11:00:00Z');
    await store.noteRevokedCaller(ROLE, caller, '2026-11-02T10:05:00Z', '2026-11-02T12:00:00Z');
    expect(await store.revokedCaller(ROLE, caller, new Date('2026-11-02T11:30:00Z'))).toEqual({
      decidedAt: '2026-11-02T10:30:00Z',
      until: '2026-11-02T12:00:00Z',
    });
    // Older on both counts: changes nothing.
    await store.noteRevokedCaller(ROLE, caller, '2026-11-02T10:00:00Z', '2026-11-02T10:45:00Z');
    expect(await store.revokedCaller(ROLE, caller, new Date('2026-11-02T11:30:00Z'))).toEqual({
      decidedAt: '2026-11-02T10:30:00Z',
      until: '2026-11-02T12:00:00Z',
    });
  });

  it("writes the kept state only while the writer still holds the role's lock", async () => {
    const { store } = await revoking();
    const state: RevocationState = {
      role: null,
      sessions: [
        { assumedRoleId: `${ROLE_ID}:scan-1`, decidedAt: '2026-11-02T10:06:00Z', pruneAfter: '2026-11-02T11:05:00Z' },
      ],
    };
    // Another holder took the lock after this writer's lease ran out.
    await doc.send(
      new PutCommand({
        TableName: store.tableName,
        Item: { pk: 'lock#role#111122223333#ExampleCorpAudit', owner: 'newer-holder', leaseUntil: Date.now() + 60_000 },
      }),
    );
    const key = 'role#111122223333#ExampleCorpAudit';
    await expect(
      store.trackPolicy(ROLE, 'ExampleCorpAudit', '2026-11-02T11:05:00Z', state, { key, owner: 'stale-holder' }),
    ).rejects.toThrow(LeaseLostError);
    expect(await store.keptState(ROLE)).toBeNull();
    await store.trackPolicy(ROLE, 'ExampleCorpAudit', '2026-11-02T11:05:00Z', state, { key, owner: 'newer-holder' });
    expect(await store.keptState(ROLE)).toEqual(state);
  });
});
