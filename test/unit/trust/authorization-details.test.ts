import { describe, expect, it } from '@jest/globals';
import {
  type AuthorizationDetailsImport,
  registryFromAuthorizationDetails,
} from '../../../lib/registry/authorization-details.js';
import {
  type RegisteredRole,
  type Registry,
  RegistryError,
  registryToDocument,
  validateRegistry,
} from '../../../lib/registry/index.js';

const ACCOUNT = '111122223333';
const VENDOR = '999988887777';
const OTHER = '444455556666';
const ID = 'ec-7Hq2vN9xK4pL8mR3';
const NEXT = 'ec-NEXT-9pQ2wE4rT6';
const THIRD = 'ec-THIRD-5tY7uI9oP1';
const OLD = 'ec-OLD-2025-a1b2c3';
const ALL_IDS = [ID, NEXT, THIRD, OLD];

const policy = (...statements: unknown[]) => ({ Version: '2012-10-17', Statement: statements });
const allow = (principal: unknown, extra: Record<string, unknown> = {}) => ({
  Effect: 'Allow',
  Principal: { AWS: principal },
  Action: 'sts:AssumeRole',
  ...extra,
});
const requireIds = (ids: string | string[], operator = 'StringEquals') => ({
  Condition: { [operator]: { 'sts:ExternalId': ids } },
});

/** One RoleDetailList entry as the API returns it: the trust policy URL-encoded (pass `encode: false` for the CLI's object form). */
function roleDetail(
  name: string,
  trust: unknown,
  { path = '/', tags = [] as { Key: string; Value: string }[], encode = true } = {},
): Record<string, unknown> {
  return {
    Path: path,
    RoleName: name,
    RoleId: `AROA${name
      .toUpperCase()
      .replace(/[^A-Z0-9]/g, '')
      .padEnd(17, 'X')
      .slice(0, 17)}`,
    Arn: `arn:aws:iam::${ACCOUNT}:role${path}${name}`,
    CreateDate: '2025-03-14T10:22:31Z',
    AssumeRolePolicyDocument: encode ? encodeURIComponent(JSON.stringify(trust)) : trust,
    InstanceProfileList: [],
    RolePolicyList: [],
    AttachedManagedPolicies: [],
    Tags: tags,
    RoleLastUsed: {},
  };
}
const details = (...roles: unknown[]) => ({
  UserDetailList: [],
  GroupDetailList: [],
  RoleDetailList: roles,
  Policies: [],
});
const derive = (doc: unknown, existing: Registry | null = null) =>
  registryFromAuthorizationDetails(doc, 'auth.json', existing);
const only = (result: AuthorizationDetailsImport) => {
  expect(result.registry.roles).toHaveLength(1);
  return result.registry.roles[0]!;
};
const arnOf = (name: string, path = '/') => `arn:aws:iam::${ACCOUNT}:role${path}${name}`;

/** No note holds an external ID in full. */
function expectNoFullIds(result: AuthorizationDetailsImport): void {
  const text = JSON.stringify(result.notes);
  for (const id of ALL_IDS) expect(text).not.toContain(id);
}

describe('registryFromAuthorizationDetails: what is registered', () => {
  it.each<[string, unknown]>([
    ['a 12-digit account id', VENDOR],
    ['the account root ARN', `arn:aws:iam::${VENDOR}:root`],
    ['a role ARN', `arn:aws:iam::${VENDOR}:role/vendor-app`],
    ['a user ARN', `arn:aws:iam::${VENDOR}:user/backup-agent`],
    ['a list', [VENDOR, `arn:aws:iam::${VENDOR}:role/vendor-app`]],
  ])('registers a role trusting %s with its external ID', (_name, principal) => {
    const result = derive(
      details(roleDetail('ExampleCorpAudit', policy(allow(principal, requireIds(ID))), { path: '/vendors/' })),
    );
    expect(result).toEqual({
      registry: {
        serviceRoleArns: [],
        protectedRoleArns: [],
        roles: [
          {
            roleArn: arnOf('ExampleCorpAudit', '/vendors/'),
            vendor: 'ExampleCorpAudit',
            trustedAccounts: [VENDOR],
            externalIds: { current: ID, pending: null, retired: [] },
            response: 'alert',
            rotation: null,
          },
        ],
      },
      notes: [],
      notCrossAccount: 0,
    });
  });

  it('reads the trust policy as an object, as the AWS CLI prints it, the same as URL-encoded', () => {
    const trust = policy(allow(VENDOR, requireIds(ID)));
    expect(derive(details(roleDetail('R', trust, { encode: false })))).toEqual(derive(details(roleDetail('R', trust))));
    // And as plain JSON text.
    expect(derive(details({ ...roleDetail('R', trust), AssumeRolePolicyDocument: JSON.stringify(trust) }))).toEqual(
      derive(details(roleDetail('R', trust))),
    );
  });

  it('collects the accounts of several Allow statements', () => {
    const role = only(
      derive(
        details(
          roleDetail(
            'Multi',
            policy(
              allow(VENDOR, requireIds(ID)),
              allow([`arn:aws:iam::${OTHER}:role/r`, 'arn:aws:iam::111122223333:root'], requireIds(ID)),
            ),
          ),
        ),
      ),
    );
    expect(role.trustedAccounts).toEqual([OTHER, VENDOR]);
    expect(role.externalIds).toEqual({ current: ID, pending: null, retired: [] });
  });

  it('registers two accepted IDs as current and pending, with a note', () => {
    const result = derive(details(roleDetail('Rotating', policy(allow(VENDOR, requireIds([ID, NEXT]))))));
    expect(only(result).externalIds).toEqual({ current: ID, pending: NEXT, retired: [] });
    expect(result.notes).toEqual([
      {
        roleArn: arnOf('Rotating'),
        outcome: 'registered',
        message: expect.stringMatching(
          /^it accepts 2 external IDs; ec-7…#[0-9a-f]{8} was registered as current and ec-N…#[0-9a-f]{8} as pending$/,
        ),
        problems: [],
      },
    ]);
    expectNoFullIds(result);
  });

  it('notes that a third accepted ID cannot be expressed', () => {
    const result = derive(details(roleDetail('Three', policy(allow(VENDOR, requireIds([ID, NEXT, THIRD]))))));
    expect(only(result).externalIds).toEqual({ current: ID, pending: NEXT, retired: [] });
    expect(result.notes).toHaveLength(1);
    expect(result.notes[0]!.outcome).toBe('registered');
    expect(result.notes[0]!.message).toMatch(
      /it accepts 3 external IDs; .+; 1 more \(ec-T…#[0-9a-f]{8}\) cannot be expressed/,
    );
    expectNoFullIds(result);
  });

  it('takes the vendor name from a Vendor tag (any case), else the role name', () => {
    const trust = policy(allow(VENDOR, requireIds(ID)));
    expect(
      only(derive(details(roleDetail('R', trust, { tags: [{ Key: 'Vendor', Value: ' Example Corp ' }] })))).vendor,
    ).toBe('Example Corp');
    expect(
      only(derive(details(roleDetail('R', trust, { tags: [{ Key: 'vendor', Value: 'AnyCompany' }] })))).vendor,
    ).toBe('AnyCompany');
    expect(
      only(
        derive(
          details(
            roleDetail('R', trust, {
              tags: [
                { Key: 'vendor', Value: '  ' },
                { Key: 'team', Value: 'x' },
              ],
            }),
          ),
        ),
      ).vendor,
    ).toBe('R');
    expect(only(derive(details({ ...roleDetail('R', trust), Tags: undefined }))).vendor).toBe('R');
  });

  it('registers a role with posture problems, with a note pointing to the audit', () => {
    const result = derive(
      details(
        roleDetail(
          'Bypassed',
          policy(
            allow(VENDOR, { Sid: 'WithId', ...requireIds(ID) }),
            allow(VENDOR, { Sid: 'Tagging', Action: ['sts:AssumeRole', 'sts:TagSession'] }),
          ),
        ),
      ),
    );
    expect(only(result).externalIds.current).toBe(ID);
    expect(result.notes).toEqual([
      {
        roleArn: arnOf('Bypassed'),
        outcome: 'registered',
        message: 'the trust policy has 1 posture problem (see roleguard audit)',
        problems: [expect.objectContaining({ kind: 'condition-bypass', severity: 'critical' })],
      },
    ]);
  });

  it('registers the ID a weak condition names, and says the condition must become StringEquals', () => {
    for (const operator of ['StringEqualsIfExists', 'StringEqualsIgnoreCase', 'ForAnyValue:StringEquals']) {
      const result = derive(details(roleDetail('Weak', policy(allow(VENDOR, requireIds(ID, operator))))));
      expect(only(result).externalIds).toEqual({ current: ID, pending: null, retired: [] });
      expect(result.notes[0]!.message).toMatch(/only external-ID check is a weak condition/);
      expect(result.notes[0]!.problems.map((p) => p.kind)).toEqual(['weak-external-id-condition']);
      expectNoFullIds(result);
    }
  });

  it('leaves out sts:ExternalId values that are not valid external IDs', () => {
    const result = derive(details(roleDetail('Odd', policy(allow(VENDOR, requireIds([ID, 'has space', 'x']))))));
    expect(only(result).externalIds).toEqual({ current: ID, pending: null, retired: [] });
    expect(result.notes[0]!.message).toMatch(/some sts:ExternalId values are not valid external IDs and were left out/);
  });

  it('derives a registry that passes registry validation (contract §1)', () => {
    const result = derive(
      details(
        roleDetail('A', policy(allow(VENDOR, requireIds([ID, NEXT, THIRD]))), {
          path: '/vendors/',
          tags: [{ Key: 'Vendor', Value: 'Example Corp' }],
        }),
        roleDetail(
          'B',
          policy(allow([OTHER, `arn:aws:iam::${VENDOR}:user/u`], requireIds(ID, 'StringEqualsIfExists'))),
        ),
      ),
    );
    expect(result.registry.roles).toHaveLength(2);
    expect(validateRegistry(JSON.parse(JSON.stringify(result.registry)), 'derived')).toEqual(result.registry);
  });
});

describe('registryFromAuthorizationDetails: what is not registered', () => {
  // Required now: such a role was left out, and it is the most dangerous kind; it is registered in watch mode instead.
  it('registers a role that trusts another account without an external ID in watch mode (externalIds: none), with a note', () => {
    for (const principal of [VENDOR, `arn:aws:iam::${VENDOR}:user/backup-agent`]) {
      const result = derive(details(roleDetail('LegacyBackupVendor', policy(allow(principal)))));
      expect(result.registry.roles).toEqual([
        {
          roleArn: arnOf('LegacyBackupVendor'),
          vendor: 'LegacyBackupVendor',
          trustedAccounts: [VENDOR],
          externalIds: { current: null, pending: null, retired: [] },
          response: 'alert',
          rotation: null,
          noExternalId: true,
        },
      ]);
      expect(result.notCrossAccount).toBe(0);
      expect(result.notes).toEqual([
        {
          roleArn: arnOf('LegacyBackupVendor'),
          outcome: 'watch',
          message: `it trusts ${VENDOR} without requiring an external ID: registered in watch mode (externalIds: none), so every assume from another account is a missing-external-id finding; add a StringEquals sts:ExternalId condition, then register the ID`,
          problems: [expect.objectContaining({ kind: 'no-external-id', severity: 'critical' })],
        },
      ]);
      // The derived registry is a valid registry file, and reads back as the same registry.
      expect(validateRegistry(registryToDocument(result.registry), 'derived')).toEqual(result.registry);
    }
  });

  it('registers a role in watch mode as alert-only, keeping the vendor name, and says what it changed', () => {
    const existing: Registry = {
      serviceRoleArns: [],
      protectedRoleArns: [],
      roles: [
        {
          roleArn: arnOf('LegacyBackupVendor'),
          vendor: 'Legacy Backup Inc',
          trustedAccounts: [VENDOR],
          externalIds: { current: ID, pending: null, retired: [] },
          response: 'revoke',
          rotation: { everyDays: 90, graceDays: 7 },
        },
      ],
    };
    const result = derive(details(roleDetail('LegacyBackupVendor', policy(allow(VENDOR)))), existing);
    expect(only(result)).toMatchObject({
      vendor: 'Legacy Backup Inc',
      response: 'alert',
      rotation: null,
      noExternalId: true,
    });
    expect(result.notes[0]!.message).toContain('(response revoke became alert; its rotation schedule was dropped)');
    expectNoFullIds(result);
  });

  it('skips a role any AWS account may assume', () => {
    const result = derive(
      details(
        roleDetail('Open', policy({ Effect: 'Allow', Principal: '*', Action: 'sts:AssumeRole', ...requireIds(ID) })),
      ),
    );
    expect(result.registry.roles).toEqual([]);
    expect(result.notes).toEqual([
      expect.objectContaining({ outcome: 'skipped', message: expect.stringMatching(/any AWS account/) }),
    ]);
    expectNoFullIds(result);
  });

  it('skips a role whose trust policy cannot be read, with a note', () => {
    const result = derive(details({ ...roleDetail('Broken', null), AssumeRolePolicyDocument: '%7Bnot json' }));
    expect(result.registry.roles).toEqual([]);
    expect(result.notCrossAccount).toBe(0);
    expect(result.notes).toEqual([
      {
        roleArn: arnOf('Broken'),
        outcome: 'skipped',
        message: 'its trust policy could not be read',
        problems: [expect.objectContaining({ kind: 'unreadable-policy' })],
      },
    ]);
  });

  it('counts same-account, service, SAML, OIDC, service-linked and Identity Center roles as not cross-account', () => {
    const result = derive(
      details(
        roleDetail(
          'BreakGlass',
          policy(
            allow(`arn:aws:iam::${ACCOUNT}:root`, { Condition: { Bool: { 'aws:MultiFactorAuthPresent': 'true' } } }),
          ),
        ),
        roleDetail('Admins', policy(allow([ACCOUNT, `arn:aws:iam::${ACCOUNT}:role/admin`]))),
        roleDetail(
          'ingest-lambda-role',
          policy({ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }),
          { path: '/service-role/' },
        ),
        roleDetail(
          'SamlAdmin',
          policy({
            Effect: 'Allow',
            Principal: { Federated: `arn:aws:iam::${ACCOUNT}:saml-provider/idp` },
            Action: 'sts:AssumeRoleWithSAML',
            Condition: { StringEquals: { 'SAML:aud': 'https://signin.aws.amazon.com/saml' } },
          }),
        ),
        roleDetail(
          'GithubDeploy',
          policy({
            Effect: 'Allow',
            Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com` },
            Action: ['sts:AssumeRoleWithWebIdentity', 'sts:TagSession'],
          }),
        ),
        // Service-linked roles are counted whatever their policy says.
        roleDetail('AWSServiceRoleForSupport', policy(allow(VENDOR)), {
          path: '/aws-service-role/support.amazonaws.com/',
        }),
        roleDetail(
          'AWSReservedSSO_PlatformAdmin_0123456789abcdef',
          policy({
            Effect: 'Allow',
            Principal: { Federated: `arn:aws:iam::${ACCOUNT}:saml-provider/AWSSSO_0123456789abcdef_DO_NOT_DELETE` },
            Action: ['sts:AssumeRoleWithSAML', 'sts:TagSession'],
          }),
          { path: '/aws-reserved/sso.amazonaws.com/' },
        ),
      ),
    );
    expect(result).toEqual({
      registry: { serviceRoleArns: [], protectedRoleArns: [], roles: [] },
      notes: [],
      notCrossAccount: 7,
    });
  });

  it('reads a mixed export: registered, in watch mode and not cross-account, in order', () => {
    const result = derive(
      details(
        roleDetail('Vendor', policy(allow(VENDOR, requireIds(ID)))),
        roleDetail('Legacy', policy(allow(OTHER))),
        roleDetail(
          'Lambda',
          policy({ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }),
        ),
        roleDetail('Rotating', policy(allow(OTHER, requireIds([NEXT, ID])))),
      ),
    );
    expect(result.registry.roles.map((r) => r.roleArn)).toEqual([arnOf('Vendor'), arnOf('Legacy'), arnOf('Rotating')]);
    expect(result.notes.map((n) => [n.roleArn, n.outcome])).toEqual([
      [arnOf('Legacy'), 'watch'],
      [arnOf('Rotating'), 'registered'],
    ]);
    expect(result.notCrossAccount).toBe(1);
    expect(derive(details()).registry.roles).toEqual([]);
  });
});

describe('registryFromAuthorizationDetails: the registry in place', () => {
  const existingRole = (over: Partial<RegisteredRole> = {}): RegisteredRole => ({
    roleArn: arnOf('ExampleCorpAudit', '/vendors/'),
    vendor: 'Example Corp (contract 42)',
    trustedAccounts: [VENDOR],
    externalIds: { current: ID, pending: null, retired: [OLD] },
    response: 'revoke',
    rotation: { everyDays: 90, graceDays: 7 },
    ...over,
  });
  const existing = (...roles: RegisteredRole[]): Registry => ({
    serviceRoleArns: [`arn:aws:iam::${ACCOUNT}:role/roleguard-*`],
    protectedRoleArns: [`arn:aws:iam::${ACCOUNT}:role/BreakGlass`],
    roles,
  });
  const example = (trust: unknown, path = '/vendors/') =>
    details(roleDetail('ExampleCorpAudit', trust, { path, tags: [{ Key: 'Vendor', Value: 'Tag Name' }] }));

  it('keeps vendor, response, rotation, retired IDs and the service and protected ARNs', () => {
    const result = derive(example(policy(allow(VENDOR, requireIds(ID)))), existing(existingRole()));
    expect(result.registry).toEqual(existing(existingRole()));
    expect(result.notes).toEqual([]);
  });

  it("keeps each role's approvers, also for a role registered in watch mode, and the global approvers", () => {
    const withApprovers = { ...existing(existingRole({ approvers: ['U0123ABCD'] })), approvers: ['U0GLOBAL1'] };
    const kept = derive(example(policy(allow(VENDOR, requireIds(ID)))), withApprovers);
    expect(kept.registry).toEqual(withApprovers);
    const watched = derive(example(policy(allow(VENDOR))), withApprovers);
    expect(only(watched)).toMatchObject({ noExternalId: true, approvers: ['U0123ABCD'] });
    expect(watched.registry.approvers).toEqual(['U0GLOBAL1']);
  });

  it('takes accounts and current IDs from IAM', () => {
    const result = derive(example(policy(allow([VENDOR, OTHER], requireIds(NEXT)))), existing(existingRole()));
    expect(only(result)).toEqual({
      ...existingRole(),
      trustedAccounts: [OTHER, VENDOR],
      externalIds: { current: NEXT, pending: null, retired: [OLD] },
    });
  });

  it("keeps the registry's current ID when the policy lists it second", () => {
    const role = only(derive(example(policy(allow(VENDOR, requireIds([NEXT, ID])))), existing(existingRole())));
    expect(role.externalIds).toEqual({ current: ID, pending: NEXT, retired: [OLD] });
  });

  it("keeps the registry's pending ID when the policy accepts more than two", () => {
    const role = only(
      derive(
        example(policy(allow(VENDOR, requireIds([ID, THIRD, NEXT])))),
        existing(existingRole({ externalIds: { current: ID, pending: NEXT, retired: [] } })),
      ),
    );
    expect(role.externalIds).toEqual({ current: ID, pending: NEXT, retired: [] });
  });

  it('makes pending current when the rotation finished in IAM', () => {
    const role = only(
      derive(
        example(policy(allow(VENDOR, requireIds(NEXT)))),
        existing(existingRole({ externalIds: { current: ID, pending: NEXT, retired: [OLD] } })),
      ),
    );
    expect(role.externalIds).toEqual({ current: NEXT, pending: null, retired: [OLD] });
  });

  it('keeps a retired ID retired while the policy still accepts it, and says so', () => {
    const result = derive(example(policy(allow(VENDOR, requireIds([OLD, ID])))), existing(existingRole()));
    expect(only(result).externalIds).toEqual({ current: ID, pending: null, retired: [OLD] });
    expect(result.notes).toHaveLength(1);
    expect(result.notes[0]!.message).toMatch(/still accepts retired ID ec-O…#[0-9a-f]{8}, kept as retired/);
    expectNoFullIds(result);
  });

  it('registers a retired ID again when it is the only one the policy accepts', () => {
    const role = only(derive(example(policy(allow(VENDOR, requireIds(OLD)))), existing(existingRole())));
    expect(role.externalIds).toEqual({ current: OLD, pending: null, retired: [] });
  });

  it('finds the registry entry by account and role name when the path differs', () => {
    const result = derive(example(policy(allow(VENDOR, requireIds(ID))), '/'), existing(existingRole()));
    // IAM's ARN wins; what IAM does not know is kept.
    expect(only(result)).toEqual({ ...existingRole(), roleArn: arnOf('ExampleCorpAudit') });
  });

  it('does not carry over an entry of another account with the same name', () => {
    const elsewhere = existingRole({ roleArn: 'arn:aws:iam::555566667777:role/vendors/ExampleCorpAudit' });
    const role = only(derive(example(policy(allow(VENDOR, requireIds(ID)))), existing(elsewhere)));
    expect(role).toMatchObject({ vendor: 'Tag Name', response: 'alert', rotation: null, externalIds: { retired: [] } });
  });

  it('drops registry entries IAM no longer has, and uses the tag for new roles', () => {
    const result = derive(
      details(
        roleDetail('New', policy(allow(VENDOR, requireIds(NEXT))), { tags: [{ Key: 'Vendor', Value: 'Newco' }] }),
      ),
      existing(existingRole()),
    );
    expect(result.registry.roles).toEqual([
      {
        roleArn: arnOf('New'),
        vendor: 'Newco',
        trustedAccounts: [VENDOR],
        externalIds: { current: NEXT, pending: null, retired: [] },
        response: 'alert',
        rotation: null,
      },
    ]);
    expect(result.registry.serviceRoleArns).toEqual(existing().serviceRoleArns);
  });
});

describe('registryFromAuthorizationDetails: input that is not an export', () => {
  it.each<[string, unknown]>([
    ['null', null],
    ['an array', []],
    ['no RoleDetailList', { UserDetailList: [] }],
    ['a RoleDetailList that is not a list', { RoleDetailList: {} }],
  ])('rejects %s', (_name, doc) => {
    expect(() => derive(doc)).toThrow(RegistryError);
    expect(() => derive(doc)).toThrow(/auth\.json: invalid registry:[\s\S]*RoleDetailList is missing/);
  });

  it('names every malformed role entry by its index and field, and registers nothing', () => {
    const good = roleDetail('Good', policy(allow(VENDOR, requireIds(ID))));
    let error: unknown;
    try {
      derive(
        details(
          good,
          { ...good, Arn: 42 },
          'not a role',
          { ...good, AssumeRolePolicyDocument: undefined },
          { ...good, RoleName: 'Bad', Arn: 'arn:aws:iam::111122223333:user/Bad' },
          { ...good, Tags: [{ Key: 'Vendor' }] },
        ),
      );
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(RegistryError);
    const problems = (error as RegistryError).problems;
    expect((error as RegistryError).source).toBe('auth.json');
    expect(problems).toHaveLength(5);
    expect(problems[0]).toMatch(/^RoleDetailList\[1\]: Arn: /);
    expect(problems[1]).toMatch(/^RoleDetailList\[2\]: \(role\): /);
    expect(problems[2]).toMatch(/^RoleDetailList\[3\]: AssumeRolePolicyDocument: /);
    expect(problems[3]).toBe('RoleDetailList[4] (Bad): Arn: not a valid IAM role ARN');
    expect(problems[4]).toMatch(/^RoleDetailList\[5\]: Tags\.0\.Value: /);
    expect((error as Error).message).toContain('RoleDetailList[1]');
  });
});
