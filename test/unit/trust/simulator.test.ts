import { runSimulation } from '@cloud-copilot/iam-simulate';
import { describe, expect, it } from '@jest/globals';
import type { RegisteredRole } from '../../../lib/registry/index.js';
import { analyzeTrustPolicy, type PostureProblem } from '../../../lib/trust/index.js';

// The posture audit's verdicts, checked against an independent IAM evaluator (@cloud-copilot/iam-simulate).
// The evaluator has an STS authorizer that treats the role's trust policy as the resource policy of an
// sts:AssumeRole request and, for a caller in another account, requires both the caller's identity policy and the
// trust policy to allow it: the same evaluation IAM performs. The caller's side always allows sts:AssumeRole here,
// so the trust policy alone decides.
const ROLE = 'arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit';
const VENDOR = '999988887777';
const OTHER = '444455556666';
const VENDOR_APP = `arn:aws:iam::${VENDOR}:role/vendor-app`;
const STRANGER = 'arn:aws:iam::123456789012:role/stranger';
const ID = 'ec-7Hq2vN9xK4pL8mR3';
const NEXT = 'ec-NEXT-9pQ2wE4rT6';
// One unrelated wrong ID is not enough to expose every weak condition: a wildcard needs a value that matches the
// pattern, IgnoreCase one that differs in case only. Each of these is wrong; the vendor must be refused with all.
const WRONG_IDS = ['tenant-4711', ID.toUpperCase(), `${ID}-x`, `${ID.slice(0, -1)}x`, 'ec-x', ID.slice(0, -1)];

type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

async function simulate(trustPolicy: unknown, principal: string, externalId: string | null): Promise<Decision> {
  const result = await runSimulation(
    {
      request: {
        principal,
        action: 'sts:AssumeRole',
        resource: { resource: ROLE, accountId: '111122223333' },
        // STS only takes HTTPS requests.
        contextVariables: {
          'aws:SecureTransport': 'true',
          ...(externalId === null ? {} : { 'sts:ExternalId': externalId }),
        },
      },
      identityPolicies: [
        {
          name: 'caller-may-assume',
          policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: '*' }] },
        },
      ],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: trustPolicy,
    },
    {},
  );
  if (result.resultType === 'error')
    throw new Error(`the evaluator rejected the simulation: ${JSON.stringify(result.errors)}`);
  return result.overallResult as Decision;
}

const registered = (pending: string | null = null): RegisteredRole => ({
  roleArn: ROLE,
  vendor: 'Example Corp',
  trustedAccounts: [VENDOR],
  externalIds: { current: ID, pending, retired: [] },
  response: 'alert',
  rotation: null,
});
const policy = (...statements: unknown[]) => ({ Version: '2012-10-17', Statement: statements });
// `Action: undefined` in `extra` drops the key (for NotAction): the evaluator validates policies as IAM does.
const allow = (extra: Record<string, unknown> = {}) =>
  Object.fromEntries(
    Object.entries({
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${VENDOR}:root` },
      Action: 'sts:AssumeRole',
      ...extra,
    }).filter(([, v]) => v !== undefined),
  );
const condition = (operator: string, value: unknown, key = 'sts:ExternalId') => ({
  Condition: { [operator]: { [key]: value } },
});
const requireId = condition('StringEquals', ID);
const deny = (principal: unknown, extra: Record<string, unknown> = {}) => ({
  Effect: 'Deny',
  Principal: principal,
  Action: 'sts:AssumeRole',
  ...extra,
});

// [name, trust policy, the posture problems expected (registry comparisons aside), the vendor principal to simulate]
const CASES: [string, unknown, string[], string?][] = [
  ['StringEquals on the registered ID', policy(allow(requireId)), []],
  ['StringEquals with current and pending', policy(allow(condition('StringEquals', [ID, NEXT]))), []],
  ['lower-case condition key', policy(allow(condition('StringEquals', ID, 'sts:externalid'))), []],
  ['lower-case condition operator', policy(allow(condition('stringequals', ID))), []],
  ['account id as principal, list form', policy(allow({ Principal: { AWS: [VENDOR] }, ...requireId })), []],
  ['the vendor role ARN as principal', policy(allow({ Principal: { AWS: VENDOR_APP }, ...requireId })), []],
  [
    'a user ARN as principal',
    policy(allow({ Principal: { AWS: `arn:aws:iam::${VENDOR}:user/backup-agent` }, ...requireId })),
    [],
    `arn:aws:iam::${VENDOR}:user/backup-agent`,
  ],
  [
    'a user ARN without a condition',
    policy(allow({ Principal: { AWS: `arn:aws:iam::${VENDOR}:user/backup-agent` } })),
    ['no-external-id'],
    `arn:aws:iam::${VENDOR}:user/backup-agent`,
  ],
  ['no condition', policy(allow()), ['no-external-id']],
  [
    'a condition on another key only',
    policy(allow(condition('Bool', 'true', 'aws:SecureTransport'))),
    ['no-external-id'],
  ],
  ['StringEqualsIfExists', policy(allow(condition('StringEqualsIfExists', ID))), ['weak-external-id-condition']],
  ['StringLike with a wildcard', policy(allow(condition('StringLike', 'ec-*'))), ['weak-external-id-condition']],
  ['StringLike with a lone wildcard', policy(allow(condition('StringLike', '*'))), ['weak-external-id-condition']],
  ['StringLike with ?', policy(allow(condition('StringLike', `${ID.slice(0, -1)}?`))), ['weak-external-id-condition']],
  ['StringLike without a wildcard', policy(allow(condition('StringLike', ID))), ['weak-external-id-condition']],
  ['StringEqualsIgnoreCase', policy(allow(condition('StringEqualsIgnoreCase', ID))), ['weak-external-id-condition']],
  [
    'ForAnyValue:StringEquals',
    policy(allow(condition('ForAnyValue:StringEquals', ID))),
    ['weak-external-id-condition'],
  ],
  [
    'ForAllValues:StringEquals',
    policy(allow(condition('ForAllValues:StringEquals', ID))),
    ['weak-external-id-condition'],
  ],
  ['Null false (an ID, any ID)', policy(allow(condition('Null', 'false'))), ['weak-external-id-condition']],
  [
    'StringNotEquals in an Allow',
    policy(allow(condition('StringNotEquals', 'tenant-4711'))),
    ['weak-external-id-condition'],
  ],
  [
    'a second statement without the condition',
    policy(allow(requireId), allow({ Action: ['sts:AssumeRole', 'sts:TagSession'] })),
    ['condition-bypass'],
  ],
  [
    'a second statement for the vendor role only',
    policy(allow(requireId), allow({ Principal: { AWS: VENDOR_APP } })),
    ['condition-bypass'],
  ],
  [
    'sts:* without the condition beside a sound statement',
    policy(allow(requireId), allow({ Action: 'sts:*' })),
    ['condition-bypass'],
  ],
  [
    '* without the condition beside a sound statement',
    policy(allow(requireId), allow({ Action: '*' })),
    ['condition-bypass'],
  ],
  [
    'NotAction without the condition beside a sound statement',
    policy(allow(requireId), allow({ Action: undefined, NotAction: 'sts:TagSession' })),
    ['condition-bypass'],
  ],
  ['sts:TagSession alone beside a sound statement', policy(allow(requireId), allow({ Action: 'sts:TagSession' })), []],
  ['a Deny is not a grant', policy(allow(requireId), deny({ AWS: OTHER })), []],
  [
    'Principal * without a condition',
    policy({ Effect: 'Allow', Principal: '*', Action: 'sts:AssumeRole' }),
    ['condition-bypass'],
  ],
  [
    '{"AWS": "*"} without a condition',
    policy({ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'sts:AssumeRole' }),
    ['condition-bypass'],
  ],
  [
    'Principal * with StringEquals',
    policy({ Effect: 'Allow', Principal: '*', Action: 'sts:AssumeRole', ...requireId }),
    ['any-principal'],
  ],
  [
    '{"AWS": "*"} with StringEquals',
    policy({ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'sts:AssumeRole', ...requireId }),
    ['any-principal'],
  ],
  [
    'Principal * with StringEqualsIfExists',
    policy({ Effect: 'Allow', Principal: '*', Action: 'sts:AssumeRole', ...condition('StringEqualsIfExists', ID) }),
    ['weak-external-id-condition'],
  ],
  [
    'Principal * beside a sound statement',
    policy(allow(requireId), { Effect: 'Allow', Principal: '*', Action: 'sts:AssumeRole' }),
    ['condition-bypass'],
  ],
  [
    'NotPrincipal without a condition',
    policy({ Effect: 'Allow', NotPrincipal: { AWS: `arn:aws:iam::${OTHER}:root` }, Action: 'sts:AssumeRole' }),
    ['condition-bypass'],
  ],
  [
    'NotPrincipal with StringEquals',
    policy({
      Effect: 'Allow',
      NotPrincipal: { AWS: `arn:aws:iam::${OTHER}:root` },
      Action: 'sts:AssumeRole',
      ...requireId,
    }),
    ['any-principal'],
  ],
  // A Deny unless the ID matches pins it as well as StringEquals does (a missing ID makes StringNotEquals true).
  [
    'an open Allow guarded by a Deny with StringNotEquals',
    policy(allow(), deny({ AWS: VENDOR }, condition('StringNotEquals', ID))),
    [],
  ],
  ['an open Allow guarded by a Deny for everyone', policy(allow(), deny('*', condition('StringNotEquals', ID))), []],
  [
    'an open Allow guarded by a Deny for another account only',
    policy(allow(), deny({ AWS: OTHER }, condition('StringNotEquals', ID))),
    ['no-external-id'],
  ],
  [
    'an open Allow guarded by a Deny for another role of the account',
    policy(allow(), deny({ AWS: `arn:aws:iam::${VENDOR}:role/other` }, condition('StringNotEquals', ID))),
    ['no-external-id'],
  ],
  ['an open Allow shut by an unconditional Deny', policy(allow(), deny({ AWS: VENDOR })), []],
];

const DOOR = new Set(['no-external-id', 'condition-bypass', 'weak-external-id-condition']);
const serious = (p: PostureProblem) => p.severity === 'critical' || p.severity === 'high';
const posture = (problems: PostureProblem[]) =>
  problems.filter((p) => p.kind !== 'external-ids-differ' && p.kind !== 'trusted-accounts-differ');
// A problem that says the role is open to any account, not only the vendor's.
const opensToAnyone = (p: PostureProblem) =>
  p.kind === 'any-principal' || (DOOR.has(p.kind) && /any AWS account|every principal outside/.test(p.message));

describe('posture audit against an IAM evaluator', () => {
  it.each(CASES)('%s', async (_name, trust, expected, principal = VENDOR_APP) => {
    const problems = posture(analyzeTrustPolicy(trust, ROLE, registered(NEXT)).problems);
    expect(problems.map((p) => p.kind)).toEqual(expected);

    const withoutId = await simulate(trust, principal, null);
    const withWrongId = await Promise.all(WRONG_IDS.map((id) => simulate(trust, principal, id)));
    const vendorInWithoutRightId = withoutId === 'Allowed' || withWrongId.includes('Allowed');
    const strangerInWithRightId = (await simulate(trust, STRANGER, ID)) === 'Allowed';

    // The audit says the external-ID door is open (critical/high) exactly when the evaluator lets the vendor in
    // without the right ID ...
    expect(problems.some((p) => DOOR.has(p.kind) && serious(p))).toBe(vendorInWithoutRightId);
    // ... says the role is open to any account exactly when an account the policy does not name gets in ...
    expect(problems.some(opensToAnyone)).toBe(strangerInWithRightId);
    // ... and reports some critical or high problem exactly when one of the two holds.
    expect(problems.some(serious)).toBe(vendorInWithoutRightId || strangerInWithRightId);
  });

  it.each(CASES.filter(([, , expected]) => expected.length === 0))(
    'a sound verdict never locks the vendor out: %s',
    async (name, trust, _expected, principal = VENDOR_APP) => {
      const role = registered(/current and pending/.test(name) ? NEXT : null);
      const analysis = analyzeTrustPolicy(trust, ROLE, role);
      const shut = /unconditional Deny/.test(name);
      // Nothing at all to report, registry comparison included, for a proper StringEquals policy.
      if (!shut) expect(analysis.problems).toEqual([]);
      // Every registered ID works (the audit never calls a policy sound that refuses the vendor) ...
      for (const id of [ID, ...(role.externalIds.pending ? [role.externalIds.pending] : [])]) {
        expect(await simulate(trust, principal, id)).toBe(shut ? 'ExplicitlyDenied' : 'Allowed');
      }
      // ... and a policy the evaluator shuts the vendor out of is not called sound against the registry.
      if (shut)
        expect(analysis.problems.map((p) => [p.kind, p.severity])).toEqual([
          ['external-ids-differ', 'high'],
          ['trusted-accounts-differ', 'medium'],
        ]);
    },
  );

  it("a statement for another account without an ID opens the door for that account, not the vendor's", async () => {
    const trust = policy(allow(requireId), allow({ Principal: { AWS: OTHER } }));
    const problems = analyzeTrustPolicy(trust, ROLE, registered()).problems;
    expect(problems.map((p) => [p.kind, p.severity])).toEqual([
      ['no-external-id', 'critical'],
      ['trusted-accounts-differ', 'high'],
    ]);
    expect(problems[0]!.message).toContain(`account ${OTHER}`);
    expect(await simulate(trust, `arn:aws:iam::${OTHER}:role/any`, null)).toBe('Allowed');
    expect(await simulate(trust, VENDOR_APP, null)).toBe('ImplicitlyDenied');
    expect(await simulate(trust, VENDOR_APP, ID)).toBe('Allowed');
  });

  it('agrees that a same-account, service or federated trust policy lets no other account in', async () => {
    for (const trust of [
      policy(allow({ Principal: { AWS: 'arn:aws:iam::111122223333:root' } })),
      policy(allow({ Principal: { Service: 'lambda.amazonaws.com' } })),
      policy(
        allow({
          Principal: { Federated: 'arn:aws:iam::111122223333:saml-provider/idp' },
          Action: 'sts:AssumeRoleWithSAML',
        }),
      ),
    ]) {
      expect(analyzeTrustPolicy(trust, ROLE).crossAccount).toBe(false);
      expect(await simulate(trust, VENDOR_APP, null)).not.toBe('Allowed');
      expect(await simulate(trust, VENDOR_APP, ID)).not.toBe('Allowed');
    }
  });
});
