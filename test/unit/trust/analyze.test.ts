import { describe, expect, it } from '@jest/globals';
import type { RegisteredRole } from '../../../lib/registry/index.js';
import { analyzeTrustPolicy, type TrustAnalysis } from '../../../lib/trust/index.js';

const ROLE = 'arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit';
const VENDOR = '999988887777';
const OTHER = '444455556666';
const ID = 'ec-7Hq2vN9xK4pL8mR3';
const NEXT = 'ec-NEXT-9pQ2wE4rT6';
const OLD = 'ec-OLD-2025-a1b2c3';
const STRANGER = 'tenant-4711-zz';
const ALL_IDS = [ID, NEXT, OLD, STRANGER];

const registered = (
  over: Partial<RegisteredRole> = {},
  ids: Partial<RegisteredRole['externalIds']> = {},
): RegisteredRole => ({
  roleArn: ROLE,
  vendor: 'Example Corp',
  trustedAccounts: [VENDOR],
  externalIds: { current: ID, pending: null, retired: [], ...ids },
  response: 'alert',
  rotation: null,
  ...over,
});
const policy = (...statements: unknown[]) => ({ Version: '2012-10-17', Statement: statements });
const allow = (extra: Record<string, unknown> = {}) => ({
  Effect: 'Allow',
  Principal: { AWS: `arn:aws:iam::${VENDOR}:root` },
  Action: 'sts:AssumeRole',
  ...extra,
});
const requireIds = (ids: string | string[], operator = 'StringEquals', key = 'sts:ExternalId') => ({
  Condition: { [operator]: { [key]: ids } },
});
const kinds = (a: TrustAnalysis) => a.problems.map((p) => [p.kind, p.severity]);
const analyse = (trust: unknown, role: RegisteredRole | null = registered()) => analyzeTrustPolicy(trust, ROLE, role);

/** No problem, message or list in the analysis holds an external ID in full. */
function expectNoFullIds(a: TrustAnalysis): void {
  const text = JSON.stringify(a.problems);
  for (const id of ALL_IDS) expect(text).not.toContain(id);
}

describe('what a trust policy grants', () => {
  it.each<[string, unknown]>([
    ['a 12-digit account id', VENDOR],
    ['the account root ARN', `arn:aws:iam::${VENDOR}:root`],
    ['a role ARN', `arn:aws:iam::${VENDOR}:role/vendor-app`],
    ['a role ARN with a path', `arn:aws:iam::${VENDOR}:role/integrations/vendor-app`],
    ['a user ARN', `arn:aws:iam::${VENDOR}:user/backup-agent`],
    ['a list of one', [VENDOR]],
    ['a list naming the account twice', [VENDOR, `arn:aws:iam::${VENDOR}:role/vendor-app`]],
  ])('reads the account from %s', (_name, principal) => {
    const a = analyse(policy(allow({ Principal: { AWS: principal }, ...requireIds(ID) })));
    expect(a).toEqual({
      trustedAccounts: [VENDOR],
      acceptedExternalIds: [ID],
      weaklyNamedExternalIds: [],
      crossAccount: true,
      problems: [],
    });
  });

  it('collects the accounts and IDs of several Allow statements, in policy order, without repeats', () => {
    const a = analyse(
      policy(
        allow({
          Sid: 'Vendor',
          Principal: { AWS: [VENDOR, `arn:aws:iam::${OTHER}:user/u`] },
          ...requireIds([ID, NEXT]),
        }),
        allow({ Sid: 'Other', Principal: { AWS: `arn:aws:iam::${OTHER}:role/r` }, ...requireIds([NEXT, OLD]) }),
      ),
      null,
    );
    expect(a.trustedAccounts).toEqual([OTHER, VENDOR]);
    expect(a.acceptedExternalIds).toEqual([ID, NEXT, OLD]);
    expect(a.problems).toEqual([]);
  });

  it("needs no external ID for principals of the role's own account, services, SAML or OIDC providers", () => {
    for (const trust of [
      policy(allow({ Principal: { AWS: 'arn:aws:iam::111122223333:root' } })),
      policy(allow({ Principal: { AWS: ['111122223333', 'arn:aws:iam::111122223333:role/admin'] } })),
      policy(allow({ Principal: { Service: ['lambda.amazonaws.com', 'ec2.amazonaws.com'] } })),
      policy(
        allow({
          Principal: { Federated: 'arn:aws:iam::111122223333:saml-provider/idp' },
          Action: ['sts:AssumeRoleWithSAML', 'sts:TagSession'],
        }),
      ),
      policy(
        allow({
          Principal: { Federated: 'arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com' },
          Action: 'sts:AssumeRoleWithWebIdentity',
        }),
      ),
    ]) {
      expect(analyse(trust, null)).toEqual({
        trustedAccounts: [],
        acceptedExternalIds: [],
        weaklyNamedExternalIds: [],
        crossAccount: false,
        problems: [],
      });
    }
  });

  it('counts only the statements that grant sts:AssumeRole, and never a Deny', () => {
    expect(analyse(policy(allow({ Action: 'sts:TagSession' })), null).crossAccount).toBe(false);
    expect(analyse(policy(allow({ Effect: 'Deny' })), null).crossAccount).toBe(false);
    expect(analyse(policy(allow({ Effect: 'Deny', Principal: '*' })), null).problems).toEqual([]);
    expect(analyse(policy(allow({ Action: undefined, NotAction: 'sts:AssumeRole' })), null).crossAccount).toBe(false);
    expect(analyse(policy(allow(requireIds(ID)), allow({ Action: 'sts:TagSession' })), null).problems).toEqual([]);
  });

  it('reports an unreadable policy instead of throwing', () => {
    for (const trust of ['%7Bnot json', '{', { Version: '2012-10-17' }, { Statement: [{ Principal: '*' }] }]) {
      const a = analyse(trust);
      expect(a.crossAccount).toBe(false);
      expect(kinds(a)).toEqual([['unreadable-policy', 'high']]);
    }
  });

  it("reports a principal that is not an account or ARN (a deleted principal's unique id)", () => {
    const a = analyse(policy(allow({ Principal: { AWS: ['AROA3XFRBF23EXAMPLE1', VENDOR] }, ...requireIds(ID) })));
    expect(kinds(a)).toEqual([['unresolved-principal', 'medium']]);
    expect(a.problems[0]!.message).toContain('AROA3XFRBF23EXAMPLE1');
    expect(a.trustedAccounts).toEqual([VENDOR]);
  });
});

describe('posture problems', () => {
  it('passes a statement that pins the registered ID with StringEquals', () => {
    expect(analyse(policy(allow(requireIds(ID)))).problems).toEqual([]);
  });

  it('reads condition keys case-insensitively', () => {
    for (const key of ['sts:externalid', 'STS:ExternalID', 'sts:ExternalId']) {
      expect(analyse(policy(allow(requireIds(ID, 'StringEquals', key))))).toMatchObject({
        acceptedExternalIds: [ID],
        problems: [],
      });
    }
    // A key that is not sts:ExternalId does not count.
    expect(kinds(analyse(policy(allow(requireIds(ID, 'StringEquals', 'sts:ExternalIdx')))))).toContainEqual([
      'no-external-id',
      'critical',
    ]);
  });

  it('flags a cross-account statement without an external ID as critical', () => {
    for (const principal of [VENDOR, `arn:aws:iam::${VENDOR}:role/vendor-app`, `arn:aws:iam::${VENDOR}:user/u`]) {
      const a = analyse(policy(allow({ Sid: 'Vendor', Principal: { AWS: principal } })));
      expect(kinds(a)).toEqual([
        ['no-external-id', 'critical'],
        ['external-ids-differ', 'high'],
      ]);
      expect(a.problems[0]!.statement).toBe('Statement[0] (Vendor)');
      expect(a.problems[0]!.message).toContain(`account ${VENDOR}`);
      expect(a.problems[1]!.message).toMatch(/vendor would be refused/);
    }
  });

  it('flags a condition that does not pin the ID as weak (high), naming the operator but not the ID', () => {
    for (const [operator, value] of [
      ['StringEqualsIfExists', ID],
      ['StringEqualsIgnoreCase', ID],
      ['StringLike', 'ec-*'],
      ['StringLike', '*'],
      ['ForAllValues:StringEquals', ID],
      ['StringNotEquals', STRANGER],
    ] as const) {
      const a = analyse(policy(allow(requireIds(value, operator))));
      expect([
        operator,
        a.problems.filter((p) => p.kind === 'weak-external-id-condition').map((p) => p.severity),
      ]).toEqual([operator, ['high']]);
      expect(a.problems[0]!.message).toContain(operator);
      expect(a.acceptedExternalIds).toEqual([]);
      expectNoFullIds(a);
    }
  });

  it('names IDs of weak conditions so the registered ID is not called refused', () => {
    for (const operator of ['StringEqualsIfExists', 'StringEqualsIgnoreCase']) {
      const a = analyse(policy(allow(requireIds(ID, operator))));
      expect(a.weaklyNamedExternalIds).toEqual([ID]);
      expect(kinds(a)).toEqual([['weak-external-id-condition', 'high']]);
    }
    // A wildcard pattern names no ID: the registered one is not known to be accepted exactly.
    expect(kinds(analyse(policy(allow(requireIds('ec-*', 'StringLike')))))).toEqual([
      ['weak-external-id-condition', 'high'],
      ['external-ids-differ', 'high'],
    ]);
  });

  it('calls ForAnyValue:StringEquals and a StringLike without wildcards weak but pinned (medium)', () => {
    for (const operator of ['ForAnyValue:StringEquals', 'StringLike', 'ForAnyValue:StringLike']) {
      const a = analyse(policy(allow(requireIds(ID, operator))));
      expect(kinds(a)).toEqual([['weak-external-id-condition', 'medium']]);
      expect(a.weaklyNamedExternalIds).toEqual([ID]);
      expect(a.problems[0]!.message).toMatch(/still admits only the IDs it names/);
      expectNoFullIds(a);
    }
  });

  it('flags a second Allow statement for the same account without the condition as a bypass', () => {
    for (const second of [
      allow({ Sid: 'Tagging', Action: ['sts:AssumeRole', 'sts:TagSession'] }),
      allow({ Sid: 'Tagging', Principal: { AWS: VENDOR } }),
      allow({ Sid: 'Tagging', Principal: { AWS: `arn:aws:iam::${VENDOR}:role/x` } }),
    ]) {
      const a = analyse(policy(allow({ Sid: 'WithId', ...requireIds(ID) }), second));
      expect(kinds(a)).toEqual([['condition-bypass', 'critical']]);
      expect(a.problems[0]!.statement).toBe('Statement[1] (Tagging)');
      expect(a.problems[0]!.message).toMatch(/bypassing the condition that other statements require/);
      // The ID the first statement requires is still accepted.
      expect(a.acceptedExternalIds).toEqual([ID]);
    }
  });

  it('counts sts:*, * and NotAction as granting sts:AssumeRole, so they bypass too', () => {
    for (const action of [
      { Action: 'sts:*' },
      { Action: '*' },
      { Action: ['sts:Assume*'] },
      { Action: undefined, NotAction: 'sts:TagSession' },
      { Action: undefined, NotAction: ['iam:*', 's3:*'] },
    ]) {
      expect(kinds(analyse(policy(allow(requireIds(ID)), allow(action))))).toEqual([['condition-bypass', 'critical']]);
    }
    expect(kinds(analyse(policy(allow(requireIds(ID)), allow({ Action: 'sts:TagSession' }))))).toEqual([]);
    expect(kinds(analyse(policy(allow(requireIds(ID)), allow({ Action: undefined, NotAction: 'sts:*' }))))).toEqual([]);
  });

  it("does not call a statement for another account a bypass of this account's condition", () => {
    const a = analyse(
      policy(allow(requireIds(ID)), allow({ Principal: { AWS: OTHER } })),
      registered({ trustedAccounts: [VENDOR, OTHER] }),
    );
    expect(kinds(a)).toEqual([['no-external-id', 'critical']]);
    expect(a.problems[0]!.message).toContain(`account ${OTHER}`);
  });

  it('a weak statement beside a StringEquals for the same account is its own weakness', () => {
    const a = analyse(policy(allow(requireIds(ID)), allow(requireIds(ID, 'StringEqualsIfExists'))));
    expect(kinds(a)).toEqual([['weak-external-id-condition', 'high']]);
  });

  it('flags any principal: critical without a condition, high with StringEquals', () => {
    for (const principal of ['*', { AWS: '*' }, { AWS: ['*'] }]) {
      const open = analyse(policy({ Effect: 'Allow', Principal: principal, Action: 'sts:AssumeRole' }));
      expect(kinds(open)).toEqual([
        ['condition-bypass', 'critical'],
        ['external-ids-differ', 'high'],
      ]);
      expect(open.problems[0]!.message).toMatch(/any AWS account assume the role without an external ID$/);
      expect(open.crossAccount).toBe(true);
      const guarded = analyse(
        policy({ Effect: 'Allow', Principal: principal, Action: 'sts:AssumeRole', ...requireIds(ID) }),
      );
      // The registry's account is let in (as is every other): the accounts do not "differ".
      expect(kinds(guarded)).toEqual([['any-principal', 'high']]);
      expect(guarded.trustedAccounts).toEqual([]);
      expect(guarded.acceptedExternalIds).toEqual([ID]);
    }
    // An open statement with a condition that does not pin the ID lets the whole world in.
    expect(
      kinds(
        analyse(
          policy({
            Effect: 'Allow',
            Principal: '*',
            Action: 'sts:AssumeRole',
            ...requireIds(ID, 'StringEqualsIfExists'),
          }),
        ),
      ),
    ).toEqual([['weak-external-id-condition', 'critical']]);
  });

  it('reads an Allow with NotPrincipal as open to everyone it does not name', () => {
    const a = analyse(
      policy({
        Sid: 'AllBut',
        Effect: 'Allow',
        NotPrincipal: { AWS: `arn:aws:iam::${OTHER}:root` },
        Action: 'sts:AssumeRole',
      }),
    );
    expect(kinds(a)).toEqual([
      ['condition-bypass', 'critical'],
      ['external-ids-differ', 'high'],
    ]);
    expect(a.problems[0]!.message).toContain('every principal outside its NotPrincipal');
    // The account NotPrincipal leaves out is not trusted.
    expect(a.trustedAccounts).toEqual([]);
    // With the registered ID required, the vendor is let in (it is not named), and nothing differs but the openness.
    const guarded = analyse(
      policy({
        Effect: 'Allow',
        NotPrincipal: { AWS: `arn:aws:iam::${OTHER}:root` },
        Action: 'sts:AssumeRole',
        ...requireIds(ID),
      }),
    );
    expect(kinds(guarded)).toEqual([['any-principal', 'high']]);
    // A NotPrincipal naming the vendor's account leaves the vendor out.
    const vendorLeftOut = analyse(
      policy({ Effect: 'Allow', NotPrincipal: { AWS: VENDOR }, Action: 'sts:AssumeRole', ...requireIds(ID) }),
    );
    expect(kinds(vendorLeftOut)).toEqual([
      ['any-principal', 'high'],
      ['trusted-accounts-differ', 'medium'],
    ]);
  });

  it('reads a Deny unless the ID matches as pinning the ID for the principals it covers', () => {
    const deny = (principal: unknown, condition: unknown = { StringNotEquals: { 'sts:ExternalId': ID } }) => ({
      Effect: 'Deny',
      Principal: principal,
      Action: 'sts:AssumeRole',
      Condition: condition,
    });
    expect(kinds(analyse(policy(allow(), deny({ AWS: VENDOR }))))).toEqual([]);
    expect(kinds(analyse(policy(allow(), deny('*'))))).toEqual([]);
    expect(
      kinds(
        analyse(
          policy(
            allow({ Principal: { AWS: `arn:aws:iam::${VENDOR}:role/app` } }),
            deny({ AWS: `arn:aws:iam::${VENDOR}:root` }),
          ),
        ),
      ),
    ).toEqual([]);
    expect(
      kinds(
        analyse(
          policy(
            allow({ Principal: { AWS: `arn:aws:iam::${VENDOR}:role/app` } }),
            deny({ AWS: `arn:aws:iam::${VENDOR}:role/app` }),
          ),
        ),
      ),
    ).toEqual([]);
    expect(
      kinds(analyse(policy(allow(), deny({ AWS: VENDOR }, { stringnotequals: { 'sts:externalid': ID } })))),
    ).toEqual([]);
    // A Deny for one role of the vendor's account leaves the account's other principals in.
    expect(kinds(analyse(policy(allow(), deny({ AWS: `arn:aws:iam::${VENDOR}:role/app` }))))).toEqual([
      ['no-external-id', 'critical'],
      ['external-ids-differ', 'high'],
    ]);
    // A Deny for another account, or with another condition as well, does not pin the vendor's ID.
    expect(kinds(analyse(policy(allow(), deny({ AWS: OTHER }))))[0]).toEqual(['no-external-id', 'critical']);
    expect(
      kinds(
        analyse(
          policy(
            allow(),
            deny(
              { AWS: VENDOR },
              { StringNotEquals: { 'sts:ExternalId': ID }, Bool: { 'aws:SecureTransport': 'true' } },
            ),
          ),
        ),
      )[0],
    ).toEqual(['no-external-id', 'critical']);
    expect(
      kinds(analyse(policy(allow(), deny({ AWS: VENDOR }, { StringNotLike: { 'sts:ExternalId': 'ec-*' } }))))[0],
    ).toEqual(['no-external-id', 'critical']);
  });

  it('reads a Deny without a condition as shutting out the principals it covers', () => {
    const deny = (principal: unknown) => ({ Effect: 'Deny', Principal: principal, Action: 'sts:AssumeRole' });
    const shut = analyse(policy(allow(), deny({ AWS: VENDOR })), null);
    expect(shut).toEqual({
      trustedAccounts: [],
      acceptedExternalIds: [],
      weaklyNamedExternalIds: [],
      crossAccount: false,
      problems: [],
    });
    expect(
      analyse(policy({ Effect: 'Allow', Principal: '*', Action: 'sts:AssumeRole' }, deny('*')), null).crossAccount,
    ).toBe(false);
    // Only the covered account is shut out.
    const partly = analyse(
      policy(allow({ Principal: { AWS: [VENDOR, OTHER] } }), deny({ AWS: `arn:aws:iam::${OTHER}:root` })),
      null,
    );
    expect(partly.trustedAccounts).toEqual([VENDOR]);
    expect(kinds(partly)).toEqual([['no-external-id', 'critical']]);
    // A Deny of one role does not shut out the account's root grant.
    expect(kinds(analyse(policy(allow(), deny({ AWS: `arn:aws:iam::${VENDOR}:role/app` })), null))).toEqual([
      ['no-external-id', 'critical'],
    ]);
  });
});

describe('comparison with the registry', () => {
  const withIds = (ids: string[]) => policy(allow(requireIds(ids)));

  it('passes when the policy accepts exactly current and pending', () => {
    expect(analyse(withIds([ID, NEXT]), registered({}, { pending: NEXT, retired: [OLD] })).problems).toEqual([]);
    expect(analyse(withIds([NEXT]), registered({}, { current: null, pending: NEXT })).problems).toEqual([]);
  });

  it('says the vendor would be refused when the current ID is missing', () => {
    const a = analyse(withIds([NEXT]), registered({}, { pending: NEXT }));
    expect(kinds(a)).toEqual([['external-ids-differ', 'high']]);
    expect(a.problems[0]!.message).toMatch(
      /the registered ID ec-7…#[0-9a-f]{8} is not accepted, so the vendor would be refused/,
    );
    expectNoFullIds(a);
    const both = analyse(withIds([OLD]), registered({}, { pending: NEXT }));
    expect(both.problems[0]!.message).toMatch(/the registered IDs .+, .+ are not accepted/);
  });

  it('says a retired ID is still accepted', () => {
    const a = analyse(withIds([ID, OLD]), registered({}, { retired: [OLD] }));
    expect(kinds(a)).toEqual([['external-ids-differ', 'high']]);
    expect(a.problems[0]!.message).toMatch(/retired ID ec-O…#[0-9a-f]{8} is still accepted/);
    expect(a.problems[0]!.message).not.toMatch(/refused/);
    expectNoFullIds(a);
  });

  it('says an ID the registry does not know is accepted', () => {
    const a = analyse(withIds([ID, STRANGER]));
    expect(kinds(a)).toEqual([['external-ids-differ', 'high']]);
    expect(a.problems[0]!.message).toMatch(/ID tena…#[0-9a-f]{8} not in the registry is accepted/);
    expectNoFullIds(a);
    // All three at once, in one problem.
    const all = analyse(withIds([OLD, STRANGER, NEXT]), registered({}, { retired: [OLD] }));
    expect(all.problems).toHaveLength(1);
    expect(all.problems[0]!.message).toMatch(
      /refused; retired ID .+ is still accepted; IDs .+, .+ not in the registry are accepted/,
    );
    expectNoFullIds(all);
  });

  it('says which accounts differ: an untrusted one let in is high, a trusted one left out is medium', () => {
    const extra = analyse(
      policy(allow({ Principal: { AWS: [VENDOR, `arn:aws:iam::${OTHER}:user/x`] }, ...requireIds(ID) })),
    );
    expect(kinds(extra)).toEqual([['trusted-accounts-differ', 'high']]);
    expect(extra.problems[0]!.message).toContain(`it lets in ${OTHER}, which the registry does not trust`);
    const missing = analyse(withIds([ID]), registered({ trustedAccounts: [VENDOR, OTHER] }));
    expect(kinds(missing)).toEqual([['trusted-accounts-differ', 'medium']]);
    expect(missing.problems[0]!.message).toContain(`it does not let in ${OTHER}, which the registry trusts`);
    const both = analyse(policy(allow({ Principal: { AWS: OTHER }, ...requireIds(ID) })));
    expect(kinds(both)).toEqual([['trusted-accounts-differ', 'high']]);
    expect(both.problems[0]!.message).toMatch(/lets in 444455556666.*; it does not let in 999988887777/);
  });

  it('never puts a full external ID in the analysis problems, whatever goes wrong', () => {
    const trust = policy(
      allow({
        Principal: { AWS: [VENDOR, OTHER] },
        Condition: {
          StringEqualsIfExists: { 'sts:ExternalId': [ID, STRANGER] },
          StringLike: { 'sts:ExternalId': `${OLD}*` },
        },
      }),
      allow({ Principal: { AWS: OTHER }, ...requireIds([NEXT, OLD]) }),
      {
        Effect: 'Allow',
        Principal: '*',
        Action: 'sts:AssumeRole',
        Condition: { 'ForAnyValue:StringEquals': { 'sts:ExternalId': STRANGER } },
      },
    );
    const a = analyse(trust, registered({}, { pending: NEXT, retired: [OLD] }));
    expect(a.problems.length).toBeGreaterThan(3);
    expectNoFullIds(a);
  });
});
