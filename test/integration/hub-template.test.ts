import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { BATCH_TIME_MARGIN_MS, RECORD_WORST_CASE_MS } from '../../lib/queue-handler.js';
import { resolve, type Stack, type Template } from '../helpers/cfn.js';
import { ROOT } from '../helpers/fixtures.js';
import { type AwsCall, proveRole } from '../helpers/iam-proof.js';

// The organization hub as osls packages it (issue 15), with an organization and without one (an organization of one).
const ORG = 'o-abc123def4';
const OTHER_ORG = 'o-zzz999yyy8';
const MEMBER = '444455556666';
const STACK: Stack = { region: 'eu-west-1', accountId: '111122223333' };
const HUB_ROLES: Record<string, string> = {
  OnAssumeRoleRole: 'on-assume-role',
  OnTrustPolicyChangeRole: 'on-trust-policy-change',
  RevokeRole: 'revoke',
  SweepRole: 'sweep',
  RotateExternalIdsRole: 'rotate-external-ids',
  AuditTrustPoliciesRole: 'audit-trust-policies',
  SlackActionWorkerRole: 'slack-action-worker',
};
const ENV = {
  ...process.env,
  AWS_ACCESS_KEY_ID: '',
  AWS_SECRET_ACCESS_KEY: '',
  AWS_PROFILE: '',
  SLS_TELEMETRY_DISABLED: '1',
  SLS_NOTIFICATIONS_MODE: 'off',
};
let out: string;
let withOrg: Template;
let alone: Template;

function osls(target: string, params: string[]) {
  return execFileSync(
    join(ROOT, 'node_modules', '.bin', 'osls'),
    [
      'package',
      '--stage',
      'test',
      '--region',
      STACK.region,
      '--package',
      target,
      ...params.flatMap((p) => ['--param', p]),
    ],
    { cwd: ROOT, env: { ...ENV, TMPDIR: out }, stdio: 'pipe', encoding: 'utf8' },
  );
}
const packaged = (dir: string): Template =>
  JSON.parse(readFileSync(join(out, dir, 'cloudformation-template-update-stack.json'), 'utf8'));

beforeAll(() => {
  out = mkdtempSync(join(tmpdir(), 'roleguard-hub-'));
  // recordAwsServiceAssumes and spokeFailureToleranceCount away from their defaults: the StackSets follow the params.
  osls(join(out, 'org'), [
    `orgId=${ORG}`,
    'homeRegion=eu-west-1',
    'spokeOrganizationalUnits=r-ab12',
    'recordAwsServiceAssumes=true',
    'spokeFailureToleranceCount=3',
  ]);
  osls(join(out, 'alone'), []);
  withOrg = packaged('org');
  alone = packaged('alone');
}, 240_000);
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** Whether a resource exists in the deployed stack (its Condition, if any, holds). */
const deployed = (template: Template, id: string): boolean => {
  const condition = template.Resources[id]?.Condition;
  if (!template.Resources[id]) return false;
  return condition ? resolve(template, STACK, { 'Fn::If': [condition, true, false] }) : true;
};
const props = (template: Template, id: string) => resolve(template, STACK, template.Resources[id]!.Properties);
const ofType = (template: Template, type: string) =>
  Object.entries(template.Resources).filter(([, r]) => r.Type === type);

/** May `principal` (with its own policy allowing it) put events on the hub bus, per the bus's policy? */
async function mayPut(template: Template, principal: string, principalOrgId: string): Promise<string> {
  const bus = props(template, 'HubEventBus');
  const busArn = `arn:aws:events:eu-west-1:${STACK.accountId}:event-bus/roleguard-test-org`;
  const result = await runSimulation(
    {
      request: {
        principal,
        action: 'events:PutEvents',
        resource: { resource: busArn, accountId: STACK.accountId },
        contextVariables: { 'aws:PrincipalOrgID': principalOrgId, 'aws:PrincipalArn': principal },
      },
      identityPolicies: [
        {
          name: 'forwarder',
          policy: {
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: 'events:PutEvents', Resource: busArn }],
          },
        },
      ],
      resourcePolicy: bus.Policy,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    },
    {},
  );
  if (result.resultType === 'error') throw new Error(JSON.stringify(result.errors));
  return result.overallResult;
}

describe('the organization hub, packaged with orgId and homeRegion', () => {
  it('the hub bus admits the organization with one statement, never one per account', async () => {
    const bus = props(withOrg, 'HubEventBus');
    expect(bus.Name).toBe('roleguard-test-org');
    expect(bus.Policy.Statement).toEqual([
      {
        Sid: 'OrganizationPutsEvents',
        Effect: 'Allow',
        Principal: '*',
        Action: 'events:PutEvents',
        Resource: 'arn:aws:events:eu-west-1:111122223333:event-bus/roleguard-test-org',
        Condition: {
          StringEquals: { 'aws:PrincipalOrgID': ORG },
          ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam::*:role/roleguard-test-forwarder-*' },
        },
      },
    ]);
    // Judged: a forwarder of a member account gets in; one of another organization does not, nor does any other
    // principal of a member account (it could forge events that look like CloudTrail's). (A principal of the hub
    // account needs no bus policy: its own identity policy is enough within its account.)
    const forwarder = `arn:aws:iam::${MEMBER}:role/roleguard-test-forwarder-eu-west-2`;
    expect(await mayPut(withOrg, forwarder, ORG)).toBe('Allowed');
    expect(await mayPut(withOrg, forwarder, OTHER_ORG)).not.toBe('Allowed');
    for (const other of [
      `arn:aws:iam::${MEMBER}:role/OrganizationAccountAccessRole`,
      `arn:aws:iam::${MEMBER}:role/roleguard-prod-forwarder-eu-west-2`,
      `arn:aws:iam::${MEMBER}:user/alice`,
    ])
      expect([other, await mayPut(withOrg, other, ORG)]).toEqual([other, expect.not.stringMatching(/^Allowed$/)]);
    expect(ofType(withOrg, 'AWS::Events::EventBusPolicy')).toEqual([]);
  });

  it('STS events of the spokes and of the home Region take one path: a queue with a redrive to its dead-letter queue', () => {
    const queue = props(withOrg, 'StsEventsQueue');
    const dlq = props(withOrg, 'StsEventsDeadLetterQueue');
    // (The function's code location refers to the deployment bucket, which the resolver does not model.)
    const fn = withOrg.Resources.OnAssumeRoleLambdaFunction!.Properties;
    expect(queue).toMatchObject({
      QueueName: 'roleguard-test-sts-events',
      SqsManagedSseEnabled: true,
      RedrivePolicy: {
        deadLetterTargetArn: 'arn:aws:sqs:eu-west-1:111122223333:roleguard-test-sts-events-dead-letter',
        maxReceiveCount: 5,
      },
    });
    expect(dlq).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 1209600 });
    // A batch in flight is not handed out again: at least 6 times the function's timeout, plus its batching window.
    const mapping = ofType(withOrg, 'AWS::Lambda::EventSourceMapping').map(([, m]) => m.Properties);
    expect(mapping).toHaveLength(2);
    const stsMapping = mapping.find((m) => JSON.stringify(m.EventSourceArn).includes('StsEventsQueue'))!;
    expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(6 * fn.Timeout + stsMapping.MaximumBatchingWindowInSeconds);
    // A batch stops starting records one record's worst case before the timeout, and still has 30 s to work (the
    // old timeout) before it does.
    expect(BATCH_TIME_MARGIN_MS).toBeGreaterThanOrEqual(RECORD_WORST_CASE_MS);
    expect(fn.Timeout * 1000).toBeGreaterThanOrEqual(BATCH_TIME_MARGIN_MS + 30_000);
    expect(resolve(withOrg, STACK, stsMapping)).toMatchObject({
      EventSourceArn: 'arn:aws:sqs:eu-west-1:111122223333:roleguard-test-sts-events',
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 10 },
      Enabled: true,
    });
    expect(JSON.stringify(stsMapping.FunctionName)).toContain('OnAssumeRoleLambdaFunction');
    // The reserved concurrency leaves room for the queue's maximum concurrency (or the surplus would be throttled).
    expect(fn.ReservedConcurrentExecutions).toBeGreaterThanOrEqual(stsMapping.ScalingConfig.MaximumConcurrency);
    // Both STS rules (the hub bus's, the default bus's in the home Region) target the queue, and only they may send.
    const sts = props(withOrg, 'HubAssumeRoleEventsRule');
    const own = props(withOrg, 'AssumeRoleEventsRule');
    // AssumeRole* are read-only CloudTrail management events: a plain ENABLED rule skips them on any bus.
    expect(sts).toMatchObject({
      EventBusName: 'roleguard-test-org',
      State: 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS',
    });
    expect(own.State).toBe('ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS');
    expect(sts.EventPattern).toEqual(own.EventPattern);
    for (const rule of [sts, own])
      expect(rule.Targets).toEqual([
        expect.objectContaining({
          Arn: 'arn:aws:sqs:eu-west-1:111122223333:roleguard-test-sts-events',
          DeadLetterConfig: { Arn: 'arn:aws:sqs:eu-west-1:111122223333:roleguard-test-dead-letter' },
        }),
      ]);
    expect(props(withOrg, 'StsEventsQueuePolicy').PolicyDocument.Statement).toEqual([
      {
        Sid: 'StsRulesSendEvents',
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: 'arn:aws:sqs:eu-west-1:111122223333:roleguard-test-sts-events',
        Condition: {
          ArnEquals: {
            'aws:SourceArn': [
              'arn:aws:events:eu-west-1:111122223333:rule/roleguard-test-sts-assume',
              'arn:aws:events:eu-west-1:111122223333:rule/roleguard-test-org/roleguard-test-org-sts-assume',
            ],
          },
        },
      },
    ]);
    // onAssumeRole is no longer invoked asynchronously: no retries or destinations of its own, no EventBridge grant.
    expect(withOrg.Resources.OnAssumeRoleLambdaEvConf).toBeUndefined();
    const grants = ofType(withOrg, 'AWS::Lambda::Permission').map(([, p]) => JSON.stringify(p.Properties.FunctionName));
    expect(grants.filter((g) => g.includes('OnAssumeRole'))).toEqual([]);
  });

  it('IAM events (the spokes’ and us-east-1’s own) wait in a queue for the trust-change function, in batches', () => {
    const queue = props(withOrg, 'IamEventsQueue');
    const fn = withOrg.Resources.OnTrustPolicyChangeLambdaFunction!.Properties;
    expect(queue).toMatchObject({
      QueueName: 'roleguard-test-iam-events',
      SqsManagedSseEnabled: true,
      RedrivePolicy: {
        deadLetterTargetArn: 'arn:aws:sqs:eu-west-1:111122223333:roleguard-test-iam-events-dead-letter',
        maxReceiveCount: 5,
      },
    });
    expect(props(withOrg, 'IamEventsDeadLetterQueue')).toMatchObject({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 1209600,
    });
    const mapping = ofType(withOrg, 'AWS::Lambda::EventSourceMapping')
      .map(([, m]) => m.Properties)
      .find((m) => JSON.stringify(m.FunctionName).includes('OnTrustPolicyChangeLambdaFunction'))!;
    expect(resolve(withOrg, STACK, mapping)).toMatchObject({
      EventSourceArn: 'arn:aws:sqs:eu-west-1:111122223333:roleguard-test-iam-events',
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 2 },
    });
    expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(6 * fn.Timeout + mapping.MaximumBatchingWindowInSeconds);
    expect(fn.Timeout * 1000).toBeGreaterThanOrEqual(BATCH_TIME_MARGIN_MS + 30_000);
    expect(fn.ReservedConcurrentExecutions).toBeGreaterThanOrEqual(mapping.ScalingConfig.MaximumConcurrency);
    // Both IAM rules target the queue, and only they may send to it; the function is no longer invoked by a rule.
    const rule = props(withOrg, 'HubTrustPolicyChangeRule');
    expect(rule).toMatchObject({ EventBusName: 'roleguard-test-org', State: 'ENABLED' });
    expect(rule.EventPattern.source).toEqual(['aws.iam']);
    for (const iamRule of [rule, props(withOrg, 'TrustPolicyChangeRule')])
      expect(iamRule.Targets).toEqual([
        expect.objectContaining({
          Arn: 'arn:aws:sqs:eu-west-1:111122223333:roleguard-test-iam-events',
          RetryPolicy: { MaximumRetryAttempts: 24, MaximumEventAgeInSeconds: 21600 },
          DeadLetterConfig: { Arn: 'arn:aws:sqs:eu-west-1:111122223333:roleguard-test-dead-letter' },
        }),
      ]);
    expect(props(withOrg, 'IamEventsQueuePolicy').PolicyDocument.Statement).toEqual([
      expect.objectContaining({
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: 'arn:aws:sqs:eu-west-1:111122223333:roleguard-test-iam-events',
        Condition: {
          ArnEquals: {
            'aws:SourceArn': [
              'arn:aws:events:eu-west-1:111122223333:rule/roleguard-test-trust-policy-change',
              'arn:aws:events:eu-west-1:111122223333:rule/roleguard-test-org/roleguard-test-org-trust-policy-change',
            ],
          },
        },
      }),
    ]);
    const grants = ofType(withOrg, 'AWS::Lambda::Permission').map(([, p]) => JSON.stringify(p.Properties.FunctionName));
    expect(grants.filter((g) => g.includes('OnTrustPolicyChange'))).toEqual([]);
    expect(withOrg.Resources.OnTrustPolicyChangeLambdaEvConf).toBeUndefined();
    // The default bus's IAM rule stays where IAM's events arrive: us-east-1 only.
    expect(withOrg.Resources.TrustPolicyChangeRule!.Condition).toBe('IsIamEventRegion');
    expect(deployed(withOrg, 'TrustPolicyChangeRule')).toBe(false);
  });

  it('declares the spoke StackSets: service-managed, auto-deployed, as the delegated administrator, failure-tolerant', () => {
    for (const [id, regions, template] of [
      ['SpokeGlobalStackSet', ['us-east-1'], 'global'],
      ['SpokeRegionalStackSet', expect.arrayContaining(['us-east-1', 'eu-west-1', 'ap-southeast-2']), 'regional'],
    ] as const) {
      expect(deployed(withOrg, id)).toBe(true);
      const set = props(withOrg, id);
      expect(set).toMatchObject({
        StackSetName: `roleguard-test-spoke-${template}`,
        PermissionModel: 'SERVICE_MANAGED',
        CallAs: 'DELEGATED_ADMIN',
        AutoDeployment: { Enabled: true, RetainStacksOnAccountRemoval: false },
        ManagedExecution: { Active: true },
        Capabilities: ['CAPABILITY_NAMED_IAM'],
        StackInstancesGroup: [{ DeploymentTargets: { OrganizationalUnitIds: ['r-ab12'] }, Regions: regions }],
      });
      // A count of failed accounts per Region (the param), never a percentage: 10% of fewer than 10 accounts rounds
      // down to 0, and one failed instance would fail the StackSet and roll the hub back. SOFT: the concurrency does
      // not shrink as instances fail; AWS wants at least the tolerance plus one concurrent accounts.
      expect(set.OperationPreferences).toEqual({
        ConcurrencyMode: 'SOFT_FAILURE_TOLERANCE',
        FailureToleranceCount: 3,
        MaxConcurrentCount: 4,
        RegionConcurrencyType: 'PARALLEL',
      });
      const parameters = Object.fromEntries(set.Parameters.map((p: any) => [p.ParameterKey, p.ParameterValue]));
      expect(parameters).toEqual({
        Stage: 'test',
        HubAccountId: '111122223333',
        HubRegion: 'eu-west-1',
        OrgId: ORG,
        ...(template === 'global'
          ? { AllowWrites: 'true', OperatorPrincipalArns: '' }
          : { RecordAwsServiceAssumes: 'true' }),
      });
      // Both ways: the template declares every parameter the StackSet passes, and the StackSet passes every parameter
      // the template has no default for.
      const body = JSON.parse(set.TemplateBody);
      expect(Object.keys(body.Parameters)).toEqual(expect.arrayContaining(Object.keys(parameters)));
      const required = Object.entries(body.Parameters as Record<string, { Default?: string }>)
        .filter(([, p]) => p.Default === undefined)
        .map(([name]) => name);
      expect(Object.keys(parameters)).toEqual(expect.arrayContaining(required));
    }
  });

  it('the hub roles are named for the spoke trust and may assume only the spoke role, in the organization (IAM evaluator)', async () => {
    for (const [role, short] of Object.entries(HUB_ROLES)) {
      expect(withOrg.Resources[role]!.Properties.RoleName).toBe(`roleguard-test-hub-${short}`);
      const proof = await proveRole(withOrg, STACK, role, [
        assume(`arn:aws:iam::${MEMBER}:role/roleguard-test-spoke`, ORG, 'the spoke role of a member'),
        assume(`arn:aws:iam::${MEMBER}:role/roleguard-test-spoke`, OTHER_ORG, 'a spoke-named role of another org'),
        assume(`arn:aws:iam::${MEMBER}:role/OrganizationAccountAccessRole`, ORG, 'another role of a member'),
        assume(`arn:aws:iam::${MEMBER}:role/roleguard-test-spoke-admin`, ORG, 'a longer name'),
      ]);
      expect([role, proof.denied.map((d) => d.call.detail)]).toEqual([
        role,
        ['a spoke-named role of another org', 'another role of a member', 'a longer name'],
      ]);
      // No other STS grant.
      const sts = resolve(withOrg, STACK, withOrg.Resources[role]!.Properties)
        .Policies.flatMap((p: any) => p.PolicyDocument.Statement)
        .filter((s: any) => JSON.stringify(s.Action).includes('sts:'));
      expect(sts.map((s: any) => s.Sid)).toEqual(['AssumeSpokeRoles']);
    }
    // The Slack receiver never acts in an account.
    expect(JSON.stringify(withOrg.Resources.SlackActionsRole!.Properties.Policies)).not.toContain('sts:');
  });

  it('gives every function the organization settings', () => {
    for (const [name, fn] of ofType(withOrg, 'AWS::Lambda::Function'))
      expect([name, resolve(withOrg, STACK, fn.Properties.Environment.Variables)]).toEqual([
        name,
        expect.objectContaining({
          ORG_ID: ORG,
          HUB_ACCOUNT_ID: '111122223333',
          HOME_REGION: 'eu-west-1',
          SPOKE_ROLE_NAME: 'roleguard-test-spoke',
        }),
      ]);
  });
});

describe('the hub without orgId (an organization of one)', () => {
  it('the bus admits the hub account only, and no StackSet is declared', async () => {
    expect(props(alone, 'HubEventBus').Policy.Statement).toEqual([
      {
        Sid: 'HubAccountPutsEvents',
        Effect: 'Allow',
        Principal: { AWS: 'arn:aws:iam::111122223333:root' },
        Action: 'events:PutEvents',
        Resource: 'arn:aws:events:eu-west-1:111122223333:event-bus/roleguard-test-org',
      },
    ]);
    expect(await mayPut(alone, `arn:aws:iam::${MEMBER}:role/roleguard-test-forwarder-eu-west-2`, ORG)).not.toBe(
      'Allowed',
    );
    expect(deployed(alone, 'SpokeGlobalStackSet')).toBe(false);
    expect(deployed(alone, 'SpokeRegionalStackSet')).toBe(false);
    for (const [name, fn] of ofType(alone, 'AWS::Lambda::Function'))
      expect([name, resolve(alone, STACK, fn.Properties.Environment.Variables).ORG_ID]).toEqual([name, '']);
  });

  it("onAssumeRole may read a session item (the other copy's caller ARN) only in a hub of an organization (IAM evaluator)", async () => {
    const table = 'arn:aws:dynamodb:eu-west-1:111122223333:table/roleguard-test-sessions';
    const read = { action: 'dynamodb:GetItem', resource: table, context: {}, detail: 'the shared session item' };
    expect((await proveRole(withOrg, STACK, 'OnAssumeRoleRole', [read])).denied).toEqual([]);
    expect((await proveRole(alone, STACK, 'OnAssumeRoleRole', [read])).denied.map((d) => d.call.detail)).toEqual([
      'the shared session item',
    ]);
  });

  it('the hub roles may assume the spoke role of the hub account only', async () => {
    for (const role of Object.keys(HUB_ROLES)) {
      const proof = await proveRole(alone, STACK, role, [
        assume('arn:aws:iam::111122223333:role/roleguard-test-spoke', '', 'the hub account'),
        assume(`arn:aws:iam::${MEMBER}:role/roleguard-test-spoke`, '', 'another account'),
      ]);
      expect([role, proof.denied.map((d) => d.call.detail)]).toEqual([role, ['another account']]);
    }
  });

  it('with orgId but no organizational units, nothing is packaged and the reason is given', () => {
    const target = join(out, 'refused');
    let failure: { status: number; stdout: string; stderr: string } | null = null;
    try {
      osls(target, [`orgId=${ORG}`]);
    } catch (error) {
      failure = error as { status: number; stdout: string; stderr: string };
    }
    expect(failure?.status).not.toBe(0);
    expect(`${failure?.stdout}${failure?.stderr}`).toContain(
      'with orgId, give the OUs the spokes deploy to: --param spokeOrganizationalUnits=r-xxxx',
    );
    expect(existsSync(join(target, 'cloudformation-template-update-stack.json'))).toBe(false);
  }, 60_000);
});

/** An sts:AssumeRole of `roleArn`, in an account of organization `orgId` ("" for no organization context). */
function assume(roleArn: string, orgId: string, detail: string): AwsCall {
  return {
    action: 'sts:AssumeRole',
    resource: roleArn,
    context: orgId ? { 'aws:ResourceOrgID': orgId } : ({} as Record<string, string>),
    detail,
  };
}
