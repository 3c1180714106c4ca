import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createDeps } from '../../lib/deps.js';
import { parseRegistryText } from '../../lib/registry/text.js';
import { runReplay } from '../../lib/replay/run-replay.js';
import { emulatedRevoker } from '../../lib/revoke/respond.js';
import { createRevocationStore } from '../../lib/revoke/store.js';
import { createSessionsTable, createTestTables, testDynamo } from '../helpers/dynamo.js';
import { assumeRecord } from '../helpers/fixtures.js';
import { memoryLogger } from '../helpers/logger.js';

// Contract §2: for a role with response: revoke, each critical finding yields a revoke-session action whose policy
// denies that session for tokens issued before the decision time, and nothing else. Checked with an IAM evaluator.
const ROLE = 'arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit';
const SSO_ROLE =
  'arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_VendorAccess_0123456789abcdef';
const REGISTRY = `
roles:
  - roleArn: ${ROLE}
    vendor: Example Corp
    trustedAccounts: ["999988887777"]
    externalIds: { current: "ec-7Hq2vN9xK4pL8mR3" }
    response: revoke
  - roleArn: ${SSO_ROLE}
    vendor: Protected Vendor
    trustedAccounts: ["999988887777"]
    externalIds: { current: "pv-123456" }
    response: revoke
`;
let doc: DynamoDBDocumentClient;
let dir: string;

function assume(
  id: string,
  time: string,
  session: string,
  externalId: string,
  roleArn = ROLE,
): Record<string, unknown> {
  const base = assumeRecord({ eventID: id, eventTime: time });
  const roleName = roleArn.slice(roleArn.lastIndexOf('/') + 1);
  return {
    ...base,
    requestParameters: { ...(base.requestParameters as object), roleArn, roleSessionName: session, externalId },
    responseElements: {
      ...(base.responseElements as object),
      credentials: {
        accessKeyId: `ASIA${id
          .toUpperCase()
          .replace(/[^A-Z0-9]/g, '')
          .padEnd(16, 'X')
          .slice(0, 16)}`,
        sessionToken: '<redacted>',
        expiration: 'Nov 2, 2026, 11:00:00 AM',
      },
      assumedRoleUser: {
        assumedRoleId: `AROA3XFRBF23EXAMPLE1:${session}`,
        arn: `arn:aws:sts::111122223333:assumed-role/${roleName}/${session}`,
      },
    },
  };
}

async function decide(policy: unknown, session: string, issuedAt: string): Promise<'Allowed' | 'Denied'> {
  const result = await runSimulation(
    {
      request: {
        principal: `arn:aws:sts::111122223333:assumed-role/ExampleCorpAudit/${session}`,
        action: 's3:GetObject',
        resource: { resource: 'arn:aws:s3:::reports/q3.csv', accountId: '111122223333' },
        contextVariables: { 'aws:userid': `AROA3XFRBF23EXAMPLE1:${session}`, 'aws:TokenIssueTime': issuedAt },
      },
      identityPolicies: [
        {
          name: 'work',
          policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] },
        },
        { name: 'roleguard-revocations', policy },
      ],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    },
    {},
  );
  if (result.resultType === 'error') throw new Error(JSON.stringify(result.errors));
  return result.overallResult === 'Allowed' ? 'Allowed' : 'Denied';
}

beforeAll(() => {
  doc = testDynamo();
  dir = mkdtempSync(join(tmpdir(), 'roleguard-revoke-'));
  writeFileSync(
    join(dir, 'case.jsonl'),
    [
      assume('r1-good', '2026-11-02T10:00:00Z', 'vendor-good', 'ec-7Hq2vN9xK4pL8mR3'),
      assume('r2-wrong', '2026-11-02T10:05:00Z', 'vendor-scan', 'tenant-4711'),
      assume('r3-wrong-again', '2026-11-02T10:20:00Z', 'other-scan', 'tenant-4711'),
      assume('r4-protected', '2026-11-02T10:30:00Z', 'vendor-scan', 'tenant-4711', SSO_ROLE),
    ]
      .map((r) => JSON.stringify(r))
      .join('\n'),
  );
});
afterAll(() => {
  doc.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe('replay of a role with response: revoke', () => {
  it('yields revoke-session actions whose policy denies exactly the offending sessions, never on a protected role', async () => {
    const config = await createTestTables(doc, await createSessionsTable(doc));
    // Wired as `roleguard replay` wires it: the emulation remembers whose sessions it revoked.
    const revoker = emulatedRevoker({ store: createRevocationStore(doc, config.revocationsTable!) });
    const deps = createDeps(config, {
      dynamo: doc,
      logger: memoryLogger().logger,
      registry: parseRegistryText(REGISTRY, 'r.yaml'),
      revoker,
    });
    const report = await runReplay(deps, { paths: [join(dir, 'case.jsonl')] });
    // The caller revoked at r2 comes back at r3: besides its own critical finding, a high one says it came back.
    expect(report.findings.map((f) => [f.kind, f.eventId])).toEqual([
      ['unexpected-external-id', 'r2-wrong'],
      ['assumed-after-revocation', 'r3-wrong-again'],
      ['unexpected-external-id', 'r3-wrong-again'],
      ['unexpected-external-id', 'r4-protected'],
    ]);
    const revokes = report.actions.filter((a) => a.kind !== 'alert');
    expect(revokes.map((a) => [a.kind, a.eventId, a.at, a.policyName, a.applied])).toEqual([
      ['revoke-session', 'r2-wrong', '2026-11-02T10:06:00.000Z', 'roleguard-revocations', false],
      ['revoke-session', 'r3-wrong-again', '2026-11-02T10:21:00.000Z', 'roleguard-revocations', false],
    ]);
    const first = revokes[0]!.policyDocument;
    expect(await decide(first, 'vendor-scan', '2026-11-02T10:05:00Z')).toBe('Denied');
    // A name used once: denied up to the minute after its issue time + 5 s (the action's time); later ones allowed.
    expect(await decide(first, 'vendor-scan', '2026-11-02T10:05:02Z')).toBe('Denied');
    expect(await decide(first, 'vendor-scan', '2026-11-02T10:06:00Z')).toBe('Allowed');
    expect(await decide(first, 'vendor-good', '2026-11-02T10:00:00Z')).toBe('Allowed');
    // The second action's policy is the role's whole policy after it: both sessions denied, the good one not.
    const second = revokes[1]!.policyDocument;
    expect(await decide(second, 'vendor-scan', '2026-11-02T10:05:00Z')).toBe('Denied');
    expect(await decide(second, 'other-scan', '2026-11-02T10:20:00Z')).toBe('Denied');
    expect(await decide(second, 'vendor-good', '2026-11-02T10:00:00Z')).toBe('Allowed');
    // The protected role's finding is alerted, with the refusal in the alert, and nothing is revoked.
    const alerts = await deps.alerts.outbox.due(new Date('2026-11-03T00:00:00Z'));
    const protectedAlert = alerts.find((a) => a.finding.eventId === 'r4-protected')!;
    expect(protectedAlert.action).toMatch(/^Not revoked: it is an IAM Identity Center role/);
    expect(alerts.find((a) => a.finding.eventId === 'r2-wrong')!.action).toMatch(
      /^Would revoke this session \(its tokens issued before 2026-11-02T10:06:00Z.*\(replay: nothing was written\).*rotate or remove the external ID/,
    );
  });
});
