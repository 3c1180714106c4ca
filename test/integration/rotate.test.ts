import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  GetRolePolicyCommand,
  IAMClient,
  ListRolePoliciesCommand,
  NoSuchEntityException,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { parse as parseYaml } from 'yaml';
import type { Config } from '../../lib/config.js';
import { createDeps, type Deps } from '../../lib/deps.js';
import { processRecord } from '../../lib/pipeline.js';
import { createRegistryStore, type RegisteredRole, type Registry, validateRegistry } from '../../lib/registry/index.js';
import { createRevocationStore } from '../../lib/revoke/store.js';
import {
  advanceRotation,
  createRotationStore,
  finishRotation,
  iamTrustPolicyIo,
  type Rotation,
  type RotationDeps,
  type RotationNotice,
  RotationRefused,
  revokeOldSessionsWith,
  rollbackRotation,
  rotationDeps,
  runRotationSchedule,
  startRotation,
} from '../../lib/rotate/index.js';
import { runRotations } from '../../lib/rotate/machine.js';
import { createSessionsTable, createTestTables, testDynamo } from '../helpers/dynamo.js';
import { EVENTS_DIR, loadJson } from '../helpers/fixtures.js';
import { memoryLogger } from '../helpers/logger.js';
import { sessionDecision, vendorAssume } from '../helpers/revocation.js';
import {
  assumeDecision,
  type EmulatedTrust,
  emulateTrustPolicies,
  OLD_ID,
  VENDOR_ACCOUNT,
  VENDOR_ROLE,
  vendorTrustPolicy,
} from '../helpers/rotation.js';

const VENDOR = `arn:aws:iam::${VENDOR_ACCOUNT}:role/ExampleCorpScanner`;
const OTHER = 'arn:aws:iam::444455556666:role/SomeoneElse';
const T0 = new Date('2026-11-02T12:00:00Z');
const day = (n: number, from = T0) => new Date(from.getTime() + n * 86_400_000);
const hour = (n: number, from: Date) => new Date(from.getTime() + n * 3_600_000);

const registry: Registry = validateRegistry(
  parseYaml(readFileSync(join(EVENTS_DIR, 'registry.yaml'), 'utf8')),
  'events/registry.yaml',
);
const role = registry.roles[0]!;

let doc: DynamoDBDocumentClient;
let config: Config;
let trust: EmulatedTrust;
let vendorNotices: { role: string; id: string }[];
let alerts: RotationNotice[];

function deps(options: Partial<Pick<RotationDeps, 'dryRun'>> & { registry?: Registry } = {}): RotationDeps {
  return rotationDeps({
    dynamo: doc,
    registryTable: config.registryTable,
    registry: options.registry ?? registry,
    ownRoleArns: ['arn:aws:iam::*:role/roleguard-test-*'],
    trust: iamTrustPolicyIo(
      new IAMClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } }),
    ),
    notifier: {
      vendor: async (r, rotation) => void vendorNotices.push({ role: r.roleArn, id: rotation.pendingId! }),
      alert: async (notice) => void alerts.push(notice),
    },
    logger: memoryLogger().logger,
    idLength: 32,
    maxTrustPolicySize: 2048,
    dryRun: options.dryRun ?? false,
    lockWaitMs: 5_000,
  });
}

/** The pipeline's deps on the same tables, with the registry table holding the registry (rotations overlay it). */
function pipelineDeps(now: Date): Deps {
  return createDeps(
    { ...config, registryCacheSeconds: 0 },
    { dynamo: doc, logger: memoryLogger().logger, now: () => now },
  );
}

/** What the evaluator says about the vendor (old ID, new ID, none) and someone else, under the current trust policy. */
async function decisions(newId: string) {
  const policy = trust.policy();
  return {
    vendorOld: await assumeDecision(policy, VENDOR, OLD_ID),
    vendorNew: await assumeDecision(policy, VENDOR, newId),
    vendorNone: await assumeDecision(policy, VENDOR, null),
    otherOld: await assumeDecision(policy, OTHER, OLD_ID),
    otherNew: await assumeDecision(policy, OTHER, newId),
  };
}

async function rotationOf(): Promise<Rotation> {
  return (await createRotationStore(doc, config.registryTable).get(role.roleArn))!;
}

beforeAll(async () => {
  doc = testDynamo();
});
afterAll(() => doc.destroy());

beforeEach(async () => {
  config = await createTestTables(doc, await createSessionsTable(doc));
  await createRegistryStore(doc, config.registryTable).replace(registry);
  trust = emulateTrustPolicies();
  vendorNotices = [];
  alerts = [];
});
afterEach(() => trust.restore());

describe('external-ID rotation, two-phase, against DynamoDB Local and emulated IAM', () => {
  it('walks create → set → notify → confirm (from a replayed CloudTrail event) → finish, checking the trust policy with an IAM evaluator at each step', async () => {
    const before = {
      vendorOld: await assumeDecision(trust.policy(), VENDOR, OLD_ID),
      otherOld: await assumeDecision(trust.policy(), OTHER, OLD_ID),
    };
    expect(before).toEqual({ vendorOld: 'Allowed', otherOld: 'Denied' });

    // The first scheduled run only dates the schedule: deploying roleguard does not rotate every vendor at once.
    const first = await runRotationSchedule(deps(), role, T0);
    expect(first).toMatchObject({ phase: 'idle', done: [], waiting: `next rotation due ${day(90).toISOString()}` });
    expect(await runRotationSchedule(deps(), role, day(89))).toMatchObject({ phase: 'idle', done: [] });
    expect(trust.writes).toHaveLength(0);

    // Due: create, set (both IDs accepted), notify (the vendor's contact gets the full new ID).
    const started = await runRotationSchedule(deps(), role, day(90));
    expect(started).toMatchObject({ phase: 'notified', done: ['create', 'set', 'notify'] });
    const rotation = await rotationOf();
    const newId = rotation.pendingId!;
    expect(newId).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(rotation).toMatchObject({
      previousId: OLD_ID,
      trigger: 'schedule',
      startedAt: day(90).toISOString(),
      deadlineAt: day(97).toISOString(),
    });
    expect(vendorNotices).toEqual([{ role: VENDOR_ROLE, id: newId }]);
    expect(await decisions(newId)).toEqual({
      vendorOld: 'Allowed',
      vendorNew: 'Allowed',
      vendorNone: 'Denied',
      otherOld: 'Denied',
      otherNew: 'Denied',
    });
    // Only sts:ExternalId changed: the other statement and the other condition are as they were.
    const original = vendorTrustPolicy().Statement as Record<string, unknown>[];
    expect(trust.policy().Statement).toEqual([
      original[0],
      {
        ...original[1],
        Condition: { StringEquals: { 'sts:ExternalId': [OLD_ID, newId] }, Bool: { 'aws:SecureTransport': 'true' } },
      },
    ]);

    // The registry now accepts the pending ID: the vendor's assume with it is not a finding, and it confirms.
    const now = hour(3, day(90));
    const registryNow = (await pipelineDeps(now).registry()).roleFor(VENDOR_ROLE)!;
    expect(registryNow.externalIds).toEqual({ current: OLD_ID, pending: newId, retired: role.externalIds.retired });
    const confirmed = await processRecord(
      vendorAssume({
        id: 'confirm-1',
        time: now.toISOString(),
        session: 'scan-9',
        externalId: newId,
        account: VENDOR_ACCOUNT,
      }),
      pipelineDeps(now),
    );
    expect(confirmed).toMatchObject({ status: 'recorded', findings: [] });
    expect(await rotationOf()).toMatchObject({
      phase: 'confirmed',
      confirmation: { eventId: 'confirm-1', callerAccountId: VENDOR_ACCOUNT, at: now.toISOString() },
    });

    // roleguard's own UpdateAssumeRolePolicy, seen in CloudTrail, is not "changed outside roleguard" (whoever ran it).
    const envelope = loadJson(join(EVENTS_DIR, 'eventbridge-update-assume-role-policy.json')) as {
      detail: Record<string, any>;
    };
    const ownWrite = {
      ...envelope.detail,
      eventID: 'own-write',
      eventTime: hour(0, day(90)).toISOString(),
      requestParameters: { roleName: 'ExampleCorpAudit', policyDocument: JSON.stringify(trust.policy(), null, 2) },
    };
    expect(await processRecord(ownWrite, pipelineDeps(now))).toMatchObject({
      status: 'trust-policy-change',
      findings: [],
    });
    const foreign = {
      ...ownWrite,
      eventID: 'foreign-write',
      requestParameters: {
        roleName: 'ExampleCorpAudit',
        policyDocument: JSON.stringify(vendorTrustPolicy([OLD_ID, newId, 'attacker-id'])),
      },
    };
    expect(await processRecord(foreign, pipelineDeps(now))).toMatchObject({
      status: 'trust-policy-change',
      findings: [{ kind: 'trust-policy-changed' }],
    });

    // One assume with the new ID does not show that every worker switched: the old ID must go unused for the quiet
    // period (24 h by default) after the confirmation first.
    expect(await runRotationSchedule(deps(), role, hour(4, day(90)))).toMatchObject({
      phase: 'confirmed',
      done: [],
      waiting: expect.stringContaining(`not before ${hour(28, day(90)).toISOString()}`),
    });
    // The next scheduled run after it finishes: only the new ID is accepted, the old one is retired.
    const finishedAt = hour(29, day(90));
    const finished = await runRotationSchedule(deps(), role, finishedAt);
    expect(finished).toMatchObject({ phase: 'finished', done: ['finish'] });
    expect(await decisions(newId)).toEqual({
      vendorOld: 'Denied',
      vendorNew: 'Allowed',
      vendorNone: 'Denied',
      otherOld: 'Denied',
      otherNew: 'Denied',
    });
    expect(trust.writes).toHaveLength(2);
    const after = (await pipelineDeps(day(92)).registry()).roleFor(VENDOR_ROLE)!;
    expect(after.externalIds).toEqual({
      current: newId,
      pending: null,
      retired: [...role.externalIds.retired, OLD_ID],
    });
    // Using the old ID is now a retired-external-id finding.
    const late = await processRecord(
      vendorAssume({
        id: 'late-1',
        time: day(92).toISOString(),
        session: 'scan-10',
        externalId: OLD_ID,
        account: VENDOR_ACCOUNT,
      }),
      pipelineDeps(day(92)),
    );
    expect(late).toMatchObject({ status: 'recorded', findings: [{ kind: 'retired-external-id' }] });
    // And the schedule counts from the finish.
    expect(
      await runRotationSchedule(deps({ registry: { ...registry, roles: [after] } }), after, day(100)),
    ).toMatchObject({ phase: 'finished', waiting: `next rotation due ${day(90, finishedAt).toISOString()}` });
    // No alert carried a full ID.
    expect(JSON.stringify(alerts)).not.toContain(newId);
  });

  it('past the deadline without a confirmation: alerts once (high), keeps both IDs; --finish refuses unless forced', async () => {
    await startRotation(deps(), role, { trigger: 'manual', requestedBy: 'alice', now: T0 });
    const newId = (await rotationOf()).pendingId!;
    expect(await advanceRotation(deps(), role, day(6))).toMatchObject({
      phase: 'notified',
      waiting: expect.stringContaining('waiting for the vendor'),
    });
    expect(alerts).toHaveLength(0);
    const overdue = await advanceRotation(deps(), role, day(8));
    expect(overdue).toMatchObject({ phase: 'notified', waiting: expect.stringContaining('overdue') });
    expect(alerts).toEqual([
      expect.objectContaining({ severity: 'high', roleArn: VENDOR_ROLE, title: expect.stringContaining('overdue') }),
    ]);
    await advanceRotation(deps(), role, hour(1, day(8)));
    expect(alerts).toHaveLength(1);
    expect(await decisions(newId)).toMatchObject({ vendorOld: 'Allowed', vendorNew: 'Allowed', otherOld: 'Denied' });

    await expect(finishRotation(deps(), role, day(8), {})).rejects.toThrow(
      /has not yet assumed .* with the new ID.*--force/,
    );
    expect(trust.writes).toHaveLength(1);
    const forced = await finishRotation(deps(), role, day(8), { force: true, requestedBy: 'alice' });
    expect(forced).toMatchObject({ phase: 'finished', rotation: { forced: true } });
    expect(await decisions(newId)).toEqual({
      vendorOld: 'Denied',
      vendorNew: 'Allowed',
      vendorNone: 'Denied',
      otherOld: 'Denied',
      otherNew: 'Denied',
    });
  });

  it('rolls back: the pending ID is dropped for good and the trust policy is the previous one again', async () => {
    const original = trust.policy();
    await startRotation(deps(), role, { trigger: 'manual', requestedBy: 'alice', now: T0 });
    const newId = (await rotationOf()).pendingId!;
    const rolledBack = await rollbackRotation(deps(), role, hour(2, T0), { requestedBy: 'bob' });
    expect(rolledBack).toMatchObject({ phase: 'rolled-back', done: ['rollback'] });
    expect(await decisions(newId)).toEqual({
      vendorOld: 'Allowed',
      vendorNew: 'Denied',
      vendorNone: 'Denied',
      otherOld: 'Denied',
      otherNew: 'Denied',
    });
    expect(trust.policy()).toEqual(original);
    // The dropped ID counts as retired, so seeing it accepted is a finding.
    const registryNow = (await pipelineDeps(hour(3, T0)).registry()).roleFor(VENDOR_ROLE)!;
    expect(registryNow.externalIds).toEqual({
      current: OLD_ID,
      pending: null,
      retired: [...role.externalIds.retired, newId],
    });
    // Nothing to roll back or finish any more.
    await expect(rollbackRotation(deps(), role, hour(3, T0))).rejects.toThrow(RotationRefused);
    await expect(finishRotation(deps(), role, hour(3, T0), { force: true })).rejects.toThrow(
      /no rotation .* in flight/,
    );
  });

  it('refuses to roll back a confirmed rotation (it would break the vendor) unless forced', async () => {
    await startRotation(deps(), role, { trigger: 'manual', now: T0 });
    const newId = (await rotationOf()).pendingId!;
    await createRotationStore(doc, config.registryTable).confirm(VENDOR_ROLE, newId, {
      eventId: 'e1',
      callerAccountId: VENDOR_ACCOUNT,
      at: hour(1, T0).toISOString(),
    });
    await expect(rollbackRotation(deps(), role, hour(2, T0))).rejects.toThrow(/would break it/);
    expect(await rollbackRotation(deps(), role, hour(2, T0), { force: true })).toMatchObject({ phase: 'rolled-back' });
  });

  it('two triggers at once (the schedule and a person): exactly one rotation runs', async () => {
    const results = await Promise.allSettled([
      startRotation(deps(), role, { trigger: 'schedule', now: T0 }),
      startRotation(deps(), role, { trigger: 'manual', requestedBy: 'alice', now: T0 }),
      startRotation(deps(), role, { trigger: 'manual', requestedBy: 'bob', now: T0 }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(refused).toHaveLength(2);
    for (const r of refused) expect(r.reason).toBeInstanceOf(RotationRefused);
    expect(refused[0]!.reason.message).toMatch(/already in flight|at most one/);
    // One pending ID, written once, given to the vendor once.
    expect(trust.writes).toHaveLength(1);
    expect(vendorNotices).toHaveLength(1);
    expect(vendorNotices[0]!.id).toBe((await rotationOf()).pendingId);
  });

  it('refuses a trust policy it cannot edit safely, with the reason, and writes nothing', async () => {
    trust.set('ExampleCorpAudit', {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${VENDOR_ACCOUNT}:root` },
          Action: 'sts:AssumeRole',
          Condition: { StringLike: { 'sts:ExternalId': 'ec-*' } },
        },
      ],
    });
    await expect(startRotation(deps(), role, { trigger: 'manual', now: T0 })).rejects.toThrow(
      /cannot be edited safely/,
    );
    expect(trust.writes).toHaveLength(0);
    expect(await createRotationStore(doc, config.registryTable).get(VENDOR_ROLE)).toBeNull();
    // From the schedule, the refusal is alerted (once) and the run goes on.
    await runRotationSchedule(deps(), role, T0);
    const run = await runRotations(deps(), registry.roles, day(91));
    expect(run.failed).toEqual([]);
    expect(run.results[0]).toMatchObject({ phase: 'idle', waiting: expect.stringContaining('refused') });
    await runRotations(deps(), registry.roles, day(92));
    expect(alerts).toEqual([
      expect.objectContaining({ severity: 'high', title: expect.stringContaining('not started') }),
    ]);
  });

  it('refuses a policy that does not accept exactly the registered current ID (drift), and protected roles', async () => {
    trust.set('ExampleCorpAudit', vendorTrustPolicy('someone-else-id'));
    await expect(startRotation(deps(), role, { trigger: 'manual', now: T0 })).rejects.toThrow(
      /does not accept exactly the registered current ID/,
    );
    const guarded: RegisteredRole = { ...role, roleArn: 'arn:aws:iam::111122223333:role/BreakGlass' };
    await expect(startRotation(deps(), guarded, { trigger: 'manual', now: T0 })).rejects.toThrow(
      /does not rotate .*BreakGlass.*protected/,
    );
    const own: RegisteredRole = { ...role, roleArn: 'arn:aws:iam::111122223333:role/roleguard-test-SweepRole-1A2B' };
    await expect(startRotation(deps(), own, { trigger: 'manual', now: T0 })).rejects.toThrow(/roleguard's own/);
    expect(trust.writes).toHaveLength(0);
  });

  it('dry run: shows the trust policy it would write, and writes nothing (no policy, no state, no vendor notice)', async () => {
    const result = await startRotation(deps({ dryRun: true }), role, { trigger: 'manual', now: T0 });
    expect(result.waiting).toMatch(/dry run/);
    const set = result.plan.find((p) => p.step === 'set')!;
    expect(await assumeDecision(JSON.parse(set.document!), VENDOR, OLD_ID)).toBe('Allowed');
    expect(trust.writes).toHaveLength(0);
    expect(vendorNotices).toHaveLength(0);
    expect(await createRotationStore(doc, config.registryTable).get(VENDOR_ROLE)).toBeNull();
    // A role's own dryRun does the same.
    const dry = { ...role, dryRun: true };
    expect((await startRotation(deps(), dry, { trigger: 'manual', now: T0 })).plan).toHaveLength(2);
    expect(trust.writes).toHaveLength(0);
  });

  it('an IAM failure leaves the step for the next run, recorded; nothing is skipped', async () => {
    trust.failNext(
      Object.assign(new Error('User is not authorized to perform: iam:UpdateAssumeRolePolicy'), {
        name: 'AccessDenied',
        $metadata: { httpStatusCode: 403 },
      }),
    );
    await expect(startRotation(deps(), role, { trigger: 'manual', now: T0 })).rejects.toThrow(/not authorized/);
    expect(await rotationOf()).toMatchObject({ phase: 'created', lastError: expect.stringContaining('AccessDenied') });
    expect(vendorNotices).toHaveLength(0);
    // The next run sets the policy and tells the vendor.
    expect(await advanceRotation(deps(), role, hour(1, T0))).toMatchObject({
      phase: 'notified',
      done: ['set', 'notify'],
    });
    expect(vendorNotices).toHaveLength(1);
  });
  it('at finish, revokes the sessions still alive that were issued with the old ID, when the role asks for it', async () => {
    const revoking: RegisteredRole = {
      ...role,
      response: 'revoke',
      // No quiet period (the finish waits only for the one-hour delivery margin), so that the old-ID session is still
      // alive at the finish.
      rotation: { everyDays: 90, graceDays: 7, revokeOldSessions: true, quietHours: 0 },
    };
    const withRevoking = { ...registry, roles: [revoking] };
    await createRegistryStore(doc, config.registryTable).replace(withRevoking);
    // IAM's inline policies, on the same emulated IAM as the trust policies.
    const inline = new Map<string, string>();
    trust.iam.on(GetRolePolicyCommand).callsFake(async (input: { RoleName: string; PolicyName: string }) => {
      const document = inline.get(`${input.RoleName}/${input.PolicyName}`);
      if (document === undefined)
        throw new NoSuchEntityException({
          message: 'The role policy cannot be found.',
          $metadata: { httpStatusCode: 404 },
        });
      return { PolicyDocument: encodeURIComponent(document) };
    });
    trust.iam.on(ListRolePoliciesCommand).resolves({ PolicyNames: [] });
    trust.iam
      .on(PutRolePolicyCommand)
      .callsFake(
        async (input: { RoleName: string; PolicyName: string; PolicyDocument: string }) =>
          void inline.set(`${input.RoleName}/${input.PolicyName}`, input.PolicyDocument),
      );
    const iam = new IAMClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
    const sessions = pipelineDeps(T0).sessions;
    const rotating = {
      ...deps({ registry: withRevoking }),
      revokeOldSessions: revokeOldSessionsWith(
        {
          iam,
          dynamo: doc,
          store: createRevocationStore(doc, config.revocationsTable!),
          logger: memoryLogger().logger,
        },
        sessions,
        false,
      ),
    };

    await startRotation(rotating, revoking, { trigger: 'manual', now: T0 });
    const newId = (await rotationOf()).pendingId!;
    const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);
    // The vendor's old-ID session (still alive at the finish), an old-ID session already expired, and its new-ID session.
    const old = vendorAssume({
      id: 'old-1',
      time: at(10).toISOString(),
      session: 'old-1',
      externalId: OLD_ID,
      account: VENDOR_ACCOUNT,
      expiration: at(130).toISOString(),
    });
    const expired = vendorAssume({
      id: 'old-0',
      time: at(-90).toISOString(),
      session: 'old-0',
      externalId: OLD_ID,
      account: VENDOR_ACCOUNT,
      expiration: at(-30).toISOString(),
    });
    const fresh = vendorAssume({
      id: 'new-1',
      time: at(20).toISOString(),
      session: 'new-1',
      externalId: newId,
      account: VENDOR_ACCOUNT,
      expiration: at(140).toISOString(),
    });
    for (const [record, now] of [
      [expired, at(-90)],
      [old, at(10)],
      [fresh, at(20)],
    ] as const)
      expect(await processRecord(record, pipelineDeps(now))).toMatchObject({ status: 'recorded', findings: [] });
    expect(await rotationOf()).toMatchObject({ phase: 'confirmed' });

    const finished = await advanceRotation(rotating, revoking, at(90));
    expect(finished.done).toEqual(['finish', 'revoke-old-sessions: 1 session issued with the old ID revoked']);
    const policy = JSON.parse(inline.get('ExampleCorpAudit/roleguard-revocations')!);
    expect(await sessionDecision(policy, 'old-1', at(10).toISOString())).toBe('Denied');
    expect(await sessionDecision(policy, 'new-1', at(20).toISOString())).toBe('Allowed');
    // A second finish run (a redelivery) revokes nothing twice.
    expect(await advanceRotation(rotating, revoking, at(91))).toMatchObject({ phase: 'finished', done: [] });
  });
  it('a function whose cached registry predates the rotation still takes the pending ID as expected, and confirms with it', async () => {
    const warm = createDeps(
      { ...config, registryCacheSeconds: 3600 },
      { dynamo: doc, logger: memoryLogger().logger, now: () => hour(1, T0) },
    );
    expect((await warm.registry()).roleFor(VENDOR_ROLE)!.externalIds.pending).toBeNull();
    await startRotation(deps(), role, { trigger: 'manual', now: T0 });
    const newId = (await rotationOf()).pendingId!;
    // Still the cached registry, without the pending ID.
    expect((await warm.registry()).roleFor(VENDOR_ROLE)!.externalIds.pending).toBeNull();
    const outcome = await processRecord(
      vendorAssume({
        id: 'warm-1',
        time: hour(1, T0).toISOString(),
        session: 'scan-1',
        externalId: newId,
        account: VENDOR_ACCOUNT,
      }),
      warm,
    );
    expect(outcome).toMatchObject({ status: 'recorded', findings: [] });
    expect(await rotationOf()).toMatchObject({ phase: 'confirmed' });
    // Another account with the pending ID does not confirm it (and is an untrusted-account finding anyway).
    await rollbackRotation(deps(), role, hour(2, T0), { force: true });
    await startRotation(deps(), role, { trigger: 'manual', now: hour(3, T0) });
    const second = (await rotationOf()).pendingId!;
    const stranger = await processRecord(
      vendorAssume({
        id: 'warm-2',
        time: hour(4, T0).toISOString(),
        session: 'x',
        externalId: second,
        account: '444455556666',
      }),
      warm,
    );
    expect(stranger).toMatchObject({ status: 'recorded', findings: [{ kind: 'untrusted-account' }] });
    expect(await rotationOf()).toMatchObject({ phase: 'notified' });
  });
  it('a second and a third rotation carry on from the ID the first made current; old-ID assumes made before a finish are not findings', async () => {
    // Rotation 1, from the file's ID0.
    await startRotation(deps(), role, { trigger: 'manual', now: T0 });
    const id1 = (await rotationOf()).pendingId!;
    await createRotationStore(doc, config.registryTable).confirm(VENDOR_ROLE, id1, {
      eventId: 'c1',
      callerAccountId: VENDOR_ACCOUNT,
      at: hour(1, T0).toISOString(),
    });
    expect(await advanceRotation(deps(), role, day(2))).toMatchObject({ phase: 'finished', done: ['finish'] });
    // An assume with ID0 made a minute before the finish, delivered after it: accepted when it was made.
    const late = await processRecord(
      vendorAssume({
        id: 'late-0',
        time: new Date(day(2).getTime() - 60_000).toISOString(),
        session: 's-late',
        externalId: OLD_ID,
        account: VENDOR_ACCOUNT,
      }),
      pipelineDeps(day(2)),
    );
    expect(late).toMatchObject({ status: 'recorded', findings: [] });

    // Rotation 2, 90 days on: the role as the registry now has it (the file still says ID0).
    const at2 = day(91);
    const role2 = (await pipelineDeps(at2).registry()).roleFor(VENDOR_ROLE)!;
    expect(role2.externalIds).toMatchObject({ current: id1, pending: null });
    await startRotation(deps(), role2, { trigger: 'schedule', now: at2 });
    const id2 = (await rotationOf()).pendingId!;
    expect((await pipelineDeps(hour(1, at2)).registry()).roleFor(VENDOR_ROLE)!.externalIds).toEqual({
      current: id1,
      pending: id2,
      retired: [...role.externalIds.retired, OLD_ID],
    });
    // The vendor, on ID1 then ID2: no finding, and ID2 confirms.
    for (const [n, id] of [
      [1, id1],
      [2, id2],
    ] as const) {
      const out = await processRecord(
        vendorAssume({
          id: `r2-${n}`,
          time: hour(n, at2).toISOString(),
          session: `s2-${n}`,
          externalId: id,
          account: VENDOR_ACCOUNT,
        }),
        pipelineDeps(hour(n, at2)),
      );
      expect(out).toMatchObject({ status: 'recorded', findings: [] });
    }
    // ID1 was last used an hour before the confirmation: the quiet period runs from the confirmation.
    expect(await advanceRotation(deps(), role2, hour(3, at2))).toMatchObject({ phase: 'confirmed' });
    expect(await advanceRotation(deps(), role2, hour(27, at2))).toMatchObject({ phase: 'finished' });
    expect(await decisions(id2)).toMatchObject({ vendorOld: 'Denied', vendorNew: 'Allowed', otherNew: 'Denied' });
    expect(await assumeDecision(trust.policy(), VENDOR, id1)).toBe('Denied');
    const role3 = (await pipelineDeps(day(200)).registry()).roleFor(VENDOR_ROLE)!;
    expect(role3.externalIds).toEqual({
      current: id2,
      pending: null,
      retired: [...role.externalIds.retired, OLD_ID, id1],
    });
    // ID1, used after its retirement, is a finding again.
    const after = await processRecord(
      vendorAssume({
        id: 'r2-late',
        time: day(100).toISOString(),
        session: 's',
        externalId: id1,
        account: VENDOR_ACCOUNT,
      }),
      pipelineDeps(day(100)),
    );
    expect(after).toMatchObject({ findings: [{ kind: 'retired-external-id' }] });
    // And a third rotation starts.
    expect(await startRotation(deps(), role3, { trigger: 'schedule', now: day(200) })).toMatchObject({
      done: ['create', 'set', 'notify'],
    });
  });

  it('a finish or rollback interrupted after its decision is completed by the next run, and a confirmation meanwhile is ignored', async () => {
    const store = createRotationStore(doc, config.registryTable);
    await startRotation(deps(), role, { trigger: 'manual', now: T0 });
    const newId = (await rotationOf()).pendingId!;
    // A rollback decided (recorded with its policy) whose process died before IAM and before the last write.
    const decided = await rotationOf();
    await store.update(decided, { ...decided, closing: 'rollback' });
    expect(
      await store.confirm(VENDOR_ROLE, newId, {
        eventId: 'late',
        callerAccountId: VENDOR_ACCOUNT,
        at: hour(1, T0).toISOString(),
      }),
    ).toBe(false);
    expect(await advanceRotation(deps(), role, hour(2, T0))).toMatchObject({
      phase: 'rolled-back',
      done: ['rollback'],
    });
    expect(await decisions(newId)).toMatchObject({ vendorOld: 'Allowed', vendorNew: 'Denied' });

    // A forced finish decided, interrupted the same way: the next run finishes it.
    await startRotation(deps(), role, { trigger: 'manual', now: day(1) });
    const second = (await rotationOf()).pendingId!;
    const finishing = await rotationOf();
    await store.update(finishing, { ...finishing, closing: 'finish' });
    expect(await advanceRotation(deps(), role, hour(1, day(1)))).toMatchObject({ phase: 'finished', done: ['finish'] });
    expect(await decisions(second)).toMatchObject({ vendorOld: 'Denied', vendorNew: 'Allowed' });
  });

  it('a dry run that fails writes nothing and alerts nothing, not even about its failure', async () => {
    await startRotation(deps(), role, { trigger: 'manual', now: T0 });
    const before = await rotationOf();
    // A rotation in flight, the trust policy since changed into one roleguard cannot edit, and DRY_RUN on.
    trust.set('ExampleCorpAudit', {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${VENDOR_ACCOUNT}:root` },
          Action: 'sts:AssumeRole',
          Condition: { StringLike: { 'sts:ExternalId': 'ec-*' } },
        },
      ],
    });
    const stored = await rotationOf();
    await createRotationStore(doc, config.registryTable).update(stored, { ...stored, phase: 'confirmed' });
    alerts.length = 0;
    // Past the quiet period, so that the finish is attempted.
    await expect(advanceRotation(deps({ dryRun: true }), role, day(2))).rejects.toThrow(/cannot be edited safely/);
    expect(alerts).toEqual([]);
    expect((await rotationOf()).version).toBe(before.version + 1);
    expect((await rotationOf()).lastError).toBeNull();
  });
});
