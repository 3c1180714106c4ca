import { join } from 'node:path';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { loadConfig } from '../../lib/config.js';
import { createDeps, type Deps } from '../../lib/deps.js';
import { accountAccessOf, revocationDeps } from '../../lib/lambda-deps.js';
import { iamByRole } from '../../lib/org/accounts.js';
import { type ProcessOutcome, processRecord } from '../../lib/pipeline.js';
import { parseRegistryText } from '../../lib/registry/text.js';
import { roleLockKey } from '../../lib/revoke/apply.js';
import { acquireLock } from '../../lib/revoke/lock.js';
import { liveRevoker, otherAccountReason, sweepRevocations } from '../../lib/revoke/service.js';
import { iamTrustPolicyIo, rotationDeps, startRotation } from '../../lib/rotate/index.js';
import { auditRegistry, iamTrustPolicyReader } from '../../lib/trust/index.js';
import { liveReapplier } from '../../lib/trust/reapply.js';
import { createSessionsTable, createTestTables, testDynamo } from '../helpers/dynamo.js';
import { EVENTS_DIR, loadJson } from '../helpers/fixtures.js';
import { memoryLogger } from '../helpers/logger.js';
import { emulateOrgIam, type OrgIam } from '../helpers/org-iam.js';
import { sessionDecision, vendorAssume } from '../helpers/revocation.js';

// An organization of three accounts: the hub (A), and members B and C, with events from three Regions. The same
// vendor role name, ExampleCorpAudit, is in A and B with different external IDs. STS and each account's IAM are
// emulated at the SDK; the state is on DynamoDB Local; the deps are wired as the deployed functions wire them.
const A = '111111111111';
const B = '222222222222';
const C = '333333333333';
const VENDOR = '999988887777';
const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2'];
const SPOKE = 'roleguard-prod-spoke';
const roleArn = (account: string, name = 'ExampleCorpAudit') => `arn:aws:iam::${account}:role/${name}`;
const ID = { [A]: 'ec-A-7Hq2vN9xK4pL8mR3', [B]: 'ec-B-3mR8xQ2wP5nT6vY1', [C]: 'bv-C-9kL2mN4pQ6rS8tU0' };
const registryText = `
serviceRoleArns: []
protectedRoleArns: []
roles:
  - roleArn: ${roleArn(A)}
    vendor: Example Corp
    trustedAccounts: ["${VENDOR}"]
    externalIds: { current: "${ID[A]}" }
    response: revoke
  - roleArn: ${roleArn(B)}
    vendor: Example Corp
    trustedAccounts: ["${VENDOR}"]
    externalIds: { current: "${ID[B]}" }
    response: revoke
  - roleArn: ${roleArn(C, 'BillingReader')}
    vendor: Billing Vendor
    trustedAccounts: ["${VENDOR}"]
    externalIds: { current: "${ID[C]}" }
    response: alert
`;

let doc: DynamoDBDocumentClient;
let org: OrgIam;
beforeAll(() => {
  doc = testDynamo();
  org = emulateOrgIam(A, {
    [A]: ['ExampleCorpAudit', SPOKE],
    [B]: ['ExampleCorpAudit', SPOKE],
    [C]: ['BillingReader'],
  });
});
afterAll(() => {
  org.restore();
  doc.destroy();
});
beforeEach(() => org.reset());

/** The hub's deps as onAssumeRole and onTrustPolicyChange build them, from the environment the hub sets. */
async function hub(options: { orgId?: string | null } = {}) {
  const tables = await createTestTables(doc, await createSessionsTable(doc));
  const config = loadConfig({
    SESSIONS_TABLE: tables.sessionsTable,
    REGISTRY_TABLE: tables.registryTable,
    ALERTS_TABLE: tables.alertsTable,
    REVOCATIONS_TABLE: tables.revocationsTable!,
    AWS_ACCOUNT_ID: A,
    OWN_ROLE_ARNS: `arn:aws:iam::${A}:role/roleguard-prod-*`,
    ORG_ID: options.orgId === null ? '' : 'o-a1b2c3d4e5',
    HUB_ACCOUNT_ID: A,
    SPOKE_ROLE_NAME: SPOKE,
  });
  const { logger } = memoryLogger();
  const base = createDeps(config, { dynamo: doc, logger, registry: parseRegistryText(registryText, 'r.yaml') });
  // A short lock wait: a revocation blocked by another account's lock would show as not applied.
  const revoking = { ...revocationDeps(base, org.hubClient()), lock: { leaseMs: 60_000, waitMs: 300 } };
  const deps: Deps = { ...base, revoker: liveRevoker(revoking), reapply: liveReapplier(revoking) };
  const process = (record: unknown): Promise<ProcessOutcome> =>
    processRecord(record, deps, {
      now: (e) => new Date(Date.parse('issuedAt' in e ? e.issuedAt : e.eventTime) + 3000),
    });
  return { deps, config, revoking, process, base };
}

/** A vendor's assume of a role in `account`, recorded in `region` (the owner's copy). */
function assume(options: {
  account: string;
  region: string;
  id: string;
  session: string;
  externalId: string;
  role?: string;
}) {
  const arn = roleArn(options.account, options.role);
  const record = vendorAssume({
    id: options.id,
    time: '2026-11-02T10:05:00Z',
    session: options.session,
    externalId: options.externalId,
    roleArn: arn,
  });
  const response = record.responseElements as { assumedRoleUser: { arn: string } };
  response.assumedRoleUser.arn = response.assumedRoleUser.arn.replace('111122223333', options.account);
  return {
    ...record,
    awsRegion: options.region,
    recipientAccountId: options.account,
    resources: [{ accountId: options.account, type: 'AWS::IAM::Role', ARN: arn }],
  };
}

/** An IAM write on a role of `account`, made by `identity` (CloudTrail's userIdentity). */
function iamWrite(file: string, account: string, identity: Record<string, unknown>, eventID: string) {
  const { detail } = loadJson(join(EVENTS_DIR, file)) as { detail: Record<string, any> };
  return { ...detail, userIdentity: identity, recipientAccountId: account, eventID, eventTime: '2026-11-02T10:30:00Z' };
}
const spokeSession = (account: string, purpose: string) => ({
  type: 'AssumedRole',
  principalId: `AROA${account}SPOKE:roleguard-${purpose}`,
  arn: `arn:aws:sts::${account}:assumed-role/${SPOKE}/roleguard-${purpose}`,
  accountId: account,
  sessionContext: { sessionIssuer: { type: 'Role', arn: `arn:aws:iam::${account}:role/${SPOKE}`, accountId: account } },
});
const stranger = (account: string) => ({
  type: 'AssumedRole',
  principalId: `AROA${account}ADMIN:alice`,
  arn: `arn:aws:sts::${account}:assumed-role/Admin/alice`,
  accountId: account,
  sessionContext: { sessionIssuer: { type: 'Role', arn: `arn:aws:iam::${account}:role/Admin`, accountId: account } },
});

const findings = (o: ProcessOutcome) => ('findings' in o ? o.findings.map((f) => [f.kind, f.roleArn]) : []);
const revoked = (o: ProcessOutcome) =>
  'actions' in o ? o.actions.filter((a) => a.kind !== 'alert').map((a) => [a.roleArn, a.applied]) : [];
const writes = () => org.calls.filter((c) => c.command === 'PutRolePolicy').map((c) => `${c.account}/${c.roleName}`);

describe('a hub acting in the accounts of its organization', () => {
  it("3 accounts × 3 Regions: each vendor uses its own account's ID, no finding and nothing written", async () => {
    const h = await hub();
    for (const region of REGIONS)
      for (const [account, role] of [
        [A, 'ExampleCorpAudit'],
        [B, 'ExampleCorpAudit'],
        [C, 'BillingReader'],
      ] as const) {
        const out = await h.process(
          assume({ account, region, role, id: `ok-${account}-${region}`, session: 'scan', externalId: ID[account] }),
        );
        expect(out.status).toBe('recorded');
        expect(findings(out)).toEqual([]);
      }
    expect(org.calls).toEqual([]);
  });

  it("an attack on B's role revokes through B's spoke only: A's same-named role is untouched", async () => {
    const h = await hub();
    // A's ID presented at B's role: not B's ID, whatever it is in A.
    const out = await h.process(
      assume({ account: B, region: 'eu-west-1', id: 'attack-b', session: 'attacker', externalId: ID[A] }),
    );
    expect(findings(out)).toEqual([['unexpected-external-id', roleArn(B)]]);
    expect(writes()).toEqual([`${B}/ExampleCorpAudit`]);
    expect(new Set(org.calls.map((c) => c.account))).toEqual(new Set([B]));
    expect(org.policy(A, 'ExampleCorpAudit')).toBeNull();
    expect(await sessionDecision(org.policy(B, 'ExampleCorpAudit'), 'attacker', '2026-11-02T10:05:00Z')).toBe('Denied');
    // The spoke role of B was assumed with a roleguard session name.
    expect(org.sts.calls().map((c) => (c.args[0] as any).input)).toEqual([
      { RoleArn: `arn:aws:iam::${B}:role/${SPOKE}`, RoleSessionName: 'roleguard-revoke' },
    ]);
  });

  it('the locks are per account: same-named roles of A and B are revoked at once, each in its own account', async () => {
    const h = await hub();
    // A revocation of A's role is in flight (its lock held): B's role is another role and does not wait for it.
    const held = await acquireLock(doc, h.config.revocationsTable!, roleLockKey(roleArn(A)), {
      leaseMs: 60_000,
      waitMs: 1_000,
    });
    const outB = await h.process(
      assume({ account: B, region: 'ap-southeast-2', id: 'attack-b2', session: 'b-attacker', externalId: ID[A] }),
    );
    expect(revoked(outB)).toEqual([[roleArn(B), true]]);
    expect(org.policy(B, 'ExampleCorpAudit')).not.toBeNull();
    await held.release();
    // Two concurrent revocations of the two same-named roles both land.
    const [outA, outB2] = await Promise.all([
      h.process(assume({ account: A, region: 'us-east-1', id: 'attack-a', session: 'a-attacker', externalId: ID[B] })),
      h.process(assume({ account: B, region: 'us-east-1', id: 'attack-b3', session: 'b-late', externalId: ID[A] })),
    ]);
    expect(findings(outA)).toEqual([['unexpected-external-id', roleArn(A)]]);
    expect(findings(outB2)).toEqual([['unexpected-external-id', roleArn(B)]]);
    const at = '2026-11-02T10:05:00Z';
    expect(await sessionDecision(org.policy(A, 'ExampleCorpAudit'), 'a-attacker', at)).toBe('Denied');
    expect(await sessionDecision(org.policy(A, 'ExampleCorpAudit'), 'b-late', at)).toBe('Allowed');
    expect(await sessionDecision(org.policy(B, 'ExampleCorpAudit'), 'b-late', at)).toBe('Denied');
    expect(await sessionDecision(org.policy(B, 'ExampleCorpAudit'), 'b-attacker', at)).toBe('Denied');
    expect(await sessionDecision(org.policy(B, 'ExampleCorpAudit'), 'a-attacker', at)).toBe('Allowed');
    // Nothing is left for the sweep.
    expect(await h.revoking.store.due(new Date('2026-11-02T10:30:00Z'))).toEqual([]);
  });

  it("the spoke sessions' IAM writes in a member account are roleguard's own; anyone else's are findings", async () => {
    const h = await hub();
    await h.process(
      assume({ account: B, region: 'eu-west-1', id: 'attack-b4', session: 'scan-b4', externalId: ID[A] }),
    );
    const own = await h.process(
      iamWrite('eventbridge-put-role-policy-tamper.json', B, spokeSession(B, 'revoke'), 'put-by-spoke'),
    );
    expect(own.status).toBe('trust-policy-change');
    expect(findings(own)).toEqual([]);
    const rotation = await h.process(
      iamWrite('eventbridge-update-assume-role-policy.json', B, spokeSession(B, 'rotate'), 'trust-by-spoke'),
    );
    expect(findings(rotation)).toEqual([]);
    // The same writes by someone else in B are findings on B's role, never A's.
    const tamper = await h.process(iamWrite('eventbridge-put-role-policy-tamper.json', B, stranger(B), 'put-by-admin'));
    expect(findings(tamper)).toEqual([['revocation-tampered', roleArn(B)]]);
    const trust = await h.process(
      iamWrite('eventbridge-update-assume-role-policy.json', B, stranger(B), 'trust-by-admin'),
    );
    expect(findings(trust)).toEqual([['trust-policy-changed', roleArn(B)]]);
  });

  it("the audit and rotation read and write each role's trust policy in its own account", async () => {
    const h = await hub();
    const policy = (id: string) =>
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { AWS: `arn:aws:iam::${VENDOR}:root` },
            Action: 'sts:AssumeRole',
            Condition: { StringEquals: { 'sts:ExternalId': id } },
          },
        ],
      });
    org.trust.set(`${A}/ExampleCorpAudit`, policy(ID[A]));
    org.trust.set(`${B}/ExampleCorpAudit`, policy(ID[B]));
    org.trust.set(`${C}/BillingReader`, policy(ID[C]));
    const access = accountAccessOf(h.deps, org.hubClient());
    const report = await auditRegistry((await h.deps.registry()).registry, iamTrustPolicyReader(access));
    expect(report.roles.map((r) => [r.roleArn, r.status])).toEqual([
      [roleArn(A), 'ok'],
      [roleArn(B), 'ok'],
      [roleArn(C, 'BillingReader'), 'ok'],
    ]);
    const trust = iamTrustPolicyIo(iamByRole(access, 'rotate'));
    await trust.write(roleArn(B), policy('ec-B-next-rotation-01'));
    expect(org.trust.get(`${B}/ExampleCorpAudit`)).toContain('ec-B-next-rotation-01');
    expect(org.trust.get(`${A}/ExampleCorpAudit`)).toContain(ID[A]);
  });

  it('a member account whose spoke cannot be assumed: the revocation waits for the sweep, and the error names the account and the spoke', async () => {
    const h = await hub();
    org.deniedSpokes.add(B);
    const out = await h.process(
      assume({ account: B, region: 'us-east-1', id: 'attack-b5', session: 'scan-b5', externalId: ID[A] }),
    );
    expect(revoked(out)).toEqual([[roleArn(B), false]]);
    const due = await h.revoking.store.due(new Date('2026-11-02T10:10:00Z'));
    expect(due.map((d) => d.kind === 'intent' && d.intent.lastError)).toEqual([
      expect.stringContaining(
        `cannot act in account ${B}: AssumeRole of arn:aws:iam::${B}:role/${SPOKE} failed: the spoke role is missing or does not trust this hub: deploy the spoke StackSet`,
      ),
    ]);
    expect(org.policy(A, 'ExampleCorpAudit')).toBeNull();
    org.deniedSpokes.clear();
    const swept = await sweepRevocations(h.revoking, new Date('2026-11-02T10:10:00Z'));
    expect(swept.applied).toBe(1);
    expect(writes()).toEqual([`${B}/ExampleCorpAudit`]);
  });

  it('without an organization, a role of another account is refused, as in one account: nothing is assumed or written', async () => {
    const h = await hub({ orgId: null });
    const out = await h.process(
      assume({ account: B, region: 'eu-west-1', id: 'attack-b6', session: 'scan-b6', externalId: ID[A] }),
    );
    expect(findings(out)).toEqual([['unexpected-external-id', roleArn(B)]]);
    expect(revoked(out)).toEqual([[roleArn(B), false]]);
    const intents = await h.revoking.store.due(new Date('2026-11-03T00:00:00Z'));
    expect(intents).toEqual([]);
    const accounts = accountAccessOf(h.base, org.hubClient());
    const rotating = rotationDeps({
      dynamo: doc,
      registryTable: h.config.registryTable,
      registry: (await h.deps.registry()).registry,
      ownRoleArns: h.config.ownRoleArns,
      trust: iamTrustPolicyIo(iamByRole(accounts, 'rotate')),
      notifier: { vendor: async () => undefined, alert: async () => undefined },
      logger: memoryLogger().logger,
      idLength: 32,
      maxTrustPolicySize: 2048,
      dryRun: false,
      otherAccount: (arn) => otherAccountReason({ accounts }, arn),
    });
    const role = (await h.deps.registry()).roleFor(roleArn(B))!;
    await expect(
      startRotation(rotating, role, { trigger: 'manual', now: new Date('2026-11-02T10:00:00Z') }),
    ).rejects.toThrow(
      `roleguard does not rotate ${roleArn(B)}: the role is in account ${B}, but roleguard runs in account ${A}`,
    );
    expect(org.calls).toEqual([]);
    expect(org.sts.calls()).toHaveLength(0);
  });
});
