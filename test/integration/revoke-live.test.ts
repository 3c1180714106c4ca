import { IAMClient, NoSuchEntityException } from '@aws-sdk/client-iam';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from '@jest/globals';
import { slackSender } from '../../lib/alert/index.js';
import type { Config } from '../../lib/config.js';
import { createDeps, type Deps } from '../../lib/deps.js';
import { type ProcessOutcome, processRecord } from '../../lib/pipeline.js';
import { parseRegistryText } from '../../lib/registry/text.js';
import {
  liveRevoker,
  type RevocationDeps,
  revoke,
  SWEEP_GRACE_MS,
  sweepRevocations,
} from '../../lib/revoke/service.js';
import { createRevocationStore, intentIdFor, type RevocationStore } from '../../lib/revoke/store.js';
import { createSessionsTable, createTestTables, testDynamo } from '../helpers/dynamo.js';
import type { FakeServer } from '../helpers/fake-aws.js';
import { useLiveParts } from '../helpers/live-parts.js';
import { memoryLogger } from '../helpers/logger.js';
import { type EmulatedIam, ROLE_ID, sessionDecision, throttling, vendorAssume } from '../helpers/revocation.js';

// The live revocation path: the real pipeline on DynamoDB Local, IAM emulated (last writer wins) with
// aws-sdk-client-mock, Slack a real HTTP server on 127.0.0.1, every policy judged by an IAM evaluator.
const ROLE = 'arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit';
const SSO_ROLE =
  'arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_VendorAccess_0123456789abcdef';
const GOOD = 'ec-7Hq2vN9xK4pL8mR3';
const WRONG = 'tenant-4711-of-example-corp';
const registryText = (extra = '') => `
serviceRoleArns: ["arn:aws:iam::111122223333:role/roleguard-*"]
protectedRoleArns: ["arn:aws:iam::111122223333:role/BreakGlass"]
roles:
  - roleArn: ${ROLE}
    vendor: Example Corp
    trustedAccounts: ["999988887777"]
    externalIds: { current: "${GOOD}" }
    response: revoke
${extra}
  - roleArn: ${SSO_ROLE}
    vendor: Protected Vendor
    trustedAccounts: ["999988887777"]
    externalIds: { current: "pv-123456" }
    response: revoke
`;

let doc: DynamoDBDocumentClient;
let iam: EmulatedIam;
let slack: FakeServer;

useLiveParts((parts) => {
  ({ doc, iam, slack } = parts);
});

interface World {
  deps: Deps;
  config: Config;
  store: RevocationStore;
  revoking: RevocationDeps;
  lines: string[];
  process(record: Record<string, unknown>, at?: string): Promise<ProcessOutcome>;
}

/** A fresh set of tables and the deps of onAssumeRole, with the clock at each event's time plus a few seconds. */
async function world(options: { dryRun?: boolean; registry?: string } = {}): Promise<World> {
  const config = await createTestTables(doc, await createSessionsTable(doc), { dryRun: options.dryRun ?? false });
  const { logger, lines } = memoryLogger();
  const store = createRevocationStore(doc, config.revocationsTable!);
  const revoking: RevocationDeps = {
    iam: new IAMClient({ region: 'us-east-1' }),
    dynamo: doc,
    store,
    logger,
    retry: { baseMs: 1 },
  };
  const deps = createDeps(config, {
    dynamo: doc,
    logger,
    registry: parseRegistryText(options.registry ?? registryText(), 'r.yaml'),
    senders: { slack: slackSender(`${slack.url}/services/T0/B0/secret`) },
    revoker: liveRevoker(revoking),
  });
  return {
    deps,
    config,
    store,
    revoking,
    lines,
    process: (record, at) =>
      processRecord(record, deps, {
        now: (e) =>
          new Date(at ?? new Date(Date.parse('issuedAt' in e ? e.issuedAt : e.eventTime) + 3000).toISOString()),
      }),
  };
}

const slackTexts = () => slack.received.map((r) => JSON.stringify(r.body));
const findings = (o: ProcessOutcome) => ('findings' in o ? o.findings.map((f) => [f.kind, f.severity]) : []);

describe('automatic revocation in the assume flow', () => {
  it('cuts off the offending session within the same invocation, once, and says so in the alert with the policy', async () => {
    const w = await world();
    await w.process(
      vendorAssume({ id: 'good-1', time: '2026-11-02T10:00:00Z', session: 'vendor-good', externalId: GOOD }),
    );
    expect(iam.puts()).toBe(0);
    const outcome = await w.process(
      vendorAssume({ id: 'wrong-1', time: '2026-11-02T10:05:00Z', session: 'vendor-scan', externalId: WRONG }),
    );
    expect(findings(outcome)).toEqual([['unexpected-external-id', 'critical']]);
    expect(iam.puts('ExampleCorpAudit')).toBe(1);
    const policy = iam.policy('ExampleCorpAudit');
    expect(await sessionDecision(policy, 'vendor-scan', '2026-11-02T10:05:00Z')).toBe('Denied');
    // A name used once: denied up to its issue time + 5 s, rounded up to the minute; its next session is allowed.
    expect(await sessionDecision(policy, 'vendor-scan', '2026-11-02T10:05:04Z')).toBe('Denied');
    expect(await sessionDecision(policy, 'vendor-scan', '2026-11-02T10:06:00Z')).toBe('Allowed');
    expect(await sessionDecision(policy, 'vendor-good', '2026-11-02T10:00:00Z')).toBe('Allowed');
    // The intent was recorded and settled, with the time IAM was asked.
    const intent = await w.store.get(intentIdFor('111122223333', 'wrong-1', 'revoke-session'));
    expect(intent).toMatchObject({
      state: 'applied',
      appliedAt: '2026-11-02T10:05:03.000Z',
      roleArn: ROLE,
      source: { kind: 'finding', eventId: 'wrong-1', findingKind: 'unexpected-external-id' },
    });
    expect(await w.store.due(new Date('2026-11-03T00:00:00Z'))).toEqual([
      { kind: 'policy', roleArn: ROLE, roleName: 'ExampleCorpAudit', pruneAt: '2026-11-02T11:05:00Z' },
    ]);
    // One alert: what was done, the containment step, and the whole policy.
    expect(slack.received).toHaveLength(1);
    const alert = slackTexts()[0]!;
    expect(alert).toContain('Revoked this session (its tokens issued before 2026-11-02T10:06:00Z');
    expect(alert).toContain('rotate or remove the external ID');
    expect(alert).toContain(`${ROLE_ID}:vendor-scan`);
    expect(alert).toContain('Policy roleguard-revocations');
    // A redelivery neither writes the policy again nor alerts again.
    const again = await w.process(
      vendorAssume({ id: 'wrong-1', time: '2026-11-02T10:05:00Z', session: 'vendor-scan', externalId: WRONG }),
      '2026-11-02T10:09:00Z',
    );
    expect(again.status).toBe('duplicate');
    expect(iam.puts()).toBe(1);
    expect(slack.received).toHaveLength(1);
  });

  it('revokes exactly the offending sessions among several on one role, and a critical finding pair writes once', async () => {
    const w = await world();
    const events = [
      vendorAssume({ id: 'a-good', time: '2026-11-02T10:00:00Z', session: 'vendor-good', externalId: GOOD }),
      vendorAssume({ id: 'b-wrong', time: '2026-11-02T10:01:00Z', session: 'scan-b', externalId: WRONG }),
      // Untrusted account and a wrong ID: two critical findings, one revocation.
      vendorAssume({
        id: 'c-both',
        time: '2026-11-02T10:02:00Z',
        session: 'scan-c',
        externalId: WRONG,
        account: '444455556666',
        principal: 'AIDAOTHERTENANT00001',
      }),
      vendorAssume({
        id: 'd-missing',
        time: '2026-11-02T10:03:00Z',
        session: 'scan-d',
        externalId: null,
        principal: 'AIDAVENDOREXAMPLE0002',
      }),
    ];
    for (const e of events) await w.process(e);
    expect(iam.puts('ExampleCorpAudit')).toBe(3);
    const policy = iam.policy('ExampleCorpAudit');
    expect(await sessionDecision(policy, 'vendor-good', '2026-11-02T10:00:00Z')).toBe('Allowed');
    for (const [name, at] of [
      ['scan-b', '2026-11-02T10:01:00Z'],
      ['scan-c', '2026-11-02T10:02:00Z'],
      ['scan-d', '2026-11-02T10:03:00Z'],
    ]) {
      expect(await sessionDecision(policy, name!, at!)).toBe('Denied');
      expect(await sessionDecision(policy, name!, '2026-11-02T10:10:00Z')).toBe('Allowed');
    }
  });

  it('raises a high finding when the revoked caller comes back with a wrong ID, not for the vendor itself, and only while the revoked session could live', async () => {
    const w = await world();
    const attacker = { principal: 'AIDAATTACKERTENANT01' };
    // Revoked (its tokens issued before 10:06:00, the minute after its issue time + 5 s); the revoked session expires at 11:05:00, and so does the marker.
    await w.process(
      vendorAssume({ id: 'wrong-1', time: '2026-11-02T10:05:00Z', session: 'scan-1', externalId: WRONG, ...attacker }),
    );
    expect(iam.puts()).toBe(1);
    // Cross-account, the caller key is the vendor's principal, which the attacker shares: the vendor's own assume
    // (a trusted account with the registered ID) pages no one.
    const vendor = await w.process(
      vendorAssume({ id: 'back-1', time: '2026-11-02T10:20:00Z', session: 'scan-2', externalId: GOOD, ...attacker }),
    );
    expect(findings(vendor)).toEqual([]);
    // Back with a wrong ID: the critical finding of the ID, and the high one that the caller came back.
    const back = await w.process(
      vendorAssume({ id: 'back-2', time: '2026-11-02T10:30:00Z', session: 'scan-3', externalId: WRONG, ...attacker }),
    );
    expect(findings(back)).toEqual([
      ['unexpected-external-id', 'critical'],
      ['assumed-after-revocation', 'high'],
    ]);
    const again = 'findings' in back ? back.findings.find((f) => f.kind === 'assumed-after-revocation')! : null;
    expect(again!.message).toMatch(
      /assumed Example Corp's role again, with external ID tena…#[0-9a-f]{8}, after roleguard revoked its session at 2026-11-02T10:06:00Z/,
    );
    expect(slackTexts().some((t) => t.includes('assumed-after-revocation'))).toBe(true);
    const other = await w.process(
      vendorAssume({
        id: 'other-1',
        time: '2026-11-02T10:31:00Z',
        session: 'scan-4',
        externalId: GOOD,
        principal: 'AIDAVENDOREXAMPLE0001',
      }),
    );
    expect(findings(other)).toEqual([]);
    // The revoked session of 10:30 (the latest) could live until 11:30: after that the marker is over, although
    // its item is still in the table (DynamoDB's TTL deletes late, so the read checks it).
    const late = await w.process(
      vendorAssume({ id: 'late-2', time: '2026-11-02T11:31:00Z', session: 'scan-5', externalId: WRONG, ...attacker }),
    );
    expect(findings(late)).toEqual([['unexpected-external-id', 'critical']]);
    const marker = await doc.send(
      new GetCommand({
        TableName: w.config.revocationsTable!,
        Key: { pk: `caller#${ROLE}#999988887777/AIDAATTACKERTENANT01` },
      }),
    );
    expect(marker.Item).toMatchObject({ decidedAt: '2026-11-02T11:32:00Z', until: '2026-11-02T12:31:00Z' });
  });

  it('writes nothing for a session that had already expired when its event arrived (a late or redelivered event)', async () => {
    const w = await world();
    await w.process(
      vendorAssume({
        id: 'late-1',
        time: '2026-11-02T10:05:00Z',
        session: 'scan-late',
        externalId: WRONG,
        expiration: '2026-11-02T10:20:00Z',
      }),
      '2026-11-02T16:00:00Z',
    );
    expect(iam.mock.calls()).toHaveLength(0);
    expect(slackTexts()[0]).toContain('Not revoked: the session had already expired (by 2026-11-02T10:20:00.000Z)');
    expect(await w.store.get(intentIdFor('111122223333', 'late-1', 'revoke-session'))).toMatchObject({
      state: 'expired',
    });
  });

  it('refuses a protected role: nothing is called on IAM, and the alert and the log say why', async () => {
    const w = await world();
    const outcome = await w.process(
      vendorAssume({
        id: 'sso-1',
        time: '2026-11-02T10:05:00Z',
        session: 'scan',
        externalId: 'wrong-for-sso',
        roleArn: SSO_ROLE,
      }),
    );
    expect(findings(outcome)).toEqual([['unexpected-external-id', 'critical']]);
    expect(iam.mock.calls()).toHaveLength(0);
    expect(slackTexts()[0]).toContain('Not revoked: it is an IAM Identity Center role');
    expect(w.lines.join('\n')).toContain('revocation refused: protected role');
  });

  it('dry run, global or per role: records and alerts the full policy, writes nothing to IAM', async () => {
    for (const [setup, says] of [
      [{ dryRun: true }, "Dry run (roleguard's global dry run is on): would revoke this session"],
      [
        { registry: registryText().replace('    response: revoke\n', '    response: revoke\n    dryRun: true\n') },
        "Dry run (this role's dryRun is set): would revoke this session",
      ],
    ] as const) {
      const w = await world(setup);
      await w.process(
        vendorAssume({ id: 'wrong-1', time: '2026-11-02T10:05:00Z', session: 'scan-1', externalId: WRONG }),
      );
      expect(
        iam.mock
          .calls()
          .map((c) => c.args[0].constructor.name)
          .filter((n) => /Put|Delete/.test(n)),
      ).toEqual([]);
      const intent = await w.store.get(intentIdFor('111122223333', 'wrong-1', 'revoke-session'));
      expect(intent).toMatchObject({ state: 'dry-run', dryRun: true });
      expect(await sessionDecision(intent!.policyDocument, 'scan-1', '2026-11-02T10:05:00Z')).toBe('Denied');
      const alert = slackTexts().at(-1)!;
      expect(alert).toContain(says);
      expect(alert).toContain(`${ROLE_ID}:scan-1`);
      // Nothing is left for the sweep to apply.
      expect(await sweepRevocations(w.revoking, new Date('2026-11-02T10:30:00Z'))).toEqual({
        applied: 0,
        pruned: 0,
        retrying: 0,
        expired: 0,
      });
      expect(iam.puts()).toBe(0);
    }
  });

  it('retries IAM throttling within the invocation', async () => {
    const w = await world();
    iam.failNext('PutRolePolicy', 2, throttling);
    await w.process(
      vendorAssume({ id: 'wrong-1', time: '2026-11-02T10:05:00Z', session: 'scan-1', externalId: WRONG }),
    );
    expect(iam.mock.calls().filter((c) => c.args[0].constructor.name === 'PutRolePolicyCommand')).toHaveLength(3);
    expect(await sessionDecision(iam.policy('ExampleCorpAudit'), 'scan-1', '2026-11-02T10:05:00Z')).toBe('Denied');
    expect(slackTexts()[0]).toContain('Revoked this session');
  });

  it('when IAM keeps failing, the revocation stays recorded, the alert says so, and the sweep applies it once', async () => {
    const w = await world();
    const failure = () =>
      Object.assign(new Error('We encountered an internal error'), {
        name: 'ServiceFailure',
        $metadata: { httpStatusCode: 500 },
      });
    iam.failNext('PutRolePolicy', 5, failure);
    await w.process(
      vendorAssume({ id: 'wrong-1', time: '2026-11-02T10:05:00Z', session: 'scan-1', externalId: WRONG }),
    );
    expect(iam.policy('ExampleCorpAudit')).toBeNull();
    expect(slackTexts()[0]).toContain('is recorded but not applied yet: IAM failed (ServiceFailure');
    const id = intentIdFor('111122223333', 'wrong-1', 'revoke-session');
    expect(await w.store.get(id)).toMatchObject({
      state: 'pending',
      attempts: 1,
      lastError: expect.stringContaining('ServiceFailure'),
    });
    // Not due before its retry time; due after.
    expect(await sweepRevocations(w.revoking, new Date('2026-11-02T10:05:30Z'))).toMatchObject({ applied: 0 });
    // A dry run switched on meanwhile (an emergency stop): the sweep writes nothing, and the intent stays due.
    expect(await sweepRevocations(w.revoking, new Date('2026-11-02T10:09:00Z'), { dryRun: () => true })).toMatchObject({
      applied: 0,
    });
    expect(iam.puts()).toBe(5);
    expect(await w.store.get(id)).toMatchObject({ state: 'pending' });
    expect(await sweepRevocations(w.revoking, new Date('2026-11-02T10:10:00Z'))).toEqual({
      applied: 1,
      pruned: 0,
      retrying: 0,
      expired: 0,
    });
    expect(iam.puts()).toBe(6);
    expect(await sessionDecision(iam.policy('ExampleCorpAudit'), 'scan-1', '2026-11-02T10:05:00Z')).toBe('Denied');
    expect(await w.store.get(id)).toMatchObject({ state: 'applied' });
    // Applied once: the next sweep has nothing to do.
    expect(await sweepRevocations(w.revoking, new Date('2026-11-02T10:15:00Z'))).toEqual({
      applied: 0,
      pruned: 0,
      retrying: 0,
      expired: 0,
    });
    expect(iam.puts()).toBe(6);
  });

  it('completes an intent whose function died before calling IAM, and never leaves one unapplied silently', async () => {
    const w = await world();
    const now = new Date('2026-11-02T10:05:03Z');
    const addition = {
      role: null,
      sessions: [
        { assumedRoleId: `${ROLE_ID}:scan-1`, decidedAt: '2026-11-02T10:05:01Z', pruneAfter: '2026-11-02T11:05:00Z' },
      ],
    };
    // What revoke() records first, and then the function is killed.
    await w.store.record(
      {
        intentId: 'killed',
        roleArn: ROLE,
        roleName: 'ExampleCorpAudit',
        addition,
        source: { kind: 'finding', eventId: 'e', findingKind: 'unexpected-external-id' },
        caller: null,
        dryRun: false,
        createdAt: now.toISOString(),
      },
      { dueAt: new Date(now.getTime() + SWEEP_GRACE_MS) },
    );
    expect(await sweepRevocations(w.revoking, new Date(now.getTime() + 5 * 60_000))).toEqual({
      applied: 1,
      pruned: 0,
      retrying: 0,
      expired: 0,
    });
    expect(await sessionDecision(iam.policy('ExampleCorpAudit'), 'scan-1', '2026-11-02T10:05:00Z')).toBe('Denied');
    // One that failed until its session expired is settled as expired and logged as an error.
    await w.store.record(
      {
        intentId: 'too-late',
        roleArn: ROLE,
        roleName: 'ExampleCorpAudit',
        addition: { role: null, sessions: [{ ...addition.sessions[0]!, assumedRoleId: `${ROLE_ID}:scan-2` }] },
        source: { kind: 'manual', requestedBy: null, reason: null },
        caller: null,
        dryRun: false,
        createdAt: now.toISOString(),
      },
      { dueAt: now },
    );
    expect(await sweepRevocations(w.revoking, new Date('2026-11-02T11:06:00Z'))).toMatchObject({ expired: 1 });
    expect(await w.store.get('too-late')).toMatchObject({ state: 'expired' });
    expect(w.lines.join('\n')).toContain('revocation never applied; the sessions it covered have expired');
  });

  it('the sweep refuses an intent on a role that has become protected since the decision', async () => {
    const w = await world();
    const addition = {
      role: null,
      sessions: [
        { assumedRoleId: `${ROLE_ID}:scan-1`, decidedAt: '2026-11-02T10:05:01Z', pruneAfter: '2026-11-02T11:05:00Z' },
      ],
    };
    await w.store.record(
      {
        intentId: 'now-protected',
        roleArn: ROLE,
        roleName: 'ExampleCorpAudit',
        addition,
        source: { kind: 'manual', requestedBy: null, reason: null },
        caller: null,
        dryRun: false,
        createdAt: '2026-11-02T10:05:01Z',
      },
      { dueAt: new Date('2026-11-02T10:05:01Z') },
    );
    const result = await sweepRevocations(w.revoking, new Date('2026-11-02T10:10:00Z'), {
      protectedReason: (arn) => (arn === ROLE ? 'it is listed in protectedRoleArns' : null),
    });
    expect(result).toMatchObject({ applied: 0, refused: 1 });
    expect(iam.mock.calls()).toHaveLength(0);
    expect(await w.store.get('now-protected')).toMatchObject({
      state: 'refused',
      lastError: 'it is listed in protectedRoleArns',
    });
  });

  it('never moves a revocation time backwards when decisions arrive out of order', async () => {
    const w = await world();
    const at = (decidedAt: string, id: string) =>
      revoke(
        w.revoking,
        {
          intentId: id,
          roleArn: ROLE,
          addition: {
            role: null,
            sessions: [{ assumedRoleId: `${ROLE_ID}:scan-1`, decidedAt, pruneAfter: '2026-11-02T12:00:00Z' }],
          },
          source: { kind: 'manual', requestedBy: null, reason: null },
          caller: null,
          dryRun: false,
        },
        new Date('2026-11-02T10:30:00Z'),
      );
    await at('2026-11-02T10:20:00Z', 'later');
    await at('2026-11-02T10:05:00Z', 'earlier');
    const policy = iam.policy('ExampleCorpAudit');
    expect(await sessionDecision(policy, 'scan-1', '2026-11-02T10:15:00Z')).toBe('Denied');
    // The earlier decision changed nothing, so nothing was written for it.
    expect(iam.puts()).toBe(1);
    // The same with whole-role revocations.
    const role = (decidedAt: string, id: string) =>
      revoke(
        w.revoking,
        {
          intentId: id,
          roleArn: ROLE,
          addition: { role: { decidedAt, pruneAfter: '2026-11-02T22:00:00Z' }, sessions: [] },
          source: { kind: 'manual', requestedBy: null, reason: null },
          caller: null,
          dryRun: false,
        },
        new Date('2026-11-02T10:30:00Z'),
      );
    await role('2026-11-02T10:25:00Z', 'role-later');
    await role('2026-11-02T10:00:00Z', 'role-earlier');
    expect(await sessionDecision(iam.policy('ExampleCorpAudit'), 'vendor-good', '2026-11-02T10:24:00Z')).toBe('Denied');
  });

  it('revokes a session in five AWS calls when nobody else holds the role, and takes the step-by-step path when someone does', async () => {
    const w = await world();
    const calls: string[] = [];
    const counted = testDynamo();
    counted.middlewareStack.add(
      (next, context) => async (args) => {
        calls.push(String(context.commandName));
        return next(args);
      },
      { step: 'initialize', name: 'countCalls' },
    );
    const store = createRevocationStore(counted, w.config.revocationsTable!);
    const revoking: RevocationDeps = {
      ...w.revoking,
      dynamo: counted,
      store,
      lock: { leaseMs: 60_000, waitMs: 5_000 },
    };
    const now = new Date();
    const session = (name: string) => ({
      role: null,
      sessions: [
        {
          assumedRoleId: `${ROLE_ID}:${name}`,
          decidedAt: new Date(Math.ceil(now.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z'),
          pruneAfter: new Date(now.getTime() + 3600_000).toISOString(),
        },
      ],
    });
    const request = (name: string) => ({
      intentId: intentIdFor('count', name),
      roleArn: ROLE,
      addition: session(name),
      source: { kind: 'manual' as const, requestedBy: null, reason: null },
      caller: '999988887777/AIDAVENDOREXAMPLE0001',
      dryRun: false,
    });
    iam.mock.resetHistory();
    const fast = await revoke(revoking, request('fast-1'), now);
    expect(fast).toMatchObject({ applied: true, kind: 'revoke-session' });
    const iamCalls = iam.mock
      .calls()
      .map((c) => (c.args[0] as { constructor: { name: string } }).constructor.name.replace(/Command$/, ''));
    // Five: the kept revocation state is read (one consistent GetItem, alongside the IAM read) so that a stale IAM
    // read can never drop a statement; it is written back inside the closing transaction at no extra call. The
    // role's other inline policies are not listed: there are none, and IAM accepts the write.
    expect(calls.length + iamCalls.length).toBe(5);
    expect(calls).toEqual(['TransactWriteItemsCommand', 'GetItemCommand', 'TransactWriteItemsCommand']);
    expect(iamCalls).toEqual(['GetRolePolicy', 'PutRolePolicy']);
    expect(await store.get(intentIdFor('count', 'fast-1'))).toMatchObject({ state: 'applied' });
    expect(await store.revokedCaller(ROLE, '999988887777/AIDAVENDOREXAMPLE0001', now)).toMatchObject({
      decidedAt: session('x').sessions[0]!.decidedAt,
    });
    expect(await store.due(new Date(now.getTime() + 2 * 3600_000))).toEqual([
      expect.objectContaining({ kind: 'policy', roleArn: ROLE }),
    ]);

    // Someone holds the role's lock for a moment: the first transaction does not go through, nothing of it is
    // written, and the step-by-step path waits for the lock and applies.
    await counted.send(
      new PutCommand({
        TableName: w.config.revocationsTable!,
        Item: { pk: 'lock#role#111122223333#ExampleCorpAudit', owner: 'someone-else', leaseUntil: Date.now() + 400 },
      }),
    );
    calls.length = 0;
    const slow = await revoke(revoking, request('slow-1'), new Date());
    expect(slow).toMatchObject({ applied: true });
    expect(calls[0]).toBe('TransactWriteItemsCommand');
    expect(calls.slice(1)).toContain('PutItemCommand');
    const policy = iam.policy('ExampleCorpAudit');
    expect(await sessionDecision(policy, 'fast-1', new Date(now.getTime() - 60_000).toISOString())).toBe('Denied');
    expect(await sessionDecision(policy, 'slow-1', new Date(now.getTime() - 60_000).toISOString())).toBe('Denied');
    expect(await store.get(intentIdFor('count', 'slow-1'))).toMatchObject({ state: 'applied' });
    // The lock is free again.
    expect(
      (
        await counted.send(
          new GetCommand({
            TableName: w.config.revocationsTable!,
            Key: { pk: 'lock#role#111122223333#ExampleCorpAudit' },
          }),
        )
      ).Item,
    ).toBeUndefined();
    counted.destroy();
  });

  it('says so, and writes nothing, when an event carries no valid assumed-role id to target (never a silent drop, never the whole role)', async () => {
    const w = await world();
    const outcome = await w.process(
      vendorAssume({ id: 'odd-1', time: '2026-11-02T10:05:00Z', session: 'bad name<!here>', externalId: WRONG }),
    );
    expect(findings(outcome)).toEqual([['unexpected-external-id', 'critical']]);
    expect(iam.puts()).toBe(0);
    expect(slackTexts()[0]).toContain('Not revoked: the event carries no valid assumed-role id');
    expect(w.lines.join('\n')).toContain('revocation not possible: no valid assumed-role id in the event');
  });

  it("writes IAM only on the registry's role: an event's own ARN (another path, another account's spelling) never names the resource", async () => {
    const w = await world();
    const outcome = await w.process(
      vendorAssume({
        id: 'path-1',
        time: '2026-11-02T10:05:00Z',
        session: 'vendor-scan',
        externalId: WRONG,
        roleArn: 'arn:aws:iam::111122223333:role/evil/../ExampleCorpAudit',
      }),
    );
    expect(findings(outcome)).toEqual([['unexpected-external-id', 'critical']]);
    const names = iam.mock.calls().map((c) => (c.args[0] as { input: { RoleName?: string } }).input.RoleName);
    expect(new Set(names)).toEqual(new Set(['ExampleCorpAudit']));
    // A role that is not registered is never written, whatever the event says.
    iam.mock.resetHistory();
    await w.process(
      vendorAssume({
        id: 'other-1',
        time: '2026-11-02T10:06:00Z',
        session: 'x',
        externalId: WRONG,
        roleArn: 'arn:aws:iam::111122223333:role/NotGuarded',
      }),
    );
    expect(iam.mock.calls()).toHaveLength(0);
  });

  it('falls back to a whole-role revocation when a targeted one would not fit, and says so in the alert', async () => {
    const w = await world();
    // Another inline policy of the role nearly fills the 10,240-character budget.
    // 10,000 characters: room for a whole-role statement (about 190), not for a targeted one (about 260).
    const filler = {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'Ops',
          Effect: 'Allow',
          Action: 's3:GetObject',
          Resource: Array.from(
            { length: 240 },
            (_, i) => `arn:aws:s3:::ops-bucket-${String(i).padStart(3, '0')}/reports/*`,
          ),
        },
      ],
    };
    filler.Statement[0]!.Sid = `Ops${'x'.repeat(10_000 - JSON.stringify(filler).length)}`;
    expect(JSON.stringify(filler).length).toBe(10_000);
    iam.policies.set('ExampleCorpAudit/ops-access', JSON.stringify(filler, null, 2));
    const outcome = await w.process(
      vendorAssume({ id: 'wrong-1', time: '2026-11-02T10:05:00Z', session: 'scan-1', externalId: WRONG }),
    );
    expect(outcome.status === 'recorded' && outcome.actions.map((a) => a.kind)).toEqual(['alert', 'revoke-role']);
    const policy = iam.policy('ExampleCorpAudit');
    expect(await sessionDecision(policy, 'scan-1', '2026-11-02T10:05:00Z')).toBe('Denied');
    // The whole role: the vendor's earlier session too, but not a session issued after the decision.
    expect(await sessionDecision(policy, 'vendor-good', '2026-11-02T10:00:00Z')).toBe('Denied');
    // (the targeted deny's end, 10:06:00: the offending session's issue time + 5 s rounded up to the minute).
    expect(await sessionDecision(policy, 'vendor-good', '2026-11-02T10:05:59Z')).toBe('Denied');
    expect(await sessionDecision(policy, 'vendor-good', '2026-11-02T10:06:00Z')).toBe('Allowed');
    expect(slackTexts()[0]).toContain(
      "Revoked the whole role (every session issued before 2026-11-02T10:06:00Z, the vendor's too), because targeted revocations no longer fit",
    );
    // The other inline policy is untouched.
    expect(JSON.parse(iam.policies.get('ExampleCorpAudit/ops-access')!)).toEqual(filler);
    // Counted as IAM counts it, whitespace excluded: the total stays within the budget.
    expect(JSON.stringify(policy).length + 10_000).toBeLessThanOrEqual(10_240);
  });

  it('the sweep prunes statements once their sessions have expired, and deletes the policy when nothing is left', async () => {
    const w = await world();
    await w.process(
      vendorAssume({
        id: 'wrong-1',
        time: '2026-11-02T10:05:00Z',
        session: 'scan-1',
        externalId: WRONG,
        expiration: '2026-11-02T10:20:00Z',
      }),
    );
    await w.process(
      vendorAssume({
        id: 'wrong-2',
        time: '2026-11-02T10:06:00Z',
        session: 'scan-2',
        externalId: WRONG,
        expiration: '2026-11-02T11:06:00Z',
      }),
    );
    expect((iam.policy('ExampleCorpAudit') as { Statement: unknown[] }).Statement).toHaveLength(2);
    expect(await sweepRevocations(w.revoking, new Date('2026-11-02T10:21:00Z'))).toMatchObject({ pruned: 1 });
    const pruned = iam.policy('ExampleCorpAudit');
    expect((pruned as { Statement: unknown[] }).Statement).toHaveLength(1);
    // Nothing still alive became allowed.
    expect(await sessionDecision(pruned, 'scan-2', '2026-11-02T10:06:00Z')).toBe('Denied');
    expect(await sweepRevocations(w.revoking, new Date('2026-11-02T11:07:00Z'))).toMatchObject({ pruned: 1 });
    expect(iam.policy('ExampleCorpAudit')).toBeNull();
    expect(await w.store.due(new Date('2026-11-03T00:00:00Z'))).toEqual([]);
  });

  it('a deleted role is final: its revocation is refused with the reason, and the sweep drops its prune item', async () => {
    const w = await world();
    await w.process(
      vendorAssume({
        id: 'wrong-1',
        time: '2026-11-02T10:05:00Z',
        session: 'scan-1',
        externalId: WRONG,
        expiration: '2026-11-02T10:20:00Z',
      }),
    );
    expect(await w.store.due(new Date('2026-11-02T10:21:00Z'))).toHaveLength(1);
    // The role is deleted (its inline policies first).
    iam.policies.delete('ExampleCorpAudit/roleguard-revocations');
    const gone = () =>
      new NoSuchEntityException({ message: 'The role cannot be found.', $metadata: { httpStatusCode: 404 } });
    iam.failNext('ListRolePolicies', 100, gone);
    iam.failNext('PutRolePolicy', 100, gone);
    await sweepRevocations(w.revoking, new Date('2026-11-02T10:21:00Z'));
    expect(await w.store.due(new Date('2026-11-03T00:00:00Z'))).toEqual([]);
    // A revocation decided for it since: refused for good with the reason, not deferred to the sweep.
    await w.process(
      vendorAssume({ id: 'wrong-2', time: '2026-11-02T10:30:00Z', session: 'scan-2', externalId: WRONG }),
    );
    const intent = await w.store.get(intentIdFor('111122223333', 'wrong-2', 'revoke-session'));
    expect(intent).toMatchObject({ state: 'refused', lastError: expect.stringContaining('no longer exists') });
    expect(await w.store.due(new Date('2026-11-03T00:00:00Z'))).toEqual([]);
  });

  it('a prune the sweep cannot do is due again later, so it cannot fill every batch', async () => {
    const w = await world();
    await w.process(
      vendorAssume({
        id: 'wrong-1',
        time: '2026-11-02T10:05:00Z',
        session: 'scan-1',
        externalId: WRONG,
        expiration: '2026-11-02T10:20:00Z',
      }),
    );
    // The prune's first IAM call (reading the policy) keeps failing.
    iam.failNext('GetRolePolicy', 100, throttling);
    const at = new Date('2026-11-02T10:21:00Z');
    await sweepRevocations(w.revoking, at);
    expect(await w.store.due(at)).toEqual([]);
    expect(await w.store.due(new Date('2026-11-02T10:40:00Z'))).toHaveLength(1);
  });
});
