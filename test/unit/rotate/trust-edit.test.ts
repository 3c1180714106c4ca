import { runSimulation } from '@cloud-copilot/iam-simulate';
import { describe, expect, it } from '@jest/globals';
import {
  setAcceptedExternalIds,
  TRUST_POLICY_SIZE_LIMIT,
  TrustEditRefused,
  trustPolicySize,
  vendorExternalIds,
} from '../../../lib/rotate/trust-edit.js';

// The edits are checked with an independent IAM evaluator (@cloud-copilot/iam-simulate): its STS authorizer treats
// the trust policy as the resource policy of the sts:AssumeRole request. The caller's own side always allows the
// assume, so the trust policy alone decides.
const ROLE_ARN = 'arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit';
const VENDOR = '999988887777';
const VENDOR_2 = '777766665555';
const OTHER = '444455556666';
const VENDOR_APP = `arn:aws:iam::${VENDOR}:role/vendor-app`;
const OTHER_APP = `arn:aws:iam::${OTHER}:role/backup`;
const OLD = 'ec-7Hq2vN9xK4pL8mR3';
const NEW = 'Zk3pQ8wE1rT6yU9iO2aS5dF7gH4jK0lM';
const RANDOM = 'tenant-4711';
const OTHER_ID = 'other-Vq8Lm2Zx';
const role = { roleArn: ROLE_ARN, trustedAccounts: [VENDOR] };

type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

async function simulate(
  trust: unknown,
  principal: string,
  externalId: string | null,
  context: Record<string, string> = {},
): Promise<Decision> {
  const service = !principal.startsWith('arn:');
  const result = await runSimulation(
    {
      request: {
        principal,
        action: 'sts:AssumeRole',
        resource: { resource: ROLE_ARN, accountId: '111122223333' },
        contextVariables: {
          'aws:SecureTransport': 'true',
          ...context,
          ...(externalId === null ? {} : { 'sts:ExternalId': externalId }),
        },
      },
      identityPolicies: service
        ? []
        : [
            {
              name: 'caller-may-assume',
              policy: {
                Version: '2012-10-17',
                Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: '*' }],
              },
            },
          ],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: typeof trust === 'string' ? JSON.parse(trust) : trust,
    },
    {},
  );
  if (result.resultType === 'error')
    throw new Error(`the evaluator rejected the simulation: ${JSON.stringify(result.errors)}`);
  return result.overallResult as Decision;
}

const policy = (...statements: unknown[]) => ({ Version: '2012-10-17', Statement: statements });
const requireId = (value: unknown, operator = 'StringEquals', key = 'sts:ExternalId') => ({
  Condition: { [operator]: { [key]: value } },
});
const vendor = (extra: Record<string, unknown> = {}) => ({
  Sid: 'ExampleCorp',
  Effect: 'Allow',
  Principal: { AWS: `arn:aws:iam::${VENDOR}:root` },
  Action: 'sts:AssumeRole',
  ...requireId(OLD),
  ...extra,
});
const service = { Sid: 'Ec2', Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' };
const otherAccount = {
  Sid: 'Backup',
  Effect: 'Allow',
  Principal: { AWS: OTHER },
  Action: 'sts:AssumeRole',
  ...requireId(OTHER_ID),
};
const denyOther = {
  Effect: 'Deny',
  Principal: { AWS: OTHER_APP },
  Action: 'sts:AssumeRole',
  Condition: { Bool: { 'aws:SecureTransport': 'false' } },
};
const statementsOf = (document: string) => (JSON.parse(document) as { Statement: Record<string, unknown>[] }).Statement;

function refusal(run: () => unknown): TrustEditRefused {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(TrustEditRefused);
    return error as TrustEditRefused;
  }
  throw new Error('the edit was not refused');
}

describe('setAcceptedExternalIds', () => {
  it('reads the URL-encoded policy GetRole returns, plain JSON text and an object, and never changes its input', () => {
    const original = policy(vendor());
    const frozen = JSON.stringify(original);
    for (const input of [encodeURIComponent(JSON.stringify(original)), JSON.stringify(original, null, 2), original]) {
      const result = setAcceptedExternalIds(input, role, [OLD, NEW]);
      expect(JSON.parse(result.document)).toEqual(policy(vendor(requireId([OLD, NEW]))));
      expect(result.document).toBe(JSON.stringify(policy(vendor(requireId([OLD, NEW])))));
      expect(result).toMatchObject({ changed: true, statements: [0] });
    }
    expect(JSON.stringify(original)).toBe(frozen);
  });

  it('set, finish and rollback change what the vendor may do and nothing else, as the IAM evaluator sees it', async () => {
    const before = policy(service, vendor(), otherAccount, denyOther);
    const set = setAcceptedExternalIds(encodeURIComponent(JSON.stringify(before)), role, [OLD, NEW]);
    const finish = setAcceptedExternalIds(set.document, role, [NEW]);
    const rollback = setAcceptedExternalIds(set.document, role, [OLD]);
    expect([set.changed, finish.changed, rollback.changed]).toEqual([true, true, true]);

    const vendorWith = async (trust: unknown) =>
      Promise.all([OLD, NEW, null, RANDOM].map((id) => simulate(trust, VENDOR_APP, id)));
    expect(await vendorWith(before)).toEqual(['Allowed', 'ImplicitlyDenied', 'ImplicitlyDenied', 'ImplicitlyDenied']);
    expect(await vendorWith(set.document)).toEqual(['Allowed', 'Allowed', 'ImplicitlyDenied', 'ImplicitlyDenied']);
    expect(await vendorWith(finish.document)).toEqual([
      'ImplicitlyDenied',
      'Allowed',
      'ImplicitlyDenied',
      'ImplicitlyDenied',
    ]);
    expect(await vendorWith(rollback.document)).toEqual([
      'Allowed',
      'ImplicitlyDenied',
      'ImplicitlyDenied',
      'ImplicitlyDenied',
    ]);

    // The other principals of the same policy are allowed and denied exactly as before every edit.
    const others = async (trust: unknown) =>
      Promise.all([
        simulate(trust, 'ec2.amazonaws.com', null),
        ...[OTHER_ID, OLD, NEW, null].map((id) => simulate(trust, OTHER_APP, id)),
        simulate(trust, OTHER_APP, OTHER_ID, { 'aws:SecureTransport': 'false' }),
      ]);
    const expected = [
      'Allowed',
      'Allowed',
      'ImplicitlyDenied',
      'ImplicitlyDenied',
      'ImplicitlyDenied',
      'ExplicitlyDenied',
    ];
    expect(await others(before)).toEqual(expected);
    for (const edited of [set, finish, rollback]) {
      expect(await others(edited.document)).toEqual(expected);
      expect(statementsOf(edited.document).filter((_, i) => i !== 1)).toEqual([service, otherAccount, denyOther]);
    }
    // Rolling back restores the policy exactly as it was.
    expect(rollback.document).toBe(JSON.stringify(before));
  });

  it('finds the vendor statement by meaning, wherever it is, and edits only it', () => {
    const trust = policy(
      service,
      otherAccount,
      vendor({ Principal: { AWS: [VENDOR_APP] }, Action: ['sts:TagSession', 'STS:Assume*'] }),
      denyOther,
    );
    const result = setAcceptedExternalIds(trust, role, [OLD, NEW]);
    expect(result.statements).toEqual([2]);
    expect(statementsOf(result.document)).toEqual([
      service,
      otherAccount,
      vendor({ Principal: { AWS: [VENDOR_APP] }, Action: ['sts:TagSession', 'STS:Assume*'], ...requireId([OLD, NEW]) }),
      denyOther,
    ]);
  });

  it('edits every vendor statement, in any account form and partition, each keeping its own spelling', async () => {
    const second = {
      Effect: 'Allow',
      Principal: { AWS: [VENDOR_2, `arn:aws-cn:iam::${VENDOR}:user/agent`] },
      Action: 'sts:*',
      Condition: { stringequals: { 'sts:externalid': [NEW, OLD] } },
    };
    const trust = policy(vendor({ Action: '*' }), otherAccount, second);
    const result = setAcceptedExternalIds(trust, { roleArn: ROLE_ARN, trustedAccounts: [VENDOR, VENDOR_2] }, [NEW]);
    expect(result.statements).toEqual([0, 2]);
    expect(statementsOf(result.document)).toEqual([
      vendor({ Action: '*', ...requireId(NEW) }),
      otherAccount,
      { ...second, Condition: { stringequals: { 'sts:externalid': NEW } } },
    ]);
    for (const principal of [VENDOR_APP, `arn:aws:iam::${VENDOR_2}:role/app`]) {
      expect(await simulate(result.document, principal, NEW)).toBe('Allowed');
      expect(await simulate(result.document, principal, OLD)).toBe('ImplicitlyDenied');
    }
  });

  it('keeps every other condition, key and operator, in order', async () => {
    const conditions = {
      IpAddress: { 'aws:SourceIp': ['203.0.113.0/24'] },
      StringEquals: { 'aws:PrincipalArn': VENDOR_APP, 'sts:ExternalId': OLD, 'aws:RequestedRegion': 'eu-west-1' },
      Bool: { 'aws:SecureTransport': 'true' },
    };
    const result = setAcceptedExternalIds(policy(vendor({ Condition: conditions })), role, [OLD, NEW]);
    const edited = statementsOf(result.document)[0]!;
    expect(edited.Condition).toEqual({
      ...conditions,
      StringEquals: { ...conditions.StringEquals, 'sts:ExternalId': [OLD, NEW] },
    });
    expect(JSON.stringify(edited.Condition)).toBe(
      JSON.stringify({ ...conditions, StringEquals: { ...conditions.StringEquals, 'sts:ExternalId': [OLD, NEW] } }),
    );
    // IAM sets aws:PrincipalArn to the caller's role ARN; the evaluator needs it given.
    const inside = {
      'aws:SourceIp': '203.0.113.9',
      'aws:RequestedRegion': 'eu-west-1',
      'aws:PrincipalArn': VENDOR_APP,
    };
    expect(await simulate(result.document, VENDOR_APP, NEW, inside)).toBe('Allowed');
    expect(await simulate(result.document, VENDOR_APP, NEW, { ...inside, 'aws:SourceIp': '198.51.100.9' })).toBe(
      'ImplicitlyDenied',
    );
    const elsewhere = `arn:aws:iam::${VENDOR}:role/not-the-app`;
    expect(await simulate(result.document, elsewhere, NEW, { ...inside, 'aws:PrincipalArn': elsewhere })).toBe(
      'ImplicitlyDenied',
    );
  });

  it('is idempotent: changed is false when the policy already accepts exactly the IDs asked for, in any order', () => {
    expect(setAcceptedExternalIds(policy(vendor()), role, [OLD])).toMatchObject({ changed: false, statements: [0] });
    const set = setAcceptedExternalIds(policy(vendor()), role, [OLD, NEW]);
    const again = setAcceptedExternalIds(set.document, role, [NEW, OLD]);
    expect(again.changed).toBe(false);
    expect(again.document).toBe(set.document);
    // Existing values keep their place; new ones follow in the order asked.
    expect(
      statementsOf(setAcceptedExternalIds(policy(vendor(requireId([NEW, OLD]))), role, [RANDOM, OLD]).document)[0]!
        .Condition,
    ).toEqual({ StringEquals: { 'sts:ExternalId': [OLD, RANDOM] } });
  });

  const NO_ID = vendor({ Condition: { Bool: { 'aws:SecureTransport': 'true' } } });
  it.each<[string, unknown, string[], RegExp[]]>([
    [
      'no vendor statement',
      policy(service, otherAccount),
      [NEW],
      [/no Allow statement lets the vendor's account \(999988887777\)/],
    ],
    [
      'a vendor statement only in NotPrincipal',
      policy({ ...vendor(), Principal: undefined, NotPrincipal: { AWS: OTHER } }),
      [NEW],
      [/no Allow statement/, /Statement\[0\] \("ExampleCorp"\), which is not a vendor statement/],
    ],
    [
      'a vendor statement without the condition',
      policy(NO_ID),
      [OLD, NEW],
      [
        /Statement\[0\] \("ExampleCorp"\) lets the vendor assume the role without a StringEquals condition on sts:ExternalId; adding one would change who may assume it, so the trust policy must require the current ID there first/,
      ],
    ],
    [
      'StringLike',
      policy(vendor(requireId(OLD, 'StringLike'))),
      [OLD, NEW],
      [/Statement\[0\] \("ExampleCorp"\) checks sts:ExternalId with StringLike/],
    ],
    [
      'StringEqualsIfExists',
      policy(vendor(requireId(OLD, 'StringEqualsIfExists'))),
      [OLD, NEW],
      [/with StringEqualsIfExists/],
    ],
    [
      'StringEqualsIgnoreCase',
      policy(vendor(requireId(OLD, 'StringEqualsIgnoreCase'))),
      [OLD, NEW],
      [/with StringEqualsIgnoreCase/],
    ],
    [
      'ForAnyValue:StringEquals',
      policy(vendor(requireId(OLD, 'ForAnyValue:StringEquals'))),
      [OLD, NEW],
      [/with ForAnyValue:StringEquals/],
    ],
    [
      'ForAllValues:StringEquals',
      policy(vendor(requireId(OLD, 'ForAllValues:StringEquals'))),
      [OLD, NEW],
      [/with ForAllValues:StringEquals/],
    ],
    [
      'StringNotEquals in the vendor statement',
      policy(vendor(requireId(RANDOM, 'StringNotEquals'))),
      [OLD, NEW],
      [/with StringNotEquals/],
    ],
    ['Null', policy(vendor(requireId('false', 'Null'))), [OLD, NEW], [/with Null \(false\)/]],
    [
      'StringEquals beside StringEqualsIfExists',
      policy(
        vendor({
          Condition: { StringEquals: { 'sts:ExternalId': OLD }, StringEqualsIfExists: { 'sts:ExternalId': NEW } },
        }),
      ),
      [OLD, NEW],
      [/with StringEqualsIfExists/],
    ],
    [
      'a vendor statement that also trusts another account',
      policy(vendor({ Principal: { AWS: [VENDOR, OTHER_APP] } })),
      [OLD, NEW],
      [/also trusts arn:aws:iam::444455556666:role\/backup, outside the vendor's accounts/],
    ],
    [
      'a vendor statement that also trusts "*"',
      policy(vendor({ Principal: { AWS: [VENDOR, '*'] } })),
      [OLD, NEW],
      [/also trusts every AWS principal/],
    ],
    [
      'a vendor statement that also trusts a service',
      policy(vendor({ Principal: { AWS: VENDOR, Service: 'ec2.amazonaws.com' } })),
      [OLD, NEW],
      [/also trusts Service:ec2.amazonaws.com/],
    ],
    ['no ID to accept', policy(vendor()), [], [/no external ID to accept/]],
    ['an ID listed twice', policy(vendor()), [NEW, NEW], [/listed twice/]],
    ['an invalid ID', policy(vendor()), [OLD, 'bad id!'], [/is not a valid external ID/]],
    ['a one-character ID', policy(vendor()), ['x'], [/is not a valid external ID/]],
    [
      'a second Allow without the condition',
      policy(vendor(), {
        Effect: 'Allow',
        Principal: { AWS: VENDOR_APP },
        Action: 'sts:AssumeRole',
        Condition: { Bool: { 'aws:SecureTransport': 'true' } },
      }),
      [NEW],
      [
        /Statement\[1\] lets the vendor assume the role without a StringEquals condition on sts:ExternalId, which Statement\[0\] \("ExampleCorp"\) requires, so the rotation cannot be made effective/,
      ],
    ],
    [
      'an Allow with NotAction',
      policy(vendor(), { Effect: 'Allow', Principal: { AWS: VENDOR }, NotAction: 'sts:TagSession' }),
      [NEW],
      [/Statement\[1\] also lets/],
    ],
    [
      'an Allow for any principal',
      policy(vendor(), { Effect: 'Allow', Principal: '*', Action: 'sts:AssumeRole' }),
      [NEW],
      [/Statement\[1\] also lets/],
    ],
    [
      'an Allow with NotPrincipal still requiring the old ID',
      policy(vendor(), { Effect: 'Allow', NotPrincipal: { AWS: OTHER }, Action: 'sts:AssumeRole', ...requireId(OLD) }),
      [NEW],
      [/Statement\[1\], which is not a vendor statement.*with ec-7…#/],
    ],
    [
      'a Deny that would refuse the new ID',
      policy(vendor(), {
        Effect: 'Deny',
        Principal: { AWS: VENDOR },
        Action: 'sts:AssumeRole',
        ...requireId(OLD, 'StringNotEquals'),
      }),
      [OLD, NEW],
      [/Statement\[1\] denies the vendor's account by sts:ExternalId \(StringNotEquals\) and would refuse Zk3p…#/],
    ],
    [
      'an unreadable document',
      '%7B%E0%A4%A',
      [NEW],
      [/the trust policy cannot be read: the policy document is neither JSON nor URL-encoded JSON/],
    ],
    ['a policy without statements', '{"Version":"2012-10-17"}', [NEW], [/cannot be read: the policy has no Statement/]],
  ])('refuses %s', (_name, document, accepted, messages) => {
    const error = refusal(() => setAcceptedExternalIds(document, role, accepted));
    expect(error.roleArn).toBe(ROLE_ARN);
    expect(error.name).toBe('TrustEditRefused');
    expect(error.reasons).toHaveLength(messages.length);
    for (const [i, m] of messages.entries()) expect(error.reasons[i]).toMatch(m);
    // IDs are masked: the reasons end up in alerts.
    for (const id of [OLD, NEW, RANDOM]) expect(error.message).not.toContain(id);
  });

  it('gives every reason at once', () => {
    const trust = policy(
      vendor({ Principal: { AWS: [VENDOR, OTHER] }, Condition: { StringLike: { 'sts:ExternalId': 'ec-*' } } }),
      { Effect: 'Allow', Principal: { AWS: VENDOR }, Action: 'sts:*' },
    );
    const error = refusal(() => setAcceptedExternalIds(trust, role, [NEW, NEW]));
    expect(error.reasons).toEqual([
      expect.stringMatching(/listed twice/),
      expect.stringMatching(/also trusts 444455556666/),
      expect.stringMatching(/StringLike/),
      expect.stringMatching(
        /Statement\[1\] lets the vendor assume the role without a StringEquals condition on sts:ExternalId; .*require the current ID there first/,
      ),
    ]);
  });

  it('takes the unique id IAM shows for a deleted principal as no one, and refuses a principal it cannot place', () => {
    const result = setAcceptedExternalIds(
      policy(vendor({ Principal: { AWS: [VENDOR, 'AROA3XFRBF23EXAMPLE1'] } })),
      role,
      [NEW],
    );
    expect(statementsOf(result.document)[0]!.Principal).toEqual({ AWS: [VENDOR, 'AROA3XFRBF23EXAMPLE1'] });
    expect(
      refusal(() =>
        setAcceptedExternalIds(policy(vendor({ Principal: { AWS: [VENDOR, 'arn:aws:s3:::bucket'] } })), role, [NEW]),
      ).reasons,
    ).toEqual([expect.stringMatching(/also trusts arn:aws:s3:::bucket/)]);
  });

  it('leaves alone a Deny that refuses retired IDs only, and Allows pinned to the accepted IDs', () => {
    const denyRetired = { Effect: 'Deny', Principal: '*', Action: 'sts:AssumeRole', ...requireId(RANDOM) };
    const pinned = { Effect: 'Allow', Principal: { AWS: VENDOR }, NotAction: 'sts:TagSession', ...requireId(NEW) };
    const result = setAcceptedExternalIds(policy(denyRetired, vendor(), pinned), role, [OLD, NEW]);
    expect(statementsOf(result.document)).toEqual([denyRetired, vendor(requireId([OLD, NEW])), pinned]);
  });
});

describe('trust policy size', () => {
  it('counts characters without the whitespace outside strings, as IAM does', () => {
    const trust = policy(
      vendor({ Condition: { StringEquals: { 'sts:ExternalId': OLD, 'aws:UserAgent': 'Example Corp \t agent "v2"' } } }),
    );
    const compact = JSON.stringify(trust);
    expect(trustPolicySize(trust)).toBe(compact.length);
    expect(trustPolicySize(JSON.stringify(trust, null, 4))).toBe(compact.length);
    expect(trustPolicySize(`\n ${JSON.stringify(trust, null, '\t')} \r\n`)).toBe(compact.length);
    expect(trustPolicySize(encodeURIComponent(JSON.stringify(trust, null, 2)))).toBe(compact.length);
    const result = setAcceptedExternalIds(JSON.stringify(trust, null, 2), role, [OLD, NEW]);
    expect(result.size).toBe(result.document.length);
    expect(result.size).toBe(compact.length + NEW.length + 5);
  });

  it('refuses an edit over the quota, which callers may raise up to 8,192', () => {
    // A policy 20 characters under the default quota: adding the new ID (37 more) takes it over.
    const padded = (length: number) =>
      policy(
        vendor({
          Condition: { StringEquals: { 'sts:ExternalId': OLD }, StringLike: { 'aws:UserAgent': 'x'.repeat(length) } },
        }),
      );
    const trust = padded(TRUST_POLICY_SIZE_LIMIT - 20 - trustPolicySize(padded(0)));
    expect(trustPolicySize(trust)).toBe(TRUST_POLICY_SIZE_LIMIT - 20);
    const size = setAcceptedExternalIds(trust, role, [OLD, NEW], { maxSize: 8192 }).size;
    expect(size).toBeGreaterThan(TRUST_POLICY_SIZE_LIMIT);
    expect(setAcceptedExternalIds(trust, role, [OLD]).changed).toBe(false);
    const error = refusal(() => setAcceptedExternalIds(JSON.stringify(trust, null, 2), role, [OLD, NEW]));
    expect(error.reasons).toEqual([
      `the edited trust policy would be ${size} characters, over the quota of 2048 (whitespace not counted)`,
    ]);
    expect(setAcceptedExternalIds(trust, role, [OLD, NEW], { maxSize: size }).size).toBe(size);
    expect(() => setAcceptedExternalIds(trust, role, [OLD, NEW], { maxSize: size - 1 })).toThrow(TrustEditRefused);
  });
});

describe('vendorExternalIds', () => {
  it('lists the IDs the vendor statements accept with StringEquals, once each, and nothing of other statements', () => {
    const policy = {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${VENDOR}:root` },
          Action: 'sts:AssumeRole',
          Condition: { StringEquals: { 'sts:ExternalId': [OLD, NEW] } },
        },
        {
          Sid: 'Dr',
          Effect: 'Allow',
          Principal: { AWS: VENDOR_APP },
          Action: 'sts:AssumeRole',
          Condition: { StringEquals: { 'STS:ExternalID': [RANDOM, OLD] } },
        },
        {
          Effect: 'Allow',
          Principal: { AWS: OTHER_APP },
          Action: 'sts:AssumeRole',
          Condition: { StringEquals: { 'sts:ExternalId': OTHER_ID } },
        },
      ],
    };
    expect(vendorExternalIds(encodeURIComponent(JSON.stringify(policy)), role)).toEqual([OLD, NEW, RANDOM]);
    expect(vendorExternalIds('not a policy', role)).toEqual([]);
  });
});
