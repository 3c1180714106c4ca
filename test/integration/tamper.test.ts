import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IAMClient, NoSuchEntityException } from '@aws-sdk/client-iam';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { describe, expect, it } from '@jest/globals';
import { slackSender } from '../../lib/alert/index.js';
import { createDeps, type Deps } from '../../lib/deps.js';
import { type ProcessOutcome, processRecord } from '../../lib/pipeline.js';
import { parseRegistryText } from '../../lib/registry/text.js';
import { runReplay } from '../../lib/replay/run-replay.js';
import { emulatedRevoker } from '../../lib/revoke/respond.js';
import { liveRevoker, type RevocationDeps } from '../../lib/revoke/service.js';
import { createRevocationStore } from '../../lib/revoke/store.js';
import { liveReapplier } from '../../lib/trust/reapply.js';
import { createSessionsTable, createTestTables } from '../helpers/dynamo.js';
import type { FakeServer } from '../helpers/fake-aws.js';
import { EVENTS_DIR, loadJson } from '../helpers/fixtures.js';
import { useLiveParts } from '../helpers/live-parts.js';
import { memoryLogger } from '../helpers/logger.js';
import { type EmulatedIam, ROLE_ID, sessionDecision, vendorAssume } from '../helpers/revocation.js';

// Tampering with roleguard's revocation policy, and a registered role deleted and created again: the real pipeline
// on DynamoDB Local, IAM emulated with aws-sdk-client-mock, Slack a real HTTP server, policies judged by an evaluator.
const ROLE = 'arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit';
const GOOD = 'ec-7Hq2vN9xK4pL8mR3';
const WRONG = 'tenant-4711-of-example-corp';
const registryText = (extra = '') => `
serviceRoleArns: ["arn:aws:iam::111122223333:role/roleguard-*"]
protectedRoleArns: ["arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit-protected"]
roles:
  - roleArn: ${ROLE}
    vendor: Example Corp
    trustedAccounts: ["999988887777"]
    externalIds: { current: "${GOOD}" }
    response: revoke
${extra}`;

let doc: DynamoDBDocumentClient;
let iam: EmulatedIam;
let slack: FakeServer;

useLiveParts((parts) => {
  ({ doc, iam, slack } = parts);
});

/** The deps of the deployed functions (revoking and re-applying), on fresh tables. */
async function world(options: { dryRun?: boolean; registry?: string; reapply?: boolean; tablesOf?: Deps } = {}) {
  // On the tables of another world: no merge window, so that each alert of the test is sent.
  const config = options.tablesOf
    ? { ...options.tablesOf.config, dryRun: options.dryRun ?? false, alertWindowSeconds: 0 }
    : await createTestTables(doc, await createSessionsTable(doc), { dryRun: options.dryRun ?? false });
  const { logger, lines } = memoryLogger();
  const store = createRevocationStore(doc, config.revocationsTable!);
  const revoking: RevocationDeps = {
    iam: new IAMClient({ region: 'us-east-1' }),
    dynamo: doc,
    store,
    logger,
    retry: { baseMs: 1 },
  };
  const deps: Deps = createDeps(config, {
    dynamo: doc,
    logger,
    registry: parseRegistryText(options.registry ?? registryText(), 'r.yaml'),
    senders: { slack: slackSender(`${slack.url}/services/T0/B0/secret`) },
    revoker: liveRevoker(revoking),
    ...(options.reapply === false ? {} : { reapply: liveReapplier(revoking) }),
  });
  const process = (record: unknown): Promise<ProcessOutcome> =>
    processRecord(record, deps, {
      now: (e) => new Date(Date.parse('issuedAt' in e ? e.issuedAt : e.eventTime) + 3000),
    });
  return { deps, lines, process, store };
}

/** A fixture event's CloudTrail record, with overrides of its fields. */
function iamEvent(file: string, overrides: Record<string, unknown> = {}): Record<string, any> {
  const { detail } = loadJson(join(EVENTS_DIR, file)) as { detail: Record<string, any> };
  return { ...detail, ...overrides };
}
const tamper = (file: 'eventbridge-delete-role-policy-tamper.json' | 'eventbridge-put-role-policy-tamper.json') =>
  iamEvent(file, { eventTime: '2026-11-02T10:30:00Z' });
const ROLEGUARD = {
  type: 'AssumedRole',
  principalId: 'AROA3XFRBF23ROLEGUARD:roleguard-prod-sweep',
  arn: 'arn:aws:sts::111122223333:assumed-role/roleguard-prod-SweepRole-1A2B3C/roleguard-prod-sweep',
  accountId: '111122223333',
  sessionContext: {
    sessionIssuer: { type: 'Role', arn: 'arn:aws:iam::111122223333:role/roleguard-prod-SweepRole-1A2B3C' },
  },
};
const findings = (o: ProcessOutcome) => ('findings' in o ? o.findings.map((f) => [f.kind, f.severity]) : []);
const slackTexts = () => slack.received.map((r) => JSON.stringify(r.body));

/** A wrong-ID assume at 10:05 whose session roleguard revokes; IAM then holds the deny. */
async function revokedSession(w: Awaited<ReturnType<typeof world>>): Promise<void> {
  const out = await w.process(
    vendorAssume({ id: 'wrong-1', time: '2026-11-02T10:05:00Z', session: 'scan-1', externalId: WRONG }),
  );
  expect(findings(out)).toEqual([['unexpected-external-id', 'critical']]);
  expect(iam.puts('ExampleCorpAudit')).toBe(1);
  expect(await sessionDecision(iam.policy('ExampleCorpAudit'), 'scan-1', '2026-11-02T10:05:00Z')).toBe('Denied');
}

describe('revocation-tampered', () => {
  it('after someone deletes the revocation policy, raises a critical finding and puts the policy back, which still denies the revoked session', async () => {
    const w = await world();
    await revokedSession(w);
    // Terraform removes the "unmanaged" inline policy: the revoked session works again.
    iam.policies.delete('ExampleCorpAudit/roleguard-revocations');
    expect(await sessionDecision(iam.policy('ExampleCorpAudit'), 'scan-1', '2026-11-02T10:05:00Z')).toBe('Allowed');
    const out = await w.process(tamper('eventbridge-delete-role-policy-tamper.json'));
    expect(out.status).toBe('trust-policy-change');
    expect(findings(out)).toEqual([['revocation-tampered', 'critical']]);
    expect('findings' in out && out.findings[0]!.message).toMatch(
      /^arn:aws:sts::111122223333:assumed-role\/PlatformAutomation\/terraform-run-8812 deleted roleguard's roleguard-revocations policy on Example Corp's role outside roleguard/,
    );
    expect(iam.puts('ExampleCorpAudit')).toBe(2);
    const policy = iam.policy('ExampleCorpAudit');
    expect(await sessionDecision(policy, 'scan-1', '2026-11-02T10:05:00Z')).toBe('Denied');
    // Nothing else is denied: a later session of the vendor stays allowed.
    expect(await sessionDecision(policy, 'scan-2', '2026-11-02T10:40:00Z')).toBe('Allowed');
    const alert = slackTexts().find((t) => t.includes('revocation-tampered'))!;
    expect(alert).toContain('Re-applied the revocations roleguard keeps (1 revocation)');
    expect(alert).toContain('CRITICAL');
  });

  it('after someone rewrites the revocation policy without the deny, puts the deny back', async () => {
    const w = await world();
    await revokedSession(w);
    const put = tamper('eventbridge-put-role-policy-tamper.json');
    iam.policies.set('ExampleCorpAudit/roleguard-revocations', put.requestParameters.policyDocument);
    const out = await w.process(put);
    expect(findings(out)).toEqual([['revocation-tampered', 'critical']]);
    const policy = iam.policy('ExampleCorpAudit') as { Statement: { Sid?: string }[] };
    expect(await sessionDecision(policy, 'scan-1', '2026-11-02T10:05:00Z')).toBe('Denied');
    // What the other party put in roleguard's policy is not roleguard's: dropped, and the alert says so.
    expect(policy.Statement.map((s) => s.Sid)).not.toContain('Placeholder');
    expect(slackTexts().find((t) => t.includes('revocation-tampered'))).toContain(
      'Removed 1 statement that roleguard did not write from roleguard-revocations',
    );
  });

  it('drops an Allow * or padding planted in its policy, so neither grants anything nor crowds out revocations', async () => {
    const w = await world();
    await revokedSession(w);
    const mine = iam.policy('ExampleCorpAudit') as { Version: string; Statement: object[] };
    const padding = {
      Sid: 'Pad',
      Effect: 'Deny',
      Action: 's3:PutBucketAcl',
      Resource: Array.from({ length: 270 }, (_, i) => `arn:aws:s3:::padding-bucket-${String(i).padStart(4, '0')}`),
    };
    const planted = {
      ...mine,
      Statement: [...mine.Statement, { Sid: 'Backdoor', Effect: 'Allow', Action: '*', Resource: '*' }, padding],
    };
    expect(JSON.stringify(planted).length).toBeGreaterThan(9_500);
    expect(JSON.stringify(planted).length).toBeLessThanOrEqual(10_240);
    const put = tamper('eventbridge-put-role-policy-tamper.json');
    const doc = JSON.stringify(planted);
    iam.policies.set('ExampleCorpAudit/roleguard-revocations', doc);
    const out = await w.process({ ...put, requestParameters: { ...put.requestParameters, policyDocument: doc } });
    expect(findings(out)).toEqual([['revocation-tampered', 'critical']]);
    const policy = iam.policy('ExampleCorpAudit') as { Statement: { Sid?: string }[] };
    // The planted Allow * grants nothing any more (roleguard's policy alone allows nothing).
    expect(await aloneDecision(policy)).toBe('Denied');
    expect(await aloneDecision(planted)).toBe('Allowed');
    expect(policy.Statement.map((s) => s.Sid)).not.toContain('Pad');
    // Still the targeted deny, not the whole role: the padding did not count against the budget.
    expect(await sessionDecision(policy, 'scan-1', '2026-11-02T10:05:00Z')).toBe('Denied');
    expect(await sessionDecision(policy, 'vendor-good', '2026-11-02T10:00:00Z')).toBe('Allowed');
    const alert = slackTexts().find((t) => t.includes('revocation-tampered'))!;
    expect(alert).toContain('Removed 2 statements that roleguard did not write from roleguard-revocations');
    expect(alert).toContain('Backdoor');
  });

  it('removes an Allow * planted in its policy on a role where it keeps no revocation', async () => {
    const w = await world();
    const planted = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Sid: 'Backdoor', Effect: 'Allow', Action: '*', Resource: '*' }],
    });
    iam.policies.set('ExampleCorpAudit/roleguard-revocations', planted);
    const put = tamper('eventbridge-put-role-policy-tamper.json');
    const out = await w.process({ ...put, requestParameters: { ...put.requestParameters, policyDocument: planted } });
    expect(findings(out)).toEqual([['revocation-tampered', 'critical']]);
    // Nothing of roleguard's is left in it, so the policy is deleted: it grants nothing.
    expect(iam.policy('ExampleCorpAudit')).toBeNull();
    expect(slackTexts().find((t) => t.includes('revocation-tampered'))).toContain(
      'Removed 1 statement that roleguard did not write from roleguard-revocations',
    );
  });

  it('a deleted role (its deleter removed this policy first) is final: nothing put back, nothing retried, kept state forgotten', async () => {
    const w = await world();
    await revokedSession(w);
    expect(await w.store.due(new Date('2026-11-03T00:00:00Z'))).toHaveLength(1);
    // DeleteRole needs the role's inline policies deleted first; then the role is gone.
    iam.policies.delete('ExampleCorpAudit/roleguard-revocations');
    const gone = () =>
      new NoSuchEntityException({
        message: 'The role with name ExampleCorpAudit cannot be found.',
        $metadata: { httpStatusCode: 404 },
      });
    iam.failNext('ListRolePolicies', 10, gone);
    iam.failNext('PutRolePolicy', 10, gone);
    const out = await w.process(tamper('eventbridge-delete-role-policy-tamper.json'));
    expect(findings(out)).toEqual([['revocation-tampered', 'critical']]);
    // Written once, before the deletion (the re-apply's write, tried on the deleted role, is refused by IAM).
    expect(iam.written()).toBe(1);
    expect(slackTexts().find((t) => t.includes('revocation-tampered'))).toContain(
      'Not re-applied: the role no longer exists (it was deleted)',
    );
    // Nothing kept for it any more: no prune item left for the sweep, nothing to re-apply later.
    expect(await w.store.keptState(ROLE)).toEqual({ role: null, sessions: [] });
    expect(await w.store.due(new Date('2026-11-03T00:00:00Z'))).toEqual([]);
  });

  it("is not raised for roleguard's own writes, nor for another inline policy of the role", async () => {
    const w = await world();
    await revokedSession(w);
    const own = await w.process({ ...tamper('eventbridge-delete-role-policy-tamper.json'), userIdentity: ROLEGUARD });
    expect(findings(own)).toEqual([]);
    const other = tamper('eventbridge-put-role-policy-tamper.json');
    const outcome = await w.process({
      ...other,
      requestParameters: { ...other.requestParameters, policyName: 'ExampleCorpReadOnly' },
    });
    expect(findings(outcome)).toEqual([]);
    expect(iam.puts()).toBe(1);
  });

  it('writes nothing in a dry run or on a protected role, and says so in the alert', async () => {
    const live = await world();
    await revokedSession(live);
    iam.policies.delete('ExampleCorpAudit/roleguard-revocations');
    // The global dry run switched on since (an emergency stop): decided and shown, not written.
    const dry = await world({ dryRun: true, tablesOf: live.deps });
    expect(findings(await dry.process(tamper('eventbridge-delete-role-policy-tamper.json')))).toEqual([
      ['revocation-tampered', 'critical'],
    ]);
    expect(iam.puts()).toBe(1);
    expect(iam.policy('ExampleCorpAudit')).toBeNull();
    expect(slackTexts().find((t) => t.includes('revocation-tampered'))).toContain(
      "Dry run (roleguard's global dry run is on): would re-apply the revocations roleguard keeps (1 revocation)",
    );

    iam.mock.resetHistory();
    const guarded = await world({
      registry: registryText().replace('protectedRoleArns: [', `protectedRoleArns: ["${ROLE}", `),
      tablesOf: live.deps,
    });
    const other = { ...tamper('eventbridge-delete-role-policy-tamper.json'), eventID: 'tamper-2' };
    expect(findings(await guarded.process(other))).toEqual([['revocation-tampered', 'critical']]);
    expect(iam.mock.calls()).toHaveLength(0);
    expect(slackTexts().some((t) => t.includes('Not re-applied: it is listed in protectedRoleArns'))).toBe(true);
  });

  it('alerts, then fails the event so that it is retried, when IAM keeps failing; the redelivery re-applies once', async () => {
    const w = await world();
    await revokedSession(w);
    iam.policies.delete('ExampleCorpAudit/roleguard-revocations');
    iam.failNext('GetRolePolicy', 5, () =>
      Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $metadata: { httpStatusCode: 400 } }),
    );
    await expect(w.process(tamper('eventbridge-delete-role-policy-tamper.json'))).rejects.toThrow('Rate exceeded');
    expect(slackTexts().filter((t) => t.includes('revocation-tampered'))).toHaveLength(1);
    expect(slackTexts().find((t) => t.includes('revocation-tampered'))).toContain('failed');
    const again = await w.process(tamper('eventbridge-delete-role-policy-tamper.json'));
    expect(findings(again)).toEqual([]);
    expect(await sessionDecision(iam.policy('ExampleCorpAudit'), 'scan-1', '2026-11-02T10:05:00Z')).toBe('Denied');
    expect(slackTexts().filter((t) => t.includes('revocation-tampered'))).toHaveLength(1);
  });
});

describe('role-recreated', () => {
  it('raises a critical finding for DeleteRole and CreateRole of a registered role, with the RoleIds, and records the new one', async () => {
    const w = await world();
    // The vendor's assume records the role's RoleId.
    const first = await w.process(
      vendorAssume({ id: 'good-1', time: '2026-11-02T23:00:00Z', session: 'scan-1', externalId: GOOD }),
    );
    expect(findings(first)).toEqual([]);
    const deleted = await w.process(iamEvent('eventbridge-delete-role.json'));
    expect(findings(deleted)).toEqual([['role-recreated', 'critical']]);
    expect('findings' in deleted && deleted.findings[0]!.message).toContain(
      `deleted Example Corp's role (RoleId ${ROLE_ID}`,
    );
    const created = await w.process(iamEvent('eventbridge-create-role.json'));
    expect(findings(created)).toEqual([['role-recreated', 'critical']]);
    const message = 'findings' in created ? created.findings[0]!.message : '';
    expect(message).toContain(`created Example Corp's role again with RoleId AROA5XFRBF23RECREATED (RoleId ${ROLE_ID}`);
    // The new trust policy trusts the vendor without an external ID: the finding says so.
    expect(message).toMatch(/its trust policy has \d+ problems?/);
    expect(await w.deps.roleIds.get(ROLE)).toMatchObject({ roleId: 'AROA5XFRBF23RECREATED' });
    // Nothing is revoked for it, and a late assume of the old role (issued before the re-creation) changes nothing.
    expect(iam.mock.calls()).toHaveLength(0);
    const late = await w.process(
      vendorAssume({ id: 'good-0', time: '2026-11-02T23:30:00Z', session: 'scan-0', externalId: GOOD }),
    );
    expect(findings(late)).toEqual([]);
    // The second finding of the kind, role and caller is merged into the first alert's window (a repeat count).
    expect(slackTexts().filter((t) => t.includes('role-recreated'))).toHaveLength(1);
  });

  it('is raised from an assume whose RoleId differs from the one on record (the IAM events were missed), without revoking', async () => {
    const w = await world();
    await w.process(vendorAssume({ id: 'good-1', time: '2026-11-02T09:00:00Z', session: 's1', externalId: GOOD }));
    const record = vendorAssume({ id: 'good-2', time: '2026-11-03T09:00:00Z', session: 's2', externalId: GOOD });
    (record.responseElements as any).assumedRoleUser.assumedRoleId = 'AROA5XFRBF23RECREATED:s2';
    const out = await w.process(record);
    expect(findings(out)).toEqual([['role-recreated', 'critical']]);
    expect('findings' in out && out.findings[0]!.message).toContain(
      `now carry RoleId AROA5XFRBF23RECREATED, not ${ROLE_ID}`,
    );
    expect(iam.puts()).toBe(0);
    // Seen once: the next session of the new role is ordinary.
    const next = vendorAssume({ id: 'good-3', time: '2026-11-03T10:00:00Z', session: 's3', externalId: GOOD });
    (next.responseElements as any).assumedRoleUser.assumedRoleId = 'AROA5XFRBF23RECREATED:s3';
    expect(findings(await w.process(next))).toEqual([]);
  });
});

describe('assumed-after-revocation and a rotation in flight', () => {
  it('is not raised for the vendor with the pending ID of a rotation the cached registry does not show yet', async () => {
    const w = await world();
    await revokedSession(w);
    const PENDING = 'ec-pending-Zr5tW1qB9x';
    // Started after the registry was cached: only the fresh read of the rotation knows the pending ID.
    await w.deps.rotations.create({
      roleArn: ROLE,
      phase: 'notified',
      version: 0,
      rotationId: 'r-1',
      since: '2026-08-01T00:00:00Z',
      previousId: GOOD,
      pendingId: PENDING,
      trigger: 'manual',
      requestedBy: null,
      startedAt: '2026-11-02T10:06:00Z',
      deadlineAt: '2026-11-09T10:06:00Z',
      previousPolicy: null,
      setAt: '2026-11-02T10:06:00Z',
      notifiedAt: '2026-11-02T10:06:00Z',
      confirmedAt: null,
      confirmation: null,
      finishedAt: null,
      forced: false,
      rolledBackAt: null,
      currentId: null,
      retiredAt: {},
      closing: null,
      lastAlert: null,
      lastError: null,
      writes: [],
      history: [],
    });
    const vendor = await w.process(
      vendorAssume({ id: 'pending-1', time: '2026-11-02T10:20:00Z', session: 'scan-2', externalId: PENDING }),
    );
    expect(findings(vendor)).toEqual([]);
    // The same caller with a wrong ID is still a caller that came back.
    const back = await w.process(
      vendorAssume({ id: 'wrong-2', time: '2026-11-02T10:21:00Z', session: 'scan-3', externalId: WRONG }),
    );
    expect(findings(back)).toEqual([
      ['unexpected-external-id', 'critical'],
      ['assumed-after-revocation', 'high'],
    ]);
  });
});

describe('replay of the sample events', () => {
  it('yields the tamper and re-creation findings, and writes nothing', async () => {
    const config = await createTestTables(doc, await createSessionsTable(doc));
    const deps = createDeps(config, {
      dynamo: doc,
      logger: memoryLogger().logger,
      registry: parseRegistryText(readFileSync(join(EVENTS_DIR, 'registry.yaml'), 'utf8'), 'registry.yaml'),
      // Wired as `roleguard replay` wires it without --apply.
      revoker: emulatedRevoker({ store: createRevocationStore(doc, config.revocationsTable!) }),
    });
    const report = await runReplay(deps, { paths: [EVENTS_DIR] });
    const iamFindings = report.findings
      .filter((f) => ['revocation-tampered', 'role-recreated'].includes(f.kind))
      .map((f) => [f.kind, f.severity, f.eventId]);
    expect(iamFindings.sort()).toEqual(
      [
        ['revocation-tampered', 'critical', 'a1f2e3d4-c5b6-4a79-8e1d-2c3b4a5f6e11'],
        ['revocation-tampered', 'critical', 'b2a3f4e5-d6c7-4b8a-9f2e-3d4c5b6a7f12'],
        ['role-recreated', 'critical', 'c3b4a5f6-e7d8-4c9b-8a3f-4e5d6c7b8a13'],
        ['role-recreated', 'critical', 'd4c5b6a7-f8e9-4dac-9b4a-5f6e7d8c9b14'],
      ].sort(),
    );
    // No session is revoked for them: the only revocation is the wrong-ID session's.
    expect(report.actions.filter((a) => a.kind !== 'alert').map((a) => a.eventId)).toEqual([
      'c4b7e2a9-1d3f-4e6a-8b5c-7f2e9d1a3b02',
    ]);
    expect(iam.mock.calls()).toHaveLength(0);
    const alerts = await deps.alerts.outbox.due(new Date('2026-11-04T00:00:00Z'));
    expect(alerts.find((a) => a.finding.kind === 'revocation-tampered')!.action).toMatch(
      /^Would re-apply roleguard's roleguard-revocations policy from the revocations it keeps \(replay/,
    );
  });
});

/** What a role's revocation policy alone (no other policy) decides for an IAM action. */
async function aloneDecision(policy: unknown): Promise<'Allowed' | 'Denied'> {
  const result = await runSimulation(
    {
      request: {
        principal: 'arn:aws:sts::111122223333:assumed-role/ExampleCorpAudit/scan-9',
        action: 'iam:CreateUser',
        resource: { resource: 'arn:aws:iam::111122223333:user/backdoor', accountId: '111122223333' },
        contextVariables: {
          'aws:userid': `${ROLE_ID}:scan-9`,
          'aws:TokenIssueTime': '2026-11-02T10:40:00Z',
          'aws:PrincipalAccount': '111122223333',
        },
      },
      identityPolicies: [{ name: 'roleguard-revocations', policy }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    },
    {},
  );
  if (result.resultType === 'error') throw new Error(JSON.stringify(result.errors));
  return result.overallResult === 'Allowed' ? 'Allowed' : 'Denied';
}
