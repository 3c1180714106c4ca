import { join } from 'node:path';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadConfig } from '../../lib/config.js';
import { createDeps } from '../../lib/deps.js';
import { type ProcessOutcome, processRecord } from '../../lib/pipeline.js';
import { parseRegistryText } from '../../lib/registry/text.js';
import { createSessionsTable, createTestTables, testDynamo } from '../helpers/dynamo.js';
import { EVENTS_DIR, loadJson } from '../helpers/fixtures.js';
import { memoryLogger } from '../helpers/logger.js';

// roleguard's own roles in a member account (the spoke and forwarder roles) are written by their StackSet only:
// any other IAM write on them is alerted, and a session of the spoke role counts as roleguard's own only when its
// name is roleguard-*. The hub's deps are wired as onTrustPolicyChange wires them, on DynamoDB Local.
const HUB = '111111111111';
const B = '222222222222';
const SPOKE = 'roleguard-prod-spoke';
const VENDOR_ROLE = `arn:aws:iam::${B}:role/ExampleCorpAudit`;
const registryText = `
serviceRoleArns: []
protectedRoleArns: []
roles:
  - roleArn: ${VENDOR_ROLE}
    vendor: Example Corp
    trustedAccounts: ["999988887777"]
    externalIds: { current: "ec-B-3mR8xQ2wP5nT6vY1" }
    response: alert
`;

let doc: DynamoDBDocumentClient;
beforeAll(() => {
  doc = testDynamo();
});
afterAll(() => doc.destroy());

async function hub() {
  const tables = await createTestTables(doc, await createSessionsTable(doc));
  const config = loadConfig({
    SESSIONS_TABLE: tables.sessionsTable,
    REGISTRY_TABLE: tables.registryTable,
    ALERTS_TABLE: tables.alertsTable,
    AWS_ACCOUNT_ID: HUB,
    OWN_ROLE_ARNS: `arn:aws:iam::${HUB}:role/roleguard-prod-*`,
    ORG_ID: 'o-a1b2c3d4e5',
    HUB_ACCOUNT_ID: HUB,
    SPOKE_ROLE_NAME: SPOKE,
  });
  const sent: string[] = [];
  const deps = createDeps(config, {
    dynamo: doc,
    logger: memoryLogger().logger,
    registry: parseRegistryText(registryText, 'r.yaml'),
    now: () => new Date('2026-11-02T10:31:00Z'),
    senders: { sns: async (message) => void sent.push(message.Message ?? '') },
  });
  const process = (record: unknown, dryRun = false): Promise<ProcessOutcome> =>
    processRecord(record, deps, { dryRun, now: () => new Date('2026-11-02T10:31:00Z') });
  return { process, sent };
}

const session = (role: string, name: string, path = '') => ({
  type: 'AssumedRole',
  principalId: `AROA${B}X:${name}`,
  arn: `arn:aws:sts::${B}:assumed-role/${role}/${name}`,
  accountId: B,
  sessionContext: { sessionIssuer: { type: 'Role', arn: `arn:aws:iam::${B}:role/${path}${role}`, accountId: B } },
});

/** An IAM write in account B on `roleName`, by `identity`. */
function iamWrite(file: string, roleName: string, identity: Record<string, unknown>, eventID: string, extra = {}) {
  const { detail } = loadJson(join(EVENTS_DIR, file)) as { detail: Record<string, any> };
  return {
    ...detail,
    ...extra,
    userIdentity: identity,
    recipientAccountId: B,
    eventID,
    eventTime: '2026-11-02T10:30:00Z',
    requestParameters: { ...detail.requestParameters, roleName },
  };
}
const findings = (o: ProcessOutcome) => ('findings' in o ? o.findings.map((f) => [f.kind, f.roleArn]) : []);

describe("IAM writes on roleguard's own roles in a member account", () => {
  it.each([
    ['the spoke role: its trust edited', 'eventbridge-update-assume-role-policy.json', SPOKE],
    ['the spoke role deleted', 'eventbridge-delete-role.json', SPOKE],
    ['the spoke role created again', 'eventbridge-create-role.json', SPOKE],
    ['the spoke role: a policy put on it', 'eventbridge-put-role-policy-tamper.json', SPOKE],
    ['a forwarder role edited', 'eventbridge-delete-role-policy-tamper.json', 'roleguard-prod-forwarder-eu-west-1'],
  ])('%s by an account admin: a high alert naming the role', async (_what, file, roleName) => {
    const h = await hub();
    await h.process(iamWrite(file, roleName, session('Admin', 'alice'), `tamper-${file}`));
    expect(h.sent).toHaveLength(1);
    expect(h.sent[0]).toContain(`arn:aws:iam::${B}:role/${roleName}`);
    expect(h.sent[0]).toContain('outside its StackSet');
    expect(h.sent[0]).toMatch(/high/i);
    // A redelivery of the same event alerts nothing more.
    await h.process(iamWrite(file, roleName, session('Admin', 'alice'), `tamper-${file}`));
    expect(h.sent).toHaveLength(1);
  });

  it('by the StackSets execution role (service- or self-managed): no alert', async () => {
    const h = await hub();
    for (const [i, role] of [
      'stacksets-exec-0123456789abcdef0123456789abcdef',
      'AWSCloudFormationStackSetExecutionRole',
    ].entries())
      await h.process(
        iamWrite('eventbridge-update-assume-role-policy.json', SPOKE, session(role, 'stackset'), `ss-${i}`, {
          sourceIPAddress: 'cloudformation.amazonaws.com',
        }),
      );
    expect(h.sent).toEqual([]);
  });

  it('by an admin through a CloudFormation stack of their own: alerted', async () => {
    const h = await hub();
    await h.process(
      iamWrite('eventbridge-update-assume-role-policy.json', SPOKE, session('Admin', 'alice'), 'cfn-1', {
        sourceIPAddress: 'cloudformation.amazonaws.com',
      }),
    );
    expect(h.sent).toHaveLength(1);
    expect(h.sent[0]).toContain('through CloudFormation');
  });

  it('other roles named like roleguard in other stages are not these', async () => {
    const h = await hub();
    await h.process(
      iamWrite('eventbridge-update-assume-role-policy.json', 'roleguard-dev-spoke', session('Admin', 'a'), 'dev-1'),
    );
    expect(h.sent).toEqual([]);
  });

  it('a replay without --apply sends nothing', async () => {
    const h = await hub();
    await h.process(iamWrite('eventbridge-delete-role.json', SPOKE, session('Admin', 'alice'), 'replayed'), true);
    expect(h.sent).toEqual([]);
  });
});

describe("the spoke role's sessions as roleguard's own", () => {
  it('a session named roleguard-* is own; any other session of the same role is not', async () => {
    const h = await hub();
    const own = await h.process(
      iamWrite('eventbridge-put-role-policy-tamper.json', 'ExampleCorpAudit', session(SPOKE, 'roleguard-revoke'), 'p1'),
    );
    expect(findings(own)).toEqual([]);
    // An admin who made the spoke role trust them (or created it again) and assumes it under another name.
    const posing = await h.process(
      iamWrite('eventbridge-put-role-policy-tamper.json', 'ExampleCorpAudit', session(SPOKE, 'alice'), 'p2'),
    );
    expect(findings(posing)).toEqual([['revocation-tampered', VENDOR_ROLE]]);
    const trust = await h.process(
      iamWrite('eventbridge-update-assume-role-policy.json', 'ExampleCorpAudit', session(SPOKE, 'alice'), 'p3'),
    );
    expect(findings(trust)).toEqual([['trust-policy-changed', VENDOR_ROLE]]);
    // A role merely named like the spoke role under a path is no spoke.
    const pathed = await h.process(
      iamWrite(
        'eventbridge-put-role-policy-tamper.json',
        'ExampleCorpAudit',
        session(SPOKE, 'roleguard-revoke', 'evil/'),
        'p4',
      ),
    );
    expect(findings(pathed)).toEqual([['revocation-tampered', VENDOR_ROLE]]);
  });
});
