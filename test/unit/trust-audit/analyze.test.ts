import { runSimulation } from '@cloud-copilot/iam-simulate';
import { describe, expect, it } from '@jest/globals';
import type { RegisteredRole } from '../../../lib/registry/index.js';
import { analyzeTrustPolicy } from '../../../lib/trust/index.js';

// The posture audit's verdicts, checked against an independent IAM evaluator: whenever the audit calls a trust
// policy sound, the vendor's account must not get in without the right external ID, and whenever it reports an
// open door (critical or a weak condition), the evaluator must let the vendor in without it.
const ROLE = 'arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit';
const ID = 'ec-7Hq2vN9xK4pL8mR3';
const registered: RegisteredRole = {
  roleArn: ROLE,
  vendor: 'Example Corp',
  trustedAccounts: ['999988887777'],
  externalIds: { current: ID, pending: null, retired: [] },
  response: 'alert',
  rotation: null,
};
const vendorAllowsAssume = {
  name: 'vendor',
  policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: '*' }] },
};

async function vendorGetsIn(trustPolicy: unknown, externalId: string | null): Promise<boolean> {
  const result = await runSimulation(
    {
      request: {
        principal: 'arn:aws:iam::999988887777:role/vendor-app',
        action: 'sts:AssumeRole',
        resource: { resource: ROLE, accountId: '111122223333' },
        contextVariables: externalId === null ? {} : { 'sts:ExternalId': externalId },
      },
      identityPolicies: [vendorAllowsAssume],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: trustPolicy,
    },
    {},
  );
  if (result.resultType === 'error') throw new Error(JSON.stringify(result.errors));
  return result.overallResult === 'Allowed';
}

const statement = (extra: Record<string, unknown>) => ({
  Effect: 'Allow',
  Principal: { AWS: 'arn:aws:iam::999988887777:root' },
  Action: 'sts:AssumeRole',
  ...extra,
});
const policy = (...statements: unknown[]) => ({ Version: '2012-10-17', Statement: statements });
const requireId = { Condition: { StringEquals: { 'sts:ExternalId': ID } } };

const CASES: [string, unknown, string[]][] = [
  ['StringEquals on the registered ID', policy(statement(requireId)), []],
  ['lower-case condition key', policy(statement({ Condition: { StringEquals: { 'sts:externalid': ID } } })), []],
  ['account id as principal, list form', policy(statement({ Principal: { AWS: ['999988887777'] }, ...requireId })), []],
  ['no condition', policy(statement({})), ['no-external-id']],
  [
    'StringEqualsIfExists',
    policy(statement({ Condition: { StringEqualsIfExists: { 'sts:ExternalId': ID } } })),
    ['weak-external-id-condition'],
  ],
  [
    'StringLike with a wildcard',
    policy(statement({ Condition: { StringLike: { 'sts:ExternalId': 'ec-*' } } })),
    ['weak-external-id-condition'],
  ],
  [
    'a second statement without the condition',
    policy(statement(requireId), statement({ Action: ['sts:AssumeRole', 'sts:TagSession'] })),
    ['condition-bypass'],
  ],
  [
    'sts:* without the condition beside a sound statement',
    policy(statement(requireId), statement({ Action: 'sts:*' })),
    ['condition-bypass'],
  ],
  [
    'Principal * without a condition',
    policy({ Effect: 'Allow', Principal: '*', Action: 'sts:AssumeRole' }),
    ['condition-bypass'],
  ],
  // A Deny unless the ID matches pins it as well as StringEquals does (a missing ID makes StringNotEquals true).
  [
    'an open Allow guarded by a Deny with StringNotEquals',
    policy(statement({}), {
      Effect: 'Deny',
      Principal: { AWS: '999988887777' },
      Action: 'sts:AssumeRole',
      Condition: { StringNotEquals: { 'sts:ExternalId': ID } },
    }),
    [],
  ],
  [
    'an open Allow guarded by a Deny for another account only',
    policy(statement({}), {
      Effect: 'Deny',
      Principal: { AWS: '444455556666' },
      Action: 'sts:AssumeRole',
      Condition: { StringNotEquals: { 'sts:ExternalId': ID } },
    }),
    ['no-external-id'],
  ],
];

describe('posture audit against an IAM evaluator', () => {
  it.each(CASES)('%s', async (_name, trust, expected) => {
    const problems = analyzeTrustPolicy(trust, ROLE, registered).problems.filter(
      (p) => !['external-ids-differ', 'trusted-accounts-differ'].includes(p.kind),
    );
    expect(problems.map((p) => p.kind)).toEqual(expected);
    const withoutId = await vendorGetsIn(trust, null);
    const wrongId = await vendorGetsIn(trust, 'tenant-4711');
    // The right ID always works for these policies (the vendor is never locked out by the audit's notion of sound).
    expect(await vendorGetsIn(trust, ID)).toBe(true);
    if (expected.length === 0) {
      expect(withoutId).toBe(false);
      expect(wrongId).toBe(false);
    } else if (expected[0] === 'weak-external-id-condition') {
      // IfExists lets a caller with no ID in; StringLike lets a matching wrong ID in. Either way the ID is not pinned.
      expect(withoutId || (await vendorGetsIn(trust, 'ec-anything'))).toBe(true);
    } else {
      expect(withoutId).toBe(true);
    }
  });

  it('compares with the registry: a retired ID still accepted, a registered one missing, an extra account', () => {
    const trust = policy(
      statement({
        Principal: { AWS: ['999988887777', 'arn:aws:iam::444455556666:user/x'] },
        Condition: { StringEquals: { 'sts:ExternalId': ['ec-OLD-2025-a1b2c3'] } },
      }),
    );
    const problems = analyzeTrustPolicy(trust, ROLE, {
      ...registered,
      externalIds: { current: ID, pending: null, retired: ['ec-OLD-2025-a1b2c3'] },
    }).problems;
    expect(problems.map((p) => [p.kind, p.severity])).toEqual([
      ['external-ids-differ', 'high'],
      ['trusted-accounts-differ', 'high'],
    ]);
    expect(problems[0]!.message).toMatch(/vendor would be refused/);
    expect(problems[0]!.message).toMatch(/retired ID ec-O…#[0-9a-f]{8} is still accepted/);
    expect(JSON.stringify(problems)).not.toContain(ID);
    expect(JSON.stringify(problems)).not.toContain('ec-OLD-2025-a1b2c3');
  });

  it('reads URL-encoded policies as IAM returns them, and reports an unreadable one', () => {
    expect(
      analyzeTrustPolicy(encodeURIComponent(JSON.stringify(policy(statement(requireId)))), ROLE, registered).problems,
    ).toEqual([]);
    expect(analyzeTrustPolicy('%7Bnot json', ROLE, registered).problems.map((p) => p.kind)).toEqual([
      'unreadable-policy',
    ]);
    // Same-account principals and services need no external ID.
    expect(
      analyzeTrustPolicy(
        policy({
          Effect: 'Allow',
          Principal: { AWS: 'arn:aws:iam::111122223333:root', Service: 'lambda.amazonaws.com' },
          Action: 'sts:AssumeRole',
        }),
        ROLE,
      ).crossAccount,
    ).toBe(false);
  });
});
