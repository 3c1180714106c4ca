import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { describe, expect, it } from '@jest/globals';
import {
  type CfnTemplate,
  iamRolePattern,
  SPOKE_READ_ACTIONS,
  SPOKE_WRITE_ACTIONS,
  spokeGlobalTemplate,
  spokeGlobalTemplateBody,
  spokeRegionalTemplate,
  spokeRegionalTemplateBody,
  stsAssumePattern,
} from '../../../lib/org/index.js';
import { HUB_ROLE_SHORT_NAMES } from '../../../lib/org/spoke-parts.js';
import { resolve, type Stack, type Template } from '../../helpers/cfn.js';
import { ROOT } from '../../helpers/fixtures.js';

const HUB = '111111111111';
const MEMBER = '222222222222';
const STRANGER = '333333333333';
const ORG = 'o-a1b2c3d4e5';
const HOME = 'eu-west-1';
const PARAMS = { Stage: 'prod', HubAccountId: HUB, HubRegion: HOME, OrgId: ORG };
const HUB_BUS = `arn:aws:events:${HOME}:${HUB}:event-bus/roleguard-prod-org`;
const REGIONS = ['us-east-1', HOME, 'ap-southeast-2'];

type Resources = Record<string, { Type: string; Properties: Record<string, any> }>;

/** The resources CloudFormation would create for one stack: conditions applied, intrinsics resolved. */
function deploy(template: CfnTemplate, stack: Stack): Resources {
  const t = template as unknown as Template;
  const out: Resources = {};
  for (const [id, r] of Object.entries(t.Resources)) {
    if (r.Condition && !resolve(t, stack, { 'Fn::If': [r.Condition, true, false] })) continue;
    out[id] = { Type: r.Type, Properties: resolve(t, stack, r.Properties) };
  }
  return out;
}

const stackIn = (region: string, parameters: Record<string, string> = {}, accountId = MEMBER): Stack => ({
  region,
  accountId,
  parameters: { ...PARAMS, ...parameters },
});

type Verdict = 'Allowed' | 'Denied';

interface Request {
  principal: string;
  action: string;
  resource: string;
  accountId: string;
  context?: Record<string, string>;
  identity?: unknown[];
  resourcePolicy?: unknown;
}

async function simulate(r: Request) {
  const result = await runSimulation(
    {
      request: {
        principal: r.principal,
        action: r.action,
        resource: { resource: r.resource, accountId: r.accountId },
        contextVariables: { 'aws:SecureTransport': 'true', ...r.context },
      },
      identityPolicies: (r.identity ?? []).map((policy, i) => ({ name: `p${i}`, policy })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(r.resourcePolicy ? { resourcePolicy: r.resourcePolicy } : {}),
    },
    {},
  );
  if (result.resultType === 'error')
    throw new Error(`the evaluator rejected ${r.action}: ${JSON.stringify(result.errors)}`);
  if (result.resultType !== 'single') throw new Error(`one request gave ${result.resultType} results`);
  return result;
}

async function judge(r: Request): Promise<Verdict> {
  return (await simulate(r)).overallResult === 'Allowed' ? 'Allowed' : 'Denied';
}

/**
 * What the identity policies alone decide. The evaluator also models IAM's own refusal to modify aws-reserved roles;
 * this shows that the spoke's explicit Deny refuses them too.
 */
async function identityDecision(r: Request): Promise<string> {
  const { result } = await simulate(r);
  return (result as { analysis: { identityAnalysis: { result: string } } }).analysis.identityAnalysis.result;
}

const policiesOf = (role: { Properties: Record<string, any> }): unknown[] =>
  (role.Properties.Policies as { PolicyDocument: unknown }[]).map((p) => p.PolicyDocument);

describe('the regional spoke', () => {
  it.each(REGIONS)(
    'in %s, forwards STS assumes to the hub bus with all management events, AWS services dropped',
    (region) => {
      const { StsAssumeRule: rule } = deploy(spokeRegionalTemplate(), stackIn(region));
      expect(rule!.Properties.State).toBe('ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS');
      expect(rule!.Properties.EventPattern).toEqual(stsAssumePattern(false));
      expect(rule!.Properties.Targets).toEqual([
        {
          Id: 'roleguard-hub-bus',
          Arn: HUB_BUS,
          RoleArn: `arn:aws:iam::${MEMBER}:role/roleguard-prod-forwarder-${region}`,
          RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 },
        },
      ]);
    },
  );

  it('forwards AWS-service assumes too when RecordAwsServiceAssumes is "true"', () => {
    const { StsAssumeRule: rule } = deploy(spokeRegionalTemplate(), stackIn(HOME, { RecordAwsServiceAssumes: 'true' }));
    expect(rule!.Properties.EventPattern).toEqual(stsAssumePattern(true));
    expect(JSON.stringify(rule!.Properties.EventPattern)).not.toContain('AWSService');
  });

  it('holds the IAM rule (plain ENABLED, to the hub bus) in us-east-1 only', () => {
    for (const region of REGIONS) {
      const { IamRoleRule: rule, StsAssumeRule: sts } = deploy(spokeRegionalTemplate(), stackIn(region));
      if (region !== 'us-east-1') {
        expect(rule).toBeUndefined();
        continue;
      }
      expect(rule!.Properties.State).toBe('ENABLED');
      expect(rule!.Properties.EventPattern).toEqual(iamRolePattern());
      expect(rule!.Properties.Targets).toEqual(sts!.Properties.Targets);
    }
  });

  it('names the forwarder role after its Region, so the StackSet instances of one account do not collide', () => {
    const names = REGIONS.map(
      (region) => deploy(spokeRegionalTemplate(), stackIn(region)).ForwarderRole!.Properties.RoleName,
    );
    expect(new Set(names).size).toBe(REGIONS.length);
    const longest = deploy(spokeRegionalTemplate(), stackIn('ap-southeast-5', { Stage: 'x'.repeat(24) }));
    expect(longest.ForwarderRole!.Properties.RoleName.length).toBeLessThanOrEqual(64);
  });

  it.each(REGIONS)('in %s, lets the forwarder put events on the hub bus and nowhere else', async (region) => {
    const role = deploy(spokeRegionalTemplate(), stackIn(region)).ForwarderRole!;
    const principal = `arn:aws:sts::${MEMBER}:assumed-role/${role.Properties.RoleName}/events`;
    // Every bus of another account here admits the whole organization, as the hub's does, and the member's own
    // default bus has no policy (as by default): only the forwarder's own policy decides.
    const orgBusPolicy = (bus: string) => ({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: '*',
          Action: 'events:PutEvents',
          Resource: bus,
          Condition: { StringEquals: { 'aws:PrincipalOrgID': ORG } },
        },
      ],
    });
    const put = (bus: string, accountId: string) =>
      judge({
        principal,
        action: 'events:PutEvents',
        resource: bus,
        accountId,
        context: { 'aws:PrincipalOrgID': ORG },
        identity: policiesOf(role),
        ...(accountId === MEMBER ? {} : { resourcePolicy: orgBusPolicy(bus) }),
      });
    expect(await put(HUB_BUS, HUB)).toBe('Allowed');
    expect(await put(`arn:aws:events:${HOME}:${HUB}:event-bus/default`, HUB)).toBe('Denied');
    expect(await put(`arn:aws:events:${HOME}:${HUB}:event-bus/roleguard-dev-org`, HUB)).toBe('Denied');
    expect(await put(`arn:aws:events:us-west-2:${HUB}:event-bus/roleguard-prod-org`, HUB)).toBe('Denied');
    expect(await put(`arn:aws:events:${region}:${MEMBER}:event-bus/default`, MEMBER)).toBe('Denied');
    expect(await put(`arn:aws:events:${HOME}:${STRANGER}:event-bus/roleguard-prod-org`, STRANGER)).toBe('Denied');
    const actions = policiesOf(role).flatMap((d: any) => d.Statement.flatMap((s: any) => [s.Action].flat()));
    expect(actions).toEqual(['events:PutEvents']);
  });

  it("is assumable by EventBridge for this account's rules only", async () => {
    const role = deploy(spokeRegionalTemplate(), stackIn(HOME)).ForwarderRole!;
    const arn = `arn:aws:iam::${MEMBER}:role/${role.Properties.RoleName}`;
    const assume = (sourceAccount: string) =>
      judge({
        principal: 'events.amazonaws.com',
        action: 'sts:AssumeRole',
        resource: arn,
        accountId: MEMBER,
        context: { 'aws:SourceAccount': sourceAccount },
        resourcePolicy: role.Properties.AssumeRolePolicyDocument,
      });
    expect(await assume(MEMBER)).toBe('Allowed');
    expect(await assume(STRANGER)).toBe('Denied');
  });
});

const HUB_ROLE = `arn:aws:iam::${HUB}:role/roleguard-prod-hub-on-assume-role`;
const sessionOf = (roleArn: string, session = 'lambda') =>
  `${roleArn.replace(':iam::', ':sts::').replace(':role/', ':assumed-role/')}/${session}`;

describe('the global spoke role', () => {
  const spoke = (parameters: Record<string, string> = {}) =>
    deploy(spokeGlobalTemplate(), stackIn('us-east-1', parameters)).SpokeRole!;

  it('is named roleguard-<stage>-spoke', () => {
    expect(spoke().Properties.RoleName).toBe('roleguard-prod-spoke');
  });

  describe('trust', () => {
    const assume = async (
      principalRole: string,
      { org = ORG, session = 'roleguard-revoke', parameters = {} as Record<string, string> } = {},
    ) => {
      const role = spoke(parameters);
      return judge({
        principal: sessionOf(principalRole),
        action: 'sts:AssumeRole',
        resource: `arn:aws:iam::${MEMBER}:role/roleguard-prod-spoke`,
        accountId: MEMBER,
        context: {
          'aws:PrincipalArn': principalRole,
          'sts:RoleSessionName': session,
          ...(org ? { 'aws:PrincipalOrgID': org } : {}),
        },
        identity: [
          { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: '*' }] },
        ],
        resourcePolicy: role.Properties.AssumeRolePolicyDocument,
      });
    };

    it("lets the hub's roles in, with a roleguard-* session, from the organization", async () => {
      expect(await assume(HUB_ROLE)).toBe('Allowed');
      expect(
        await assume(`arn:aws:iam::${HUB}:role/roleguard-prod-hub-rotate-external-ids`, {
          session: 'roleguard-rotate',
        }),
      ).toBe('Allowed');
      for (const short of HUB_ROLE_SHORT_NAMES)
        expect(await assume(`arn:aws:iam::${HUB}:role/roleguard-prod-hub-${short}`)).toBe('Allowed');
    });

    it('keeps out a role of the hub account merely named like a hub role, at the root or under a path', async () => {
      expect(await assume(`arn:aws:iam::${HUB}:role/roleguard-prod-hub-attacker`)).toBe('Denied');
      expect(await assume(`arn:aws:iam::${HUB}:role/roleguard-prod-hub-x/Evil`)).toBe('Denied');
      expect(await assume(`arn:aws:iam::${HUB}:role/roleguard-prod-hub-on-assume-role/Evil`)).toBe('Denied');
      expect(await assume(`arn:aws:iam::${HUB}:role/roleguard-prod-hub-sweep2`)).toBe('Denied');
    });

    it('trusts exactly the hub roles serverless.yml names (roleguard-<stage>-hub-<short>)', () => {
      const yml = readFileSync(join(ROOT, 'serverless.yml'), 'utf8');
      const named = [...yml.matchAll(/RoleName: \$\{self:service\}-\$\{sls:stage\}-hub-(\S+)/g)].map((m) => m[1]);
      expect([...named].sort()).toEqual([...HUB_ROLE_SHORT_NAMES].sort());
      const trusted = spoke().Properties.AssumeRolePolicyDocument.Statement[0].Condition.ArnEquals['aws:PrincipalArn'];
      expect(trusted).toEqual(
        HUB_ROLE_SHORT_NAMES.map((short) => `arn:aws:iam::${HUB}:role/roleguard-prod-hub-${short}`),
      );
    });

    it('keeps out another principal of the hub account', async () => {
      expect(await assume(`arn:aws:iam::${HUB}:role/Admin`)).toBe('Denied');
      expect(await assume(`arn:aws:iam::${HUB}:role/roleguard-dev-hub-on-assume-role`)).toBe('Denied');
      expect(await assume(`arn:aws:iam::${HUB}:user/roleguard-prod-hub-x`)).toBe('Denied');
    });

    it('keeps out a principal of another organization', async () => {
      expect(
        await assume(`arn:aws:iam::${STRANGER}:role/roleguard-prod-hub-on-assume-role`, { org: 'o-zzzzzzzzzz' }),
      ).toBe('Denied');
      // Even one whose ARN is the hub's, should the hub account leave the organization.
      expect(await assume(HUB_ROLE, { org: 'o-zzzzzzzzzz' })).toBe('Denied');
      expect(await assume(HUB_ROLE, { org: '' })).toBe('Denied');
    });

    it('keeps out a session not named roleguard-*', async () => {
      expect(await assume(HUB_ROLE, { session: 'admin' })).toBe('Denied');
      expect(await assume(HUB_ROLE, { session: 'x-roleguard-revoke' })).toBe('Denied');
    });

    it('without an organization id, trusts the hub roles of the hub account alone', async () => {
      const parameters = { OrgId: '' };
      expect(spoke(parameters).Properties.AssumeRolePolicyDocument.Statement[0].Condition.StringEquals).toBeUndefined();
      expect(await assume(HUB_ROLE, { org: '', parameters })).toBe('Allowed');
      expect(await assume(`arn:aws:iam::${HUB}:role/Admin`, { org: '', parameters })).toBe('Denied');
      expect(await assume(`arn:aws:iam::${STRANGER}:role/roleguard-prod-hub-x`, { org: '', parameters })).toBe(
        'Denied',
      );
    });
  });

  describe('permissions', () => {
    const SPOKE_SESSION = `arn:aws:sts::${MEMBER}:assumed-role/roleguard-prod-spoke/roleguard-revoke`;
    const write = (role: { Properties: Record<string, any> }, action: string, roleName: string, tagged: boolean) => ({
      principal: SPOKE_SESSION,
      action,
      resource: `arn:aws:iam::${MEMBER}:role/${roleName}`,
      accountId: MEMBER,
      context: tagged ? { 'aws:ResourceTag/roleguard:guarded': 'true' } : ({} as Record<string, string>),
      identity: policiesOf(role),
    });
    const call = (role: { Properties: Record<string, any> }, action: string, roleName: string, tagged: boolean) =>
      judge(write(role, action, roleName, tagged));

    it.each(['false', 'true'])('always reads (AllowWrites=%s)', async (allow) => {
      const role = spoke({ AllowWrites: allow });
      for (const action of SPOKE_READ_ACTIONS)
        expect(await call(role, action, 'vendors/ExampleCorpAudit', false)).toBe('Allowed');
      const details = await judge({
        principal: SPOKE_SESSION,
        action: 'iam:GetAccountAuthorizationDetails',
        resource: '*',
        accountId: MEMBER,
        identity: policiesOf(role),
      });
      expect(details).toBe('Allowed');
    });

    it('writes nothing when AllowWrites is "false" (the default)', async () => {
      for (const role of [spoke(), spoke({ AllowWrites: 'false' })]) {
        const actions = JSON.stringify(policiesOf(role));
        for (const action of SPOKE_WRITE_ACTIONS) {
          expect(actions).not.toContain(action);
          expect(await call(role, action, 'vendors/ExampleCorpAudit', true)).toBe('Denied');
        }
      }
    });

    it('writes on a role tagged roleguard:guarded=true, and not on an untagged one', async () => {
      const role = spoke({ AllowWrites: 'true' });
      for (const action of SPOKE_WRITE_ACTIONS) {
        expect(await call(role, action, 'vendors/ExampleCorpAudit', true)).toBe('Allowed');
        expect(await call(role, action, 'ExampleCorpAudit', true)).toBe('Allowed');
        expect(await call(role, action, 'vendors/ExampleCorpAudit', false)).toBe('Denied');
      }
    });

    it.each([
      ['a service-linked role', 'aws-service-role/support.amazonaws.com/AWSServiceRoleForSupport'],
      ['an IAM Identity Center role', 'aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_0123456789abcdef'],
      ['the spoke role itself', 'roleguard-prod-spoke'],
      ["another stage's roleguard role", 'roleguard-dev-forwarder-us-east-1'],
      ['a roleguard role under a path', 'security/roleguard-prod-spoke'],
      ['the StackSets execution role', 'AWSCloudFormationStackSetExecutionRole'],
      ["a service-managed StackSet's role", 'stacksets-exec-0123456789abcdef0123456789abcdef'],
      ['the Control Tower execution role', 'AWSControlTowerExecution'],
      ['a Control Tower role', 'aws-controltower-AdministratorExecutionRole'],
    ])('never writes %s, even tagged', async (_what, roleName) => {
      const role = spoke({ AllowWrites: 'true' });
      for (const action of SPOKE_WRITE_ACTIONS) {
        expect(await call(role, action, roleName, true)).toBe('Denied');
        expect(await identityDecision(write(role, action, roleName, true))).toBe('ExplicitlyDenied');
      }
    });
  });
});

describe('the global spoke read role (roleguard-<stage>-spoke-read)', () => {
  const OPERATOR = `arn:aws:iam::${HUB}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_SecurityAudit_0123456789abcdef`;
  const resources = (parameters: Record<string, string> = {}) =>
    deploy(spokeGlobalTemplate(), stackIn('us-east-1', parameters));
  const assume = (
    role: { Properties: Record<string, any> },
    principalRole: string,
    { session = 'roleguard-import', org = ORG } = {},
  ) =>
    judge({
      principal: sessionOf(principalRole, 'alice'),
      action: 'sts:AssumeRole',
      resource: `arn:aws:iam::${MEMBER}:role/${role.Properties.RoleName}`,
      accountId: MEMBER,
      context: { 'aws:PrincipalArn': principalRole, 'sts:RoleSessionName': session, 'aws:PrincipalOrgID': org },
      identity: [{ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: '*' }] }],
      resourcePolicy: role.Properties.AssumeRolePolicyDocument,
    });

  it('trusts the hub roles, and the operators of OperatorPrincipalArns only when given, never on the responder role', async () => {
    const none = resources().SpokeReadRole!;
    expect(none.Properties.RoleName).toBe('roleguard-prod-spoke-read');
    expect(await assume(none, HUB_ROLE)).toBe('Allowed');
    expect(await assume(none, OPERATOR)).toBe('Denied');
    const given = resources({ OperatorPrincipalArns: `${OPERATOR},arn:aws:iam::${MEMBER}:user/ops` });
    expect(await assume(given.SpokeReadRole!, OPERATOR)).toBe('Allowed');
    expect(await assume(given.SpokeReadRole!, `arn:aws:iam::${HUB}:role/Admin`)).toBe('Denied');
    expect(await assume(given.SpokeReadRole!, OPERATOR, { session: 'alice' })).toBe('Denied');
    expect(await assume(given.SpokeReadRole!, OPERATOR, { org: 'o-zzzzzzzzzz' })).toBe('Denied');
    // The responder role (the writes) never trusts an operator.
    expect(await assume(given.SpokeRole!, OPERATOR)).toBe('Denied');
  });

  it('reads and never writes, whatever AllowWrites says', async () => {
    const role = resources({ AllowWrites: 'true' }).SpokeReadRole!;
    const principal = `arn:aws:sts::${MEMBER}:assumed-role/roleguard-prod-spoke-read/roleguard-import`;
    const call = (action: string, resource: string) =>
      judge({
        principal,
        action,
        resource,
        accountId: MEMBER,
        context: { 'aws:ResourceTag/roleguard:guarded': 'true' },
        identity: policiesOf(role),
      });
    expect(await call('iam:GetAccountAuthorizationDetails', '*')).toBe('Allowed');
    for (const action of SPOKE_READ_ACTIONS)
      expect(await call(action, `arn:aws:iam::${MEMBER}:role/vendors/ExampleCorpAudit`)).toBe('Allowed');
    for (const action of SPOKE_WRITE_ACTIONS)
      expect(await call(action, `arn:aws:iam::${MEMBER}:role/vendors/ExampleCorpAudit`)).toBe('Denied');
  });

  it('refuses an OperatorPrincipalArns value with a wildcard', () => {
    const pattern = new RegExp(spokeGlobalTemplate().Parameters.OperatorPrincipalArns!.AllowedPattern!);
    expect(pattern.test('')).toBe(true);
    expect(pattern.test(`arn:aws:iam::${HUB}:role/a,arn:aws:iam::${MEMBER}:user/ops`)).toBe(true);
    expect(pattern.test(`arn:aws:iam::${HUB}:role/*`)).toBe(false);
    expect(pattern.test('*')).toBe(false);
  });
});

describe('the template bodies', () => {
  it('are JSON of the same templates, with the given defaults', () => {
    expect(JSON.parse(spokeGlobalTemplateBody())).toEqual(spokeGlobalTemplate());
    expect(JSON.parse(spokeRegionalTemplateBody())).toEqual(spokeRegionalTemplate());
    const withDefaults = JSON.parse(spokeGlobalTemplateBody({ stage: 'prod', hubAccountId: HUB, allowWrites: true }));
    expect(withDefaults.Parameters.Stage.Default).toBe('prod');
    expect(withDefaults.Parameters.HubAccountId.Default).toBe(HUB);
    expect(withDefaults.Parameters.AllowWrites.Default).toBe('true');
    expect(withDefaults.Parameters.HubRegion.Default).toBeUndefined();
    expect(withDefaults.Parameters.OrgId.Default).toBe('');
  });

  it("are what serverless.yml reads through serverless/org.cjs, as the StackSets' TemplateBody", async () => {
    const bridge = createRequire(import.meta.url)(join(ROOT, 'serverless', 'org.cjs')) as Record<
      string,
      () => Promise<string>
    >;
    expect(JSON.parse(await bridge.spokeGlobalTemplateBody!())).toEqual(spokeGlobalTemplate());
    expect(JSON.parse(await bridge.spokeRegionalTemplateBody!())).toEqual(spokeRegionalTemplate());
  });

  it('fit in a TemplateBody (51,200 bytes)', () => {
    expect(Buffer.byteLength(spokeGlobalTemplateBody())).toBeLessThan(51_200);
    expect(Buffer.byteLength(spokeRegionalTemplateBody())).toBeLessThan(51_200);
  });

  it('take the parameters the StackSets pass', () => {
    expect(Object.keys(spokeGlobalTemplate().Parameters).sort()).toEqual(
      ['AllowWrites', 'HubAccountId', 'HubRegion', 'OperatorPrincipalArns', 'OrgId', 'Stage'].sort(),
    );
    expect(Object.keys(spokeRegionalTemplate().Parameters).sort()).toEqual(
      ['HubAccountId', 'HubRegion', 'OrgId', 'RecordAwsServiceAssumes', 'Stage'].sort(),
    );
  });
});
