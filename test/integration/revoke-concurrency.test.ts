import {
  GetRolePolicyCommand,
  IAMClient,
  ListRolePoliciesCommand,
  NoSuchEntityException,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type AwsStub, mockClient } from 'aws-sdk-client-mock';
import { applyRevocations } from '../../lib/revoke/apply.js';
import { LeaseLostError } from '../../lib/revoke/lock.js';
import { type RevocationDeps, revoke } from '../../lib/revoke/service.js';
import { createRevocationStore, intentIdFor } from '../../lib/revoke/store.js';
import { createSessionsTable, createTestTables, testDynamo } from '../helpers/dynamo.js';
import { memoryLogger } from '../helpers/logger.js';
import { ROLE_ID, sessionDecision } from '../helpers/revocation.js';

// A revocation decided on a replay's clock (days behind the wall clock) holds the role's lock on the fast path while
// IAM is slow; a second one arrives. It must wait for the lock, not take it: leases run on the wall clock.
const ROLE = 'arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit';
let doc: DynamoDBDocumentClient;
let iam: AwsStub<any, any, any>;
const policies = new Map<string, string>();
const reads: string[] = [];
let gate: (() => void) | null = null;

beforeAll(() => {
  doc = testDynamo();
  iam = mockClient(IAMClient);
  iam.on(GetRolePolicyCommand).callsFake(async (input: { RoleName: string; PolicyName: string }) => {
    reads.push(input.RoleName);
    // The first read stalls until the test lets it go.
    if (reads.length === 1) await new Promise<void>((r) => (gate = r));
    const document = policies.get(input.PolicyName);
    if (document === undefined) throw new NoSuchEntityException({ message: 'none', $metadata: {} });
    return { PolicyDocument: encodeURIComponent(document) };
  });
  iam.on(ListRolePoliciesCommand).resolves({ PolicyNames: [] });
  iam
    .on(PutRolePolicyCommand)
    .callsFake(
      async (input: { PolicyName: string; PolicyDocument: string }) =>
        void policies.set(input.PolicyName, input.PolicyDocument),
    );
});
afterAll(() => {
  iam.restore();
  doc.destroy();
});

describe('the role lock on an event clock', () => {
  it('a second revocation waits for the first (which holds the lock on the fast path), and both end up in the policy', async () => {
    const config = await createTestTables(doc, await createSessionsTable(doc));
    const revoking: RevocationDeps = {
      iam: new IAMClient({ region: 'us-east-1' }),
      dynamo: doc,
      store: createRevocationStore(doc, config.revocationsTable!),
      logger: memoryLogger().logger,
      retry: { baseMs: 1 },
      lock: { leaseMs: 60_000, waitMs: 10_000 },
    };
    const now = new Date('2026-11-02T10:05:03Z');
    const one = (name: string) =>
      revoke(
        revoking,
        {
          intentId: intentIdFor('lock-clock', name),
          roleArn: ROLE,
          caller: null,
          dryRun: false,
          source: { kind: 'manual', requestedBy: null, reason: null },
          addition: {
            role: null,
            sessions: [
              {
                assumedRoleId: `${ROLE_ID}:${name}`,
                decidedAt: '2026-11-02T10:05:03Z',
                pruneAfter: '2026-11-03T10:05:00Z',
              },
            ],
          },
        },
        now,
      );
    const first = one('scan-a');
    while (!gate) await new Promise((r) => setTimeout(r, 5));
    const second = one('scan-b');
    await new Promise((r) => setTimeout(r, 300));
    // While the first holds the lock, the second has not read the policy.
    expect(reads).toHaveLength(1);
    gate!();
    const outcomes = await Promise.all([first, second]);
    expect(outcomes.map((o) => o.applied)).toEqual([true, true]);
    const policy = JSON.parse(policies.get('roleguard-revocations')!);
    expect(await sessionDecision(policy, 'scan-a', '2026-11-02T10:05:00Z')).toBe('Denied');
    expect(await sessionDecision(policy, 'scan-b', '2026-11-02T10:05:00Z')).toBe('Denied');
  }, 60_000);
  it('a holder whose lease is (nearly) over does not write: the revocation waits for a holder with time left', async () => {
    const config = await createTestTables(doc, await createSessionsTable(doc));
    const puts = () => iam.commandCalls(PutRolePolicyCommand).length;
    const before = puts();
    const addition = {
      role: null,
      sessions: [
        {
          assumedRoleId: `${ROLE_ID}:scan-late`,
          decidedAt: '2026-11-02T10:05:03Z',
          pruneAfter: '2026-11-03T10:05:00Z',
        },
      ],
    };
    const expiring = { owner: 'me', leaseUntil: Date.now() + 5_000, release: async () => undefined };
    await expect(
      applyRevocations(
        {
          iam: new IAMClient({ region: 'us-east-1' }),
          dynamo: doc,
          lockTable: config.revocationsTable!,
          lock: { leaseMs: 60_000, waitMs: 1_000 },
        },
        'arn:aws:iam::111122223333:role/ExampleCorpAudit',
        [addition],
        new Date('2026-11-02T10:05:03Z'),
        { dryRun: false, heldLock: expiring },
      ),
    ).rejects.toBeInstanceOf(LeaseLostError);
    expect(puts()).toBe(before);
  });
});
