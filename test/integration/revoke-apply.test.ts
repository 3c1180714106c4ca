import {
  DeleteRolePolicyCommand,
  GetRolePolicyCommand,
  IAMClient,
  ListRolePoliciesCommand,
  NoSuchEntityException,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import type { Config } from '../../lib/config.js';
import { applyRevocations } from '../../lib/revoke/apply.js';
import { parseRevocationPolicy, REVOCATION_POLICY_NAME, type RevocationState } from '../../lib/revoke/policy.js';
import { createSessionsTable, createTestTables, testDynamo } from '../helpers/dynamo.js';

// IAM emulated as last-writer-wins, with latency, so that unsynchronised read-modify-writes lose updates.
let doc: DynamoDBDocumentClient;
let config: Config;
const iamMock = mockClient(IAMClient);
const policies = new Map<string, string>();
const delay = () => new Promise((r) => setTimeout(r, 2 + Math.random() * 6));

beforeAll(async () => {
  doc = testDynamo();
  config = await createTestTables(doc, await createSessionsTable(doc));
  iamMock.on(GetRolePolicyCommand).callsFake(async (input: { RoleName: string; PolicyName: string }) => {
    await delay();
    const document = policies.get(`${input.RoleName}/${input.PolicyName}`);
    if (document === undefined) throw new NoSuchEntityException({ message: 'not found', $metadata: {} });
    return { RoleName: input.RoleName, PolicyName: input.PolicyName, PolicyDocument: encodeURIComponent(document) };
  });
  iamMock
    .on(PutRolePolicyCommand)
    .callsFake(async (input: { RoleName: string; PolicyName: string; PolicyDocument: string }) => {
      await delay();
      policies.set(`${input.RoleName}/${input.PolicyName}`, input.PolicyDocument);
      return {};
    });
  iamMock.on(DeleteRolePolicyCommand).callsFake(async (input: { RoleName: string; PolicyName: string }) => {
    policies.delete(`${input.RoleName}/${input.PolicyName}`);
    return {};
  });
  iamMock.on(ListRolePoliciesCommand).callsFake(async (input: { RoleName: string }) => ({
    PolicyNames: [...policies.keys()]
      .filter((k) => k.startsWith(`${input.RoleName}/`))
      .map((k) => k.slice(input.RoleName.length + 1)),
  }));
});
afterAll(() => {
  iamMock.restore();
  doc.destroy();
});

const revoke = (i: number): RevocationState => ({
  role: null,
  sessions: [
    {
      assumedRoleId: `AROA3XFRBF23EXAMPLE1:session-${i}`,
      decidedAt: '2026-11-02T10:00:00Z',
      pruneAfter: '2026-11-02T22:00:00Z',
    },
  ],
});
const sessionsIn = (roleName: string) =>
  parseRevocationPolicy(policies.get(`${roleName}/${REVOCATION_POLICY_NAME}`) ?? '{"Statement":[]}').state.sessions
    .length;
const now = new Date('2026-11-02T10:00:00Z');
const arn = (roleName: string) => `arn:aws:iam::111122223333:role/${roleName}`;

describe('applying revocations under a per-role lock', () => {
  it('50 concurrent revocations on one role all end up in the policy', async () => {
    const iam = new IAMClient({ region: 'us-east-1' });
    const deps = { iam, dynamo: doc, lockTable: config.alertsTable, lock: { leaseMs: 30_000, waitMs: 60_000 } };
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => applyRevocations(deps, arn('Locked'), [revoke(i)], now, { dryRun: false })),
    );
    expect(sessionsIn('Locked')).toBe(50);
    expect(results.every((r) => r.written && !r.fellBack)).toBe(true);
  }, 60_000);

  it('without the lock (each writer "holds" a lock that excludes nobody) the same race loses revocations: the test can fail', async () => {
    const iam = new IAMClient({ region: 'us-east-1' });
    const deps = { iam, dynamo: doc, lockTable: config.alertsTable, lock: { leaseMs: 30_000, waitMs: 60_000 } };
    const noLock = () => ({ owner: 'nobody', release: async () => undefined });
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        applyRevocations(deps, arn('Unlocked'), [revoke(i)], now, { dryRun: false, heldLock: noLock() }),
      ),
    );
    expect(sessionsIn('Unlocked')).toBeLessThan(50);
  }, 60_000);

  it('a dry run decides the same policy and writes nothing; other inline policies are never touched', async () => {
    policies.set(
      'Dry/ops-access',
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }],
      }),
    );
    const iam = new IAMClient({ region: 'us-east-1' });
    const deps = { iam, dynamo: doc, lockTable: config.alertsTable, lock: { leaseMs: 30_000, waitMs: 10_000 } };
    const puts = iamMock.commandCalls(PutRolePolicyCommand).length;
    const dry = await applyRevocations(deps, arn('Dry'), [revoke(1)], now, { dryRun: true });
    expect(dry.written).toBe(false);
    expect(dry.policyDocument?.Statement).toHaveLength(1);
    expect(iamMock.commandCalls(PutRolePolicyCommand).length).toBe(puts);
    const wet = await applyRevocations(deps, arn('Dry'), [revoke(1)], now, { dryRun: false });
    expect(wet.policyDocument).toEqual(dry.policyDocument);
    expect(
      iamMock
        .commandCalls(PutRolePolicyCommand)
        .slice(puts)
        .map((c) => c.args[0].input.PolicyName),
    ).toEqual([REVOCATION_POLICY_NAME]);
    // Re-applying the same revocation changes nothing and writes nothing.
    expect((await applyRevocations(deps, arn('Dry'), [revoke(1)], now, { dryRun: false })).written).toBe(false);
  });
});
