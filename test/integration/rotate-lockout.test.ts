import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IAMClient } from '@aws-sdk/client-iam';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { parse as parseYaml } from 'yaml';
import type { Config } from '../../lib/config.js';
import { createDeps, type Deps } from '../../lib/deps.js';
import { processRecord } from '../../lib/pipeline.js';
import { maskExternalId } from '../../lib/redact.js';
import { createRegistryStore, type RegisteredRole, type Registry, validateRegistry } from '../../lib/registry/index.js';
import {
  advanceRotation,
  createRotationStore,
  DELIVERY_MARGIN_MS,
  finishRotation,
  iamTrustPolicyIo,
  RETIRE_GRACE_MS,
  type Rotation,
  type RotationDeps,
  type RotationNotice,
  RotationNotQuiet,
  rollbackRotation,
  rotationDeps,
  startRotation,
  UnexpectedExternalIds,
} from '../../lib/rotate/index.js';
import { runRotations } from '../../lib/rotate/machine.js';
import { createSessionsTable, createTestTables, testDynamo } from '../helpers/dynamo.js';
import { EVENTS_DIR } from '../helpers/fixtures.js';
import { memoryLogger } from '../helpers/logger.js';
import { vendorAssume } from '../helpers/revocation.js';
import {
  assumeDecision,
  type EmulatedTrust,
  emulateTrustPolicies,
  OLD_ID,
  VENDOR_ACCOUNT,
  VENDOR_ROLE,
  vendorTrustPolicy,
  workerArn,
  workerAssume,
} from '../helpers/rotation.js';

// Rotation never locks a vendor out: the quiet period after the confirmation, the propagation grace of a retired
// ID, and IDs other than the rotation's two in the vendor statements. DynamoDB Local, emulated IAM.
const VENDOR = `arn:aws:iam::${VENDOR_ACCOUNT}:role/ExampleCorpScanner`;
const DR_ID = 'ec-DRsite-Frankfurt-77';
const T0 = new Date('2026-11-02T12:00:00Z');
const day = (n: number, from = T0) => new Date(from.getTime() + n * 86_400_000);
const hour = (n: number, from = T0) => new Date(from.getTime() + n * 3_600_000);
const ms = (n: number, from: Date) => new Date(from.getTime() + n);

const registry: Registry = validateRegistry(
  parseYaml(readFileSync(join(EVENTS_DIR, 'registry.yaml'), 'utf8')),
  'events/registry.yaml',
);
const role = registry.roles[0]!;

let doc: DynamoDBDocumentClient;
let config: Config;
let trust: EmulatedTrust;
let alerts: RotationNotice[];

function deps(reg: Registry = registry): RotationDeps {
  return rotationDeps({
    dynamo: doc,
    registryTable: config.registryTable,
    registry: reg,
    ownRoleArns: [],
    trust: iamTrustPolicyIo(
      new IAMClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } }),
    ),
    notifier: { vendor: async () => undefined, alert: async (notice) => void alerts.push(notice) },
    logger: memoryLogger().logger,
    idLength: 32,
    maxTrustPolicySize: 2048,
    dryRun: false,
    lockWaitMs: 5_000,
  });
}

const pipelineDeps = (now: Date): Deps =>
  createDeps({ ...config, registryCacheSeconds: 0 }, { dynamo: doc, logger: memoryLogger().logger, now: () => now });

/** A worker's assume, through the pipeline as the onAssumeRole function sees it. */
async function assume(id: string, time: Date, externalId: string, worker = 'w1', ip = '198.51.100.23') {
  return processRecord(workerAssume({ id, time, externalId, worker, ip }), pipelineDeps(time));
}

const rotationOf = async (): Promise<Rotation> =>
  (await createRotationStore(doc, config.registryTable).get(VENDOR_ROLE))!;

/** Start a rotation at T0 and confirm it with the vendor's assume with the new ID at `confirmAt`. */
async function startedAndConfirmed(confirmAt: Date, r: RegisteredRole = role): Promise<string> {
  await startRotation(deps(), r, { trigger: 'manual', requestedBy: 'alice', now: T0 });
  const newId = (await rotationOf()).pendingId!;
  expect(await assume('confirm', confirmAt, newId)).toMatchObject({ status: 'recorded', findings: [] });
  expect(await rotationOf()).toMatchObject({ phase: 'confirmed', confirmedAt: confirmAt.toISOString() });
  return newId;
}

beforeAll(() => {
  doc = testDynamo();
});
afterAll(() => doc.destroy());
beforeEach(async () => {
  config = await createTestTables(doc, await createSessionsTable(doc));
  await createRegistryStore(doc, config.registryTable).replace(registry);
  trust = emulateTrustPolicies();
  alerts = [];
});
afterEach(() => trust.restore());

describe('a rotation finishes only once the old ID has gone unused for the quiet period', () => {
  it('waits 24 h after the confirmation and after the last old-ID assume, and names who still used it', async () => {
    const newId = await startedAndConfirmed(hour(1));
    // One worker switched (it confirmed); another is still on the old ID four hours later.
    expect(await assume('old-1', hour(5), OLD_ID, 'w2', '203.0.113.9')).toMatchObject({ findings: [] });
    expect((await rotationOf()).oldIdUse).toEqual({
      lastAt: hour(5).toISOString(),
      callers: [
        {
          caller: workerArn('w2'),
          sourceIp: '203.0.113.9',
          firstAt: hour(5).toISOString(),
          lastAt: hour(5).toISOString(),
        },
      ],
    });
    // 24 h after the confirmation, but not after the old ID's last use: still both IDs.
    const waiting = await advanceRotation(deps(), role, hour(26));
    expect(waiting).toMatchObject({ phase: 'confirmed', done: [] });
    expect(waiting.waiting).toContain(`not before ${hour(30).toISOString()}`);
    expect(waiting.waiting).toContain(`${workerArn('w2')} from 203.0.113.9`);
    expect(await assumeDecision(trust.policy(), VENDOR, OLD_ID)).toBe('Allowed');
    expect(trust.writes).toHaveLength(1);
    // By hand, without --force: refused, saying who still uses the old ID.
    const refused = finishRotation(deps(), role, hour(26), {});
    await expect(refused).rejects.toBeInstanceOf(RotationNotQuiet);
    await expect(refused).rejects.toThrow(/must go unused for 24 h.*w2 from 203\.0\.113\.9.*--force/);
    expect(trust.writes).toHaveLength(1);
    // Quiet since: the next run finishes.
    expect(await advanceRotation(deps(), role, ms(60_000, hour(30)))).toMatchObject({
      phase: 'finished',
      done: ['finish'],
    });
    expect(await assumeDecision(trust.policy(), VENDOR, OLD_ID)).toBe('Denied');
    expect(await assumeDecision(trust.policy(), VENDOR, newId)).toBe('Allowed');
  });

  it('waits a delivery margin past the quiet period, so an old-ID assume CloudTrail delivers late is seen first', async () => {
    await startedAndConfirmed(hour(1));
    // A worker assumes with the old ID just before the quiet period ends; CloudTrail delivers it 15 minutes later.
    const lastOld = ms(-5 * 60_000, hour(25));
    const quietEnds = await advanceRotation(deps(), role, hour(25));
    expect(quietEnds).toMatchObject({ phase: 'confirmed', done: [] });
    expect(quietEnds.waiting).toContain(`not before ${ms(DELIVERY_MARGIN_MS, hour(25)).toISOString()}`);
    expect(trust.writes).toHaveLength(1);
    expect(await assume('old-late', lastOld, OLD_ID, 'w3', '192.0.2.7')).toMatchObject({ findings: [] });
    // Seen in time: the finish now waits for a quiet period after it (plus the margin).
    const after = await advanceRotation(deps(), role, ms(15 * 60_000, hour(25)));
    expect(after.waiting).toContain(`not before ${ms(DELIVERY_MARGIN_MS, hour(24, lastOld)).toISOString()}`);
    expect(await advanceRotation(deps(), role, hour(26))).toMatchObject({ phase: 'confirmed', done: [] });
    expect(await assumeDecision(trust.policy(), VENDOR, OLD_ID)).toBe('Allowed');
    expect(DELIVERY_MARGIN_MS).toBe(3_600_000);
  });

  it('the quiet period is the role’s rotation.quietHours; --finish --force still finishes at once', async () => {
    const quick: RegisteredRole = { ...role, rotation: { everyDays: 90, graceDays: 7, quietHours: 2 } };
    await startedAndConfirmed(hour(1), quick);
    expect(await advanceRotation(deps(), quick, ms(-1, hour(4)))).toMatchObject({ phase: 'confirmed' });
    expect(await advanceRotation(deps(), quick, hour(4))).toMatchObject({ phase: 'finished' });

    // The default, forced: finished at once, and the history says it was forced before the quiet period.
    const next = (await pipelineDeps(day(1)).registry()).roleFor(VENDOR_ROLE)!;
    expect(next.rotation?.quietHours).toBeUndefined();
    await startRotation(deps(), next, { trigger: 'manual', now: day(1) });
    const second = await rotationOf();
    await createRotationStore(doc, config.registryTable).confirm(VENDOR_ROLE, second.pendingId!, {
      eventId: 'c2',
      callerAccountId: VENDOR_ACCOUNT,
      at: hour(1, day(1)).toISOString(),
    });
    const forced = await finishRotation(deps(), next, hour(2, day(1)), { force: true, requestedBy: 'alice' });
    expect(forced).toMatchObject({ phase: 'finished' });
    expect(forced.rotation!.history.map((h) => h.detail)).toContain(
      'forced by alice before the old ID went unused for 24 h',
    );

    // The registry field: hours, 0 (finish an hour after the confirmation, the delivery margin) to 720.
    const withQuiet = (quietHours: unknown) => ({
      roles: [{ ...role, rotation: { everyDays: 90, graceDays: 7, quietHours } }],
    });
    expect(validateRegistry(withQuiet(0.5), 'r').roles[0]!.rotation).toMatchObject({ quietHours: 0.5 });
    expect(() => validateRegistry(withQuiet(-1), 'r')).toThrow(/quietHours/);
    expect(() => validateRegistry(withQuiet('24'), 'r')).toThrow(/quietHours/);
  });

  it('the deadline alert names the callers and source IPs still seen with the old ID', async () => {
    await startRotation(deps(), role, { trigger: 'manual', now: T0 });
    const newId = (await rotationOf()).pendingId!;
    await assume('old-a', day(1), OLD_ID, 'w-a', '198.51.100.1');
    // Past the deadline (7 days) without a confirmation: the overdue alert says who uses the old ID.
    await advanceRotation(deps(), role, day(8));
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.message).toContain(`${workerArn('w-a')} from 198.51.100.1`);

    // Confirmed after the deadline, and another worker still on the old ID since: a high alert naming it alone.
    await assume('confirm', hour(1, day(8)), newId, 'w-a', '198.51.100.1');
    await assume('old-b', hour(2, day(8)), OLD_ID, 'w-b', '192.0.2.44');
    const out = await advanceRotation(deps(), role, hour(3, day(8)));
    expect(out).toMatchObject({ phase: 'confirmed', waiting: expect.stringContaining('overdue since') });
    expect(alerts).toHaveLength(2);
    expect(alerts[1]).toMatchObject({ severity: 'high', title: expect.stringContaining('still uses the old ID') });
    expect(alerts[1]!.message).toContain(`${workerArn('w-b')} from 192.0.2.44 (last ${hour(2, day(8)).toISOString()})`);
    expect(alerts[1]!.message).not.toContain('w-a');
    expect(alerts[1]!.message).toContain('--finish --force');
    expect(JSON.stringify(alerts)).not.toContain(newId);
    expect(JSON.stringify(alerts)).not.toContain(OLD_ID);
    // Once, not every hour.
    await advanceRotation(deps(), role, hour(4, day(8)));
    expect(alerts).toHaveLength(2);
  });

  it('notes old-ID use only during a rotation, from the vendor’s accounts, at most once a minute per caller', async () => {
    // No rotation in flight: nothing is noted (the assume costs nothing more).
    await assume('before', hour(-1), OLD_ID);
    expect(await createRotationStore(doc, config.registryTable).get(VENDOR_ROLE)).toBeNull();
    await startRotation(deps(), role, { trigger: 'manual', now: T0 });
    await assume('o1', hour(1), OLD_ID);
    await assume('o2', ms(30_000, hour(1)), OLD_ID);
    const once = await rotationOf();
    expect(once.oldIdUse?.lastAt).toBe(hour(1).toISOString());
    await assume('o3', ms(61_000, hour(1)), OLD_ID);
    const twice = await rotationOf();
    expect(twice.version).toBe(once.version + 1);
    expect(twice.oldIdUse?.callers).toHaveLength(1);
    expect(twice.oldIdUse?.lastAt).toBe(ms(61_000, hour(1)).toISOString());
    // Another account's assume with the old ID (a finding of its own) does not hold the rotation back.
    const stranger = vendorAssume({
      id: 'o4',
      time: hour(2).toISOString(),
      session: 'x',
      externalId: OLD_ID,
      account: '444455556666',
    });
    expect(await processRecord(stranger, pipelineDeps(hour(2)))).toMatchObject({
      findings: [{ kind: 'untrusted-account' }],
    });
    expect((await rotationOf()).version).toBe(twice.version);
  });
});

describe('old-ID use is tracked whatever the registry says mid-rotation', () => {
  // Someone re-imports the registry with the new ID current while workers still use the old one.
  for (const variant of ['current: NEW', 'current: NEW, pending: OLD'] as const) {
    it(`${variant}: the old ID is still noted and no finding; the finish waits for it`, async () => {
      const newId = await startedAndConfirmed(hour(1));
      const edited: RegisteredRole = {
        ...role,
        externalIds: { current: newId, pending: variant === 'current: NEW' ? null : OLD_ID, retired: [] },
      };
      await createRegistryStore(doc, config.registryTable).replace({ ...registry, roles: [edited] });
      const seen = (await pipelineDeps(hour(4)).registry()).roleFor(VENDOR_ROLE)!;
      expect(seen.externalIds).toEqual({ current: newId, pending: OLD_ID, retired: [] });

      expect(await assume('old-late', hour(5), OLD_ID, 'w2', '203.0.113.9')).toMatchObject({
        status: 'recorded',
        findings: [],
        actions: [],
      });
      expect((await rotationOf()).oldIdUse?.lastAt).toBe(hour(5).toISOString());
      // The new ID is no old-ID use.
      expect(await assume('new-again', hour(6), newId, 'w1')).toMatchObject({ findings: [] });
      expect((await rotationOf()).oldIdUse?.lastAt).toBe(hour(5).toISOString());
      // 24 h after the confirmation, not after the old ID's last use: both IDs stay.
      expect(await advanceRotation(deps(), edited, hour(26))).toMatchObject({ phase: 'confirmed', done: [] });
      expect(await assumeDecision(trust.policy(), VENDOR, OLD_ID)).toBe('Allowed');
    });
  }
});

describe('a retired ID counts from the IAM write plus its propagation', () => {
  it('an old-ID assume IAM still accepted just after the finish is not retired-external-id; after the grace it is', async () => {
    await startedAndConfirmed(hour(1));
    const finishAt = day(2);
    await advanceRotation(deps(), role, finishAt);
    const rotation = await rotationOf();
    expect(rotation.phase).toBe('finished');
    expect(rotation.retiredAt[OLD_ID]).toBe(ms(RETIRE_GRACE_MS, finishAt).toISOString());
    expect(await assume('prop-1', ms(60_000, finishAt), OLD_ID)).toMatchObject({ status: 'recorded', findings: [] });
    expect(await assume('prop-2', ms(RETIRE_GRACE_MS + 1_000, finishAt), OLD_ID)).toMatchObject({
      findings: [{ kind: 'retired-external-id' }],
    });
  });

  it('the same for the new ID dropped by a rollback', async () => {
    await startRotation(deps(), role, { trigger: 'manual', now: T0 });
    const newId = (await rotationOf()).pendingId!;
    const rollbackAt = hour(2);
    await rollbackRotation(deps(), role, rollbackAt, { requestedBy: 'bob' });
    expect((await rotationOf()).retiredAt[newId]).toBe(ms(RETIRE_GRACE_MS, rollbackAt).toISOString());
    expect(await assume('rb-1', ms(60_000, rollbackAt), newId)).toMatchObject({ findings: [] });
    expect(await assume('rb-2', ms(RETIRE_GRACE_MS + 1_000, rollbackAt), newId)).toMatchObject({
      findings: [{ kind: 'retired-external-id' }],
    });
  });
});

describe('IDs other than the previous and the pending one in the vendor statement', () => {
  it('refuse a finish and a rollback, naming them masked, and write nothing; the scheduled run alerts', async () => {
    const newId = await startedAndConfirmed(hour(1));
    // Someone added the vendor's DR site's ID by hand meanwhile.
    trust.set('ExampleCorpAudit', vendorTrustPolicy([OLD_ID, newId, DR_ID]));
    const before = await rotationOf();
    const masked = maskExternalId(DR_ID)!;

    for (const attempt of [
      () => finishRotation(deps(), role, day(2), {}),
      () => finishRotation(deps(), role, day(2), { force: true }),
      () => rollbackRotation(deps(), role, day(2), { force: true }),
    ]) {
      const error = await attempt().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UnexpectedExternalIds);
      expect((error as UnexpectedExternalIds).ids).toEqual([masked]);
      expect((error as Error).message).toContain(masked);
      expect((error as Error).message).not.toContain(DR_ID);
    }
    expect(trust.writes).toHaveLength(1);
    expect((await rotationOf()).version).toBe(before.version);
    expect(await assumeDecision(trust.policy(), VENDOR, DR_ID)).toBe('Allowed');

    // The scheduled run, past the quiet period: it does not drop the ID; it alerts, naming it masked, and fails.
    const run = await runRotations(deps(), registry.roles, day(2));
    expect(run.failed).toEqual([{ roleArn: VENDOR_ROLE, error: expect.stringContaining(masked) }]);
    expect(alerts).toEqual([expect.objectContaining({ severity: 'high', title: expect.stringContaining('stuck') })]);
    expect(alerts[0]!.message).toContain(masked);
    expect(alerts[0]!.message).toContain('a rollback is refused for the same reason');
    expect(JSON.stringify(alerts)).not.toContain(DR_ID);
    expect(trust.writes).toHaveLength(1);
    expect(trust.policy()).toEqual(vendorTrustPolicy([OLD_ID, newId, DR_ID]));
  });
});

describe('a rotation that can no longer go on is alerted, not left stuck silently', () => {
  it('a role made protected mid-rotation: alerted once, nothing written', async () => {
    await startedAndConfirmed(hour(1));
    const guarded = deps({ ...registry, protectedRoleArns: [...registry.protectedRoleArns, VENDOR_ROLE] });
    const run = await runRotations(guarded, registry.roles, day(2));
    expect(run.results).toEqual([
      expect.objectContaining({ phase: 'confirmed', waiting: expect.stringMatching(/^refused: /) }),
    ]);
    expect(alerts).toEqual([
      expect.objectContaining({ severity: 'high', title: expect.stringContaining('stuck'), roleArn: VENDOR_ROLE }),
    ]);
    expect(alerts[0]!.message).toContain('may no longer change the role');
    expect(JSON.stringify(alerts)).not.toContain(OLD_ID);
    // Once (a week), not every hour.
    await runRotations(guarded, registry.roles, hour(1, day(2)));
    expect(alerts).toHaveLength(1);
    expect(trust.writes).toHaveLength(1);
    expect((await rotationOf()).phase).toBe('confirmed');
  });

  it('a role removed from the registry mid-rotation: alerted once, nothing written', async () => {
    await startRotation(deps(), role, { trigger: 'manual', now: T0 });
    const newId = (await rotationOf()).pendingId!;
    const run = await runRotations(deps(), [], day(1));
    expect(run.failed).toEqual([]);
    expect(run.results).toEqual([
      expect.objectContaining({ roleArn: VENDOR_ROLE, waiting: expect.stringContaining('no longer in the registry') }),
    ]);
    expect(alerts).toEqual([
      expect.objectContaining({
        severity: 'high',
        roleArn: VENDOR_ROLE,
        title: expect.stringContaining('no longer in the registry'),
      }),
    ]);
    expect(JSON.stringify(alerts)).not.toContain(newId);
    await runRotations(deps(), [], hour(1, day(1)));
    expect(alerts).toHaveLength(1);
    expect(trust.writes).toHaveLength(1);
  });
});
