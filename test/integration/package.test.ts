import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { build as esbuild } from 'esbuild';
import { unzipSync } from 'fflate';
import { alertsTableDefinition } from '../../lib/alert/index.js';
import { classifyRecord } from '../../lib/cloudtrail/index.js';
import type { Config } from '../../lib/config.js';
import { LOCAL_AWS } from '../../lib/local/dynamodb-local.js';
import { createRegistryStore, registryTableDefinition } from '../../lib/registry/index.js';
import { parseRegistryText } from '../../lib/registry/text.js';
import { revocationsTableDefinition } from '../../lib/revoke/store.js';
import { createRotationStore, idleRotation } from '../../lib/rotate/store.js';
import { sessionsTableDefinition } from '../../lib/sessions/index.js';
import { decisionsTableDefinition } from '../../lib/slack-actions/index.js';
import { resolve, type Template } from '../helpers/cfn.js';
import { createSessionsTable, createTestTables, testDynamo, testEndpoint } from '../helpers/dynamo.js';
import { type FakeServer, fakeIam, fakeSlack, fakeSns, fakeSsm } from '../helpers/fake-aws.js';
import { EVENTS_DIR, loadJson, ROOT, SAMPLES_DIR, sampleFiles } from '../helpers/fixtures.js';
import { CallRecorder, proveRole, recordingProxy } from '../helpers/iam-proof.js';
import { sqsBatch } from '../helpers/sqs.js';

type Resource = { Type: string; Properties: Record<string, any>; DeletionPolicy?: string };
let out: string;
let resources: Record<string, Resource>;
let template: { Resources: Record<string, Resource>; Conditions?: unknown };

beforeAll(() => {
  out = mkdtempSync(join(tmpdir(), 'roleguard-package-'));
  // Offline and without AWS credentials, as on a fresh machine.
  const env = {
    ...process.env,
    AWS_ACCESS_KEY_ID: '',
    AWS_SECRET_ACCESS_KEY: '',
    AWS_PROFILE: '',
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
    TMPDIR: out,
  };
  execFileSync(
    join(ROOT, 'node_modules', '.bin', 'osls'),
    ['package', '--stage', 'test', '--region', 'eu-west-1', '--package', out],
    { cwd: ROOT, env, stdio: 'pipe' },
  );
  template = JSON.parse(readFileSync(join(out, 'cloudformation-template-update-stack.json'), 'utf8'));
  resources = template.Resources;
}, 180_000);
afterAll(() => rmSync(out, { recursive: true, force: true }));

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const STACK = { region: 'eu-west-1', accountId: '111122223333' };
/** A recorder of what a packaged function sends, for the permission proof (docs/permission-proof.md). */
const recorderFor = (config: Config, servers: FakeServer[]) =>
  new CallRecorder(servers, {
    template: template as Template,
    stack: STACK,
    tables: {
      [config.sessionsTable]: 'SessionsTable',
      [config.registryTable]: 'RegistryTable',
      [config.alertsTable]: 'AlertsTable',
      [config.revocationsTable!]: 'RevocationsTable',
    },
    roles: {
      ExampleCorpAudit: {
        arn: 'arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit',
        tags: { 'roleguard:guarded': 'true' },
      },
    },
  });
/** The requests its own role would deny, as text. */
const denials = async (role: string, recorder: CallRecorder) => {
  const calls = recorder.all();
  if (!calls.some((c) => c.action.startsWith('dynamodb:'))) throw new Error('no DynamoDB request was recorded');
  return (await proveRole(template as Template, STACK, role, calls)).denied.map(
    (d) => `${d.call.action} ${d.call.resource}: ${d.result}`,
  );
};
/** A role's statements as CloudFormation creates them in this stack (conditions applied, intrinsics resolved). */
const statementsOf = (role: string): any[] =>
  resolve(template as Template, STACK, resources[role]!.Properties).Policies.flatMap(
    (p: any) => p.PolicyDocument.Statement,
  );

describe('packaged CloudFormation template (osls package)', () => {
  it('receives read-only STS events: raw rule with ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS', () => {
    const rule = resources.AssumeRoleEventsRule!.Properties;
    expect(rule.State).toBe('ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS');
    // AWS services' assumes are dropped by the rule itself unless recordAwsServiceAssumes is set (next test).
    expect(rule.EventPattern).toEqual({
      source: ['aws.sts'],
      'detail-type': ['AWS API Call via CloudTrail'],
      detail: {
        eventSource: ['sts.amazonaws.com'],
        eventName: ['AssumeRole', 'AssumeRoleWithSAML', 'AssumeRoleWithWebIdentity'],
        userIdentity: { type: [{ 'anything-but': ['AWSService'] }] },
      },
    });
    // Into the STS queue, the one path of every STS event (the spokes' too: hub-template.test.ts); onAssumeRole reads it.
    expect(rule.Targets).toEqual([
      expect.objectContaining({
        Arn: { 'Fn::GetAtt': ['StsEventsQueue', 'Arn'] },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] } },
        RetryPolicy: { MaximumRetryAttempts: 24, MaximumEventAgeInSeconds: 21600 },
      }),
    ]);
    expect(resources.AssumeRoleEventsRulePermission).toBeUndefined();
  });

  it('the STS rule drops exactly the assumes the code would ignore as AWS services', () => {
    // EventBridge matching for what the pattern uses: lists of exact values, anything-but, nested objects.
    const matches = (pattern: any, event: any): boolean =>
      Object.entries(pattern).every(([key, want]) => {
        const value = event?.[key];
        if (!Array.isArray(want)) return typeof value === 'object' && value !== null && matches(want, value);
        if (value === undefined) return false;
        return want.some((w: any) =>
          typeof w === 'object' && w !== null && 'anything-but' in w
            ? ![w['anything-but']].flat().includes(value)
            : w === value,
        );
      });
    const pattern = resources.AssumeRoleEventsRule!.Properties.EventPattern;
    let dropped = 0;
    for (const file of sampleFiles()) {
      const sample = loadJson(join(SAMPLES_DIR, file)) as any;
      for (const record of sample.Records ?? [sample.detail ?? sample]) {
        if (record.eventSource !== 'sts.amazonaws.com' || !/^AssumeRole/.test(record.eventName)) continue;
        const event = { source: 'aws.sts', 'detail-type': 'AWS API Call via CloudTrail', detail: record };
        const kept = classifyRecord(record, { recordAwsServiceAssumes: false }).kind !== 'ignored';
        expect([file, matches(pattern, event)]).toEqual([file, kept]);
        if (!kept) dropped++;
      }
    }
    expect(dropped).toBe(2);
  });

  it('dead-letters failed asynchronous invocations and failed deliveries to an encrypted queue', () => {
    expect(resources.DeadLetterQueue!.Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 1209600,
    });
    // onAssumeRole and onTrustPolicyChange read the STS and IAM queues instead (their redrives dead-letter;
    // hub-template.test.ts): the asynchronously invoked worker of the Slack actions is the one left here.
    expect(resources.OnTrustPolicyChangeLambdaEvConf).toBeUndefined();
    for (const name of ['SlackActionWorkerLambdaEvConf']) {
      expect(resources[name]!.Properties).toMatchObject({
        MaximumRetryAttempts: 2,
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] } } },
      });
    }
    const statement = resources.DeadLetterQueuePolicy!.Properties.PolicyDocument.Statement[0];
    // Only this stack's own rules may dead-letter into it.
    expect(statement).toMatchObject({
      Principal: { Service: 'events.amazonaws.com' },
      Action: 'sqs:SendMessage',
      Condition: {
        ArnLike: {
          'aws:SourceArn': {
            'Fn::Sub': 'arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/roleguard-test-*',
          },
        },
      },
    });
    for (const [, rule] of ofType('AWS::Events::Rule'))
      expect(String(rule.Properties.Name ?? 'roleguard-test-')).toMatch(/^roleguard-test-/);
  });

  it('receives trust-policy changes with a plain ENABLED rule in us-east-1, where IAM events arrive', () => {
    const rule = resources.TrustPolicyChangeRule!;
    expect((rule as Resource & { Condition?: string }).Condition).toBe('IsIamEventRegion');
    expect(rule.Properties.State).toBe('ENABLED');
    expect(rule.Properties.EventPattern).toEqual({
      source: ['aws.iam'],
      'detail-type': ['AWS API Call via CloudTrail'],
      detail: {
        eventSource: ['iam.amazonaws.com'],
        eventName: ['UpdateAssumeRolePolicy', 'PutRolePolicy', 'DeleteRolePolicy', 'DeleteRole', 'CreateRole'],
      },
    });
    // Into the IAM queue, the one path of every IAM event (the spokes' too: hub-template.test.ts).
    expect(rule.Properties.Targets).toEqual([
      expect.objectContaining({
        Arn: { 'Fn::GetAtt': ['IamEventsQueue', 'Arn'] },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] } },
      }),
    ]);
    expect(resources.TrustPolicyChangeRulePermission).toBeUndefined();
    // HasRotationSlack: the vendor-contact Slack secret is granted only when one is configured (not in this stage).
    // HasSlack: Slack is optional; with no webhook parameter, no role may read one (see the test of that stage).
    expect(template.Conditions).toEqual({
      IsIamEventRegion: { 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'us-east-1'] },
      HasSlack: {
        'Fn::Not': [
          {
            'Fn::Or': [
              { 'Fn::Equals': ['/roleguard/test/slack-webhook-url', ''] },
              { 'Fn::Equals': ['/roleguard/test/slack-webhook-url', 'none'] },
            ],
          },
        ],
      },
      HasRotationSlack: { 'Fn::Not': [{ 'Fn::Equals': ['', ''] }] },
      HasAnySlack: { 'Fn::Or': [{ Condition: 'HasSlack' }, { Condition: 'HasRotationSlack' }] },
      // No orgId in this stage: an organization of one (hub-template.test.ts packages both).
      HasOrgId: { 'Fn::Not': [{ 'Fn::Equals': ['', ''] }] },
    });
    // The schedules are plain ENABLED rules.
    const schedules = ofType('AWS::Events::Rule').filter(([, r]) => r.Properties.ScheduleExpression);
    expect(schedules.map(([, r]) => [r.Properties.ScheduleExpression, r.Properties.State]).sort()).toEqual([
      ['rate(1 day)', 'ENABLED'],
      ['rate(1 hour)', 'ENABLED'],
      // Coverage: the account sync and the canary.
      ['rate(1 hour)', 'ENABLED'],
      ['rate(1 hour)', 'ENABLED'],
      ['rate(5 minutes)', 'ENABLED'],
    ]);
  });

  it('with recordAwsServiceAssumes, the STS rule receives the assumes of AWS services too', () => {
    const printed = execFileSync(
      join(ROOT, 'node_modules', '.bin', 'osls'),
      [
        'print',
        '--stage',
        'test',
        '--region',
        'eu-west-1',
        '--format',
        'json',
        '--param',
        'recordAwsServiceAssumes=true',
      ],
      {
        cwd: ROOT,
        env: { ...process.env, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', SLS_TELEMETRY_DISABLED: '1' },
        stdio: 'pipe',
        encoding: 'utf8',
      },
    );
    const config = JSON.parse(printed.slice(printed.indexOf('{')));
    expect(config.resources.Resources.AssumeRoleEventsRule.Properties.EventPattern.detail).toEqual({
      eventSource: ['sts.amazonaws.com'],
      eventName: ['AssumeRole', 'AssumeRoleWithSAML', 'AssumeRoleWithWebIdentity'],
    });
    expect(config.provider.environment.RECORD_AWS_SERVICE_ASSUMES).toBe('true');
  }, 60_000);

  it('without a Slack webhook parameter, the functions get none in their environment and no role may read SSM', () => {
    const printed = execFileSync(
      join(ROOT, 'node_modules', '.bin', 'osls'),
      [
        'print',
        '--stage',
        'test',
        '--region',
        'eu-west-1',
        '--format',
        'json',
        '--param',
        'slackWebhookParameter=none',
      ],
      {
        cwd: ROOT,
        env: { ...process.env, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', SLS_TELEMETRY_DISABLED: '1' },
        stdio: 'pipe',
        encoding: 'utf8',
      },
    );
    const config = JSON.parse(printed.slice(printed.indexOf('{')));
    expect(config.provider.environment.SLACK_WEBHOOK_PARAMETER).toBe('none');
    const stack = config.resources as Template;
    const roles = Object.entries(stack.Resources).filter(([, r]) => r.Type === 'AWS::IAM::Role');
    expect(roles).toHaveLength(10);
    for (const [name, role] of roles) {
      const statements = resolve(stack, STACK, role.Properties).Policies.flatMap(
        (p: any) => p.PolicyDocument.Statement,
      );
      expect([name, statements.filter((s: any) => JSON.stringify(s).includes('ssm:'))]).toEqual([name, []]);
      expect(statements.every((s: any) => s.Sid && s.Action && s.Resource)).toBe(true);
    }
  }, 60_000);

  it('alarms on the alert topic: dead letters, errors and throttles of each function, sweep failures, lost coverage', () => {
    const alarms = Object.fromEntries(ofType('AWS::CloudWatch::Alarm'));
    const functions = ofType('AWS::Lambda::Function').map(([name]) => name.replace('LambdaFunction', ''));
    expect(Object.keys(alarms).sort()).toEqual(
      [
        'DeadLetterQueueAlarm',
        'StsEventsDeadLetterQueueAlarm',
        'StsEventsBacklogAlarm',
        // IAM events now wait in their own queue: its dead letters are alarmed as the STS queue's are.
        'IamEventsDeadLetterQueueAlarm',
        // Events taken off a queue and dropped as never takeable: no dead-letter alarm sees them.
        'EventsRejectedAlarm',
        'SweepFailuresAlarm',
        'StsHeartbeatAlarm',
        ...functions.flatMap((f) => [`${f}ErrorsAlarm`, `${f}ThrottlesAlarm`]),
      ].sort(),
    );
    for (const [name, alarm] of Object.entries(alarms)) {
      expect([name, alarm.Properties.AlarmActions]).toEqual([name, [{ Ref: 'AlertTopic' }]]);
      expect(alarm.Properties.OKActions).toEqual([{ Ref: 'AlertTopic' }]);
      expect(alarm.Properties.AlarmName).toMatch(/^roleguard-test-/);
    }
    expect(alarms.DeadLetterQueueAlarm!.Properties).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: resources.DeadLetterQueue!.Properties.QueueName }],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    for (const f of functions)
      for (const metric of ['Errors', 'Throttles'])
        expect(alarms[`${f}${metric}Alarm`]!.Properties).toMatchObject({
          Namespace: 'AWS/Lambda',
          MetricName: metric,
          Dimensions: [{ Name: 'FunctionName', Value: { Ref: `${f}LambdaFunction` } }],
          Statistic: 'Sum',
          Threshold: 0,
          ComparisonOperator: 'GreaterThanThreshold',
        });
    // Metrics the functions emit in their log lines (Embedded Metric Format), by stack.
    const stack = [{ Name: 'Stack', Value: 'roleguard-test' }];
    expect(alarms.SweepFailuresAlarm!.Properties).toMatchObject({
      Namespace: 'roleguard',
      MetricName: 'SweepFailures',
      Dimensions: stack,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    expect(alarms.IamEventsDeadLetterQueueAlarm!.Properties).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: resources.IamEventsDeadLetterQueue!.Properties.QueueName }],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    expect(alarms.EventsRejectedAlarm!.Properties).toMatchObject({
      Namespace: 'roleguard',
      MetricName: 'EventsRejected',
      Dimensions: stack,
      Statistic: 'Sum',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
    // No STS event recorded for heartbeatHours hours (12 by default): missing data is the alarm, not silence.
    expect(alarms.StsHeartbeatAlarm!.Properties).toMatchObject({
      Namespace: 'roleguard',
      MetricName: 'StsEventsRecorded',
      Dimensions: stack,
      Statistic: 'Sum',
      Period: 3600,
      EvaluationPeriods: 12,
      DatapointsToAlarm: 12,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
  });

  it('reserves concurrency for the capture functions and the public Slack route only', () => {
    const reserved = Object.fromEntries(
      ofType('AWS::Lambda::Function').map(([name, fn]) => [name, fn.Properties.ReservedConcurrentExecutions ?? null]),
    );
    expect(reserved).toEqual({
      OnAssumeRoleLambdaFunction: 20,
      OnTrustPolicyChangeLambdaFunction: 2,
      RevokeLambdaFunction: null,
      SweepLambdaFunction: null,
      RotateExternalIdsLambdaFunction: null,
      AuditTrustPoliciesLambdaFunction: null,
      SlackActionsLambdaFunction: 5,
      SlackActionWorkerLambdaFunction: null,
      OrgSyncLambdaFunction: null,
      OrgCanaryLambdaFunction: null,
    });
  });

  it('runs every function on nodejs22.x with its own role; the webhook URL is a parameter name, never a value', () => {
    const functions = ofType('AWS::Lambda::Function');
    expect(functions.map(([name]) => name).sort()).toEqual([
      'AuditTrustPoliciesLambdaFunction',
      'OnAssumeRoleLambdaFunction',
      'OnTrustPolicyChangeLambdaFunction',
      'OrgCanaryLambdaFunction',
      'OrgSyncLambdaFunction',
      'RevokeLambdaFunction',
      'RotateExternalIdsLambdaFunction',
      'SlackActionWorkerLambdaFunction',
      'SlackActionsLambdaFunction',
      'SweepLambdaFunction',
    ]);
    for (const [name, fn] of functions) {
      expect(fn.Properties.Runtime).toBe('nodejs22.x');
      expect(fn.Properties.Role).toEqual({ 'Fn::GetAtt': [name.replace('LambdaFunction', 'Role'), 'Arn'] });
      expect(fn.Properties.Environment.Variables).toMatchObject({
        SESSIONS_TABLE: 'roleguard-test-sessions',
        REGISTRY_TABLE: 'roleguard-test-registry',
        ALERTS_TABLE: 'roleguard-test-alerts',
        REVOCATIONS_TABLE: 'roleguard-test-revocations',
        ALERT_TOPIC_ARN: { Ref: 'AlertTopic' },
        SLACK_WEBHOOK_PARAMETER: '/roleguard/test/slack-webhook-url',
        ROLEGUARD_STACK: 'roleguard-test',
      });
      expect(JSON.stringify(fn.Properties.Environment)).not.toMatch(/hooks\.slack\.com|https:/);
    }
    expect(ofType('AWS::Logs::LogGroup').length).toBe(10);
    for (const [, group] of ofType('AWS::Logs::LogGroup')) expect(group.Properties.RetentionInDays).toBeGreaterThan(0);
    expect(
      ofType('AWS::IAM::Role')
        .map(([name]) => name)
        .sort(),
    ).toEqual([
      'AuditTrustPoliciesRole',
      'OnAssumeRoleRole',
      'OnTrustPolicyChangeRole',
      'OrgCanaryRole',
      'OrgSyncRole',
      'RevokeRole',
      'RotateExternalIdsRole',
      'SlackActionWorkerRole',
      'SlackActionsRole',
      'SweepRole',
    ]);
    // The manual revocation function is invoked by hand: no retries of a refused or failed request.
    expect(resources.RevokeLambdaEvConf!.Properties).toMatchObject({ MaximumRetryAttempts: 0 });
  });

  it('declares the Slack actions: the HTTP API route POST /slack/actions to slackActions, and the asynchronous action function', () => {
    expect(ofType('AWS::ApiGatewayV2::Api').map(([, r]) => r.Properties.ProtocolType)).toEqual(['HTTP']);
    const routes = ofType('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties);
    expect(routes.map((r) => r.RouteKey)).toEqual(['POST /slack/actions']);
    const integration = resources[routes[0]!.Target['Fn::Join'][1][1].Ref]!.Properties;
    expect(integration).toMatchObject({
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
      IntegrationUri: { 'Fn::GetAtt': ['SlackActionsLambdaFunction', 'Arn'] },
    });
    expect(resources.SlackActionsLambdaFunction!.Properties.Environment.Variables).toMatchObject({
      DECISIONS_TABLE: 'roleguard-test-decisions',
      SLACK_SIGNING_SECRET_PARAMETER: '/roleguard/test/slack-signing-secret',
      SLACK_ACTION_FUNCTION: 'roleguard-test-slackActionWorker',
    });
    expect(resources.SlackActionWorkerLambdaFunction!.Properties.FunctionName).toBe('roleguard-test-slackActionWorker');
    // The action function is invoked asynchronously: retried, then dead-lettered.
    expect(resources.SlackActionWorkerLambdaEvConf!.Properties).toMatchObject({
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] } } },
    });
    // Only API Gateway may call the receiver, and only the receiver's role may invoke the action function.
    const permissions = ofType('AWS::Lambda::Permission').filter(([, p]) =>
      JSON.stringify(p.Properties.FunctionName).includes('SlackAction'),
    );
    expect(permissions.map(([, p]) => [p.Properties.FunctionName, p.Properties.Principal])).toEqual([
      [{ 'Fn::GetAtt': ['SlackActionsLambdaFunction', 'Arn'] }, 'apigateway.amazonaws.com'],
    ]);
  });

  it('grants each function exactly what it sends, on its own resources', () => {
    const actionsOf = (role: string) => statementsOf(role).map((s: any) => [s.Sid, [s.Action].flat()]);
    const logs = ['WriteOwnLogs', ['logs:CreateLogStream', 'logs:PutLogEvents']];
    // SNS encrypts with the alert topic's key using the publisher's permissions (through SNS only).
    const encrypt = ['EncryptAlerts', ['kms:GenerateDataKey', 'kms:Decrypt']];
    const alerting = [['ReadSlackWebhookSecret', ['ssm:GetParameter']], ['PublishAlerts', ['sns:Publish']], encrypt];
    const registry = ['ReadRegistry', ['dynamodb:GetItem', 'dynamodb:Query']];
    const outbox = ['AlertOutbox', ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']];
    const dlq = ['DeadLetterOnFailure', ['sqs:SendMessage']];
    const intents = [
      'RevocationIntents',
      [
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
        'dynamodb:ConditionCheckItem',
      ],
    ];
    const iamWrite = [
      'WriteRevocationPolicyOnGuardedRoles',
      ['iam:GetRolePolicy', 'iam:ListRolePolicies', 'iam:PutRolePolicy', 'iam:DeleteRolePolicy'],
    ];
    const protect = ['NeverTouchProtectedRoles', ['iam:PutRolePolicy', 'iam:DeleteRolePolicy']];
    const roleIds = ['RecordRoleIds', ['dynamodb:UpdateItem']];
    // Acting in a member account: the spoke role only (hub-template.test.ts judges it).
    const spoke = ['AssumeSpokeRoles', ['sts:AssumeRole']];
    const coverage = ['RecordCoverage', ['dynamodb:UpdateItem']];
    expect(actionsOf('OnAssumeRoleRole')).toEqual([
      logs,
      ['RecordSessions', ['dynamodb:PutItem', 'dynamodb:UpdateItem']],
      ['CheckSessionNames', ['dynamodb:Query']],
      registry,
      // An assume's several reads (rotation, caller marker, kept revocations) in one BatchGetItem.
      ['BatchReadRotations', ['dynamodb:BatchGetItem']],
      ['ConfirmRotations', ['dynamodb:PutItem']],
      roleIds,
      coverage,
      outbox,
      ['RevocationIntents', [intents[1]![0], 'dynamodb:BatchGetItem', ...(intents[1] as string[]).slice(1)]],
      iamWrite,
      protect,
      ...alerting,
      // Lambda's poller reads the STS queue with the function's role.
      ['ReadStsQueue', ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes']],
      spoke,
    ]);
    expect(actionsOf('OnTrustPolicyChangeRole')).toEqual([
      logs,
      registry,
      outbox,
      roleIds,
      coverage,
      [
        'ReapplyRevocations',
        [
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
          'dynamodb:DeleteItem',
          'dynamodb:ConditionCheckItem',
        ],
      ],
      iamWrite,
      protect,
      ...alerting,
      // Lambda's poller reads the IAM queue with the function's role (no asynchronous dead-lettering any more).
      ['ReadIamQueue', ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes']],
      spoke,
    ]);
    expect(actionsOf('SweepRole')).toEqual([
      logs,
      registry,
      ['AlertOutbox', ['dynamodb:UpdateItem']],
      ['ListDueAlerts', ['dynamodb:Query']],
      [
        'RevocationIntents',
        ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:ConditionCheckItem'],
      ],
      ['ReadKeptRevocations', ['dynamodb:GetItem']],
      ['ListDueRevocations', ['dynamodb:Query']],
      iamWrite,
      protect,
      ...alerting,
      spoke,
    ]);
    expect(actionsOf('RevokeRole')).toEqual([
      logs,
      registry,
      ['FindSessions', ['dynamodb:Query']],
      intents,
      iamWrite,
      ['ResolveSessionNames', ['iam:GetRole']],
      protect,
      spoke,
    ]);
    expect(actionsOf('AuditTrustPoliciesRole')).toEqual([
      logs,
      registry,
      ['AuditState', ['dynamodb:GetItem', 'dynamodb:PutItem']],
      ['ReadTrustPolicies', ['iam:GetRole']],
      ...alerting,
      spoke,
    ]);
    expect(actionsOf('RotateExternalIdsRole')).toEqual([
      logs,
      registry,
      ['RotationStateAndLocks', ['dynamodb:PutItem']],
      ['ReleaseRotationLocks', ['dynamodb:DeleteItem']],
      ['FindSessions', ['dynamodb:Query']],
      intents,
      iamWrite,
      protect,
      ['EditTrustPoliciesOfGuardedRoles', ['iam:GetRole', 'iam:UpdateAssumeRolePolicy']],
      ['NeverEditProtectedTrustPolicies', ['iam:UpdateAssumeRolePolicy']],
      ['ReadSlackWebhookSecret', ['ssm:GetParameter']],
      ['PublishAlertsAndVendorNotices', ['sns:Publish']],
      encrypt,
      spoke,
    ]);
    // Coverage (issue 15): the sync lists the organization and the spoke StackSets, the canary assumes the spoke roles;
    // both keep their state in the registry table's coverage partition and alert gaps.
    const coverageState = ['CoverageState', ['dynamodb:Query', 'dynamodb:UpdateItem']];
    expect(actionsOf('OrgSyncRole')).toEqual([
      logs,
      coverageState,
      ['ListAccounts', ['organizations:ListAccounts']],
      ['ListSpokeInstances', ['cloudformation:ListStackInstances']],
      outbox,
      ...alerting,
    ]);
    expect(actionsOf('OrgCanaryRole')).toEqual([
      logs,
      coverageState,
      ['AssumeSpokeRoles', ['sts:AssumeRole']],
      outbox,
      ...alerting,
    ]);
    expect(actionsOf('SlackActionsRole')).toEqual([
      logs,
      ['ReadSlackSigningSecret', ['ssm:GetParameter']],
      ['RecordRequestNonces', ['dynamodb:PutItem']],
      ['HandOverToActionFunction', ['lambda:InvokeFunction']],
    ]);
    expect(actionsOf('SlackActionWorkerRole')).toEqual([
      logs,
      registry,
      ['RotationStateAndLocks', ['dynamodb:PutItem']],
      ['ReleaseRotationLocks', ['dynamodb:DeleteItem']],
      ['ReadAndAcknowledgeAlerts', ['dynamodb:GetItem', 'dynamodb:UpdateItem']],
      ['RecordDecisions', ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']],
      ['ReadSlackSigningSecret', ['ssm:GetParameter']],
      ['CheckRequestNonces', ['dynamodb:GetItem']],
      ['FindSessions', ['dynamodb:Query']],
      intents,
      iamWrite,
      protect,
      ['EditTrustPoliciesOfGuardedRoles', ['iam:GetRole', 'iam:UpdateAssumeRolePolicy']],
      ['NeverEditProtectedTrustPolicies', ['iam:UpdateAssumeRolePolicy']],
      ['ReadSlackWebhookSecret', ['ssm:GetParameter']],
      ['PublishAlertsAndVendorNotices', ['sns:Publish']],
      encrypt,
      dlq,
      spoke,
    ]);
    // The registry table is written only in the rotation partition (and the rotation locks), never the registry itself.
    const statement = (role: string, sid: string) => statementsOf(role).find((s: any) => s.Sid === sid);
    expect(statement('OnAssumeRoleRole', 'ConfirmRotations').Condition).toEqual({
      'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['rotation'] },
    });
    expect(statement('OnAssumeRoleRole', 'BatchReadRotations').Condition).toEqual({
      'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['rotation'] },
    });
    // The sweep reads the revocations it keeps for a role (policy#…), no intent by key.
    expect(statement('SweepRole', 'ReadKeptRevocations').Condition).toEqual({
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['policy#*'] },
    });
    // onAssumeRole's name check reads the byRole index of the sessions table, not the table.
    expect(statement('OnAssumeRoleRole', 'CheckSessionNames').Resource).toBe(
      'arn:aws:dynamodb:eu-west-1:111122223333:table/roleguard-test-sessions/index/byRole',
    );
    // The RoleIds of guarded roles are their own partition of the registry table.
    for (const role of ['OnAssumeRoleRole', 'OnTrustPolicyChangeRole'])
      expect(statement(role, 'RecordRoleIds').Condition).toEqual({
        'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['roleid'] },
      });
    // So is coverage; the canary may assume the spoke role only, the sync list only the spoke StackSets.
    for (const [role, sid] of [
      ['OnAssumeRoleRole', 'RecordCoverage'],
      ['OnTrustPolicyChangeRole', 'RecordCoverage'],
      ['OrgSyncRole', 'CoverageState'],
      ['OrgCanaryRole', 'CoverageState'],
    ])
      expect(statement(role!, sid!).Condition).toEqual({
        'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['coverage'] },
      });
    // Without orgId (this template) the spoke role of the hub's own account only; hub-template.test.ts covers orgId.
    expect(statement('OrgCanaryRole', 'AssumeSpokeRoles').Resource).toBe(
      'arn:aws:iam::111122223333:role/roleguard-test-spoke',
    );
    expect(statement('OrgSyncRole', 'ListSpokeInstances').Resource).toEqual([
      'arn:aws:cloudformation:eu-west-1:*:stackset/roleguard-test-spoke-global:*',
      'arn:aws:cloudformation:eu-west-1:*:stackset/roleguard-test-spoke-regional:*',
    ]);
    expect(statement('RotateExternalIdsRole', 'RotationStateAndLocks').Condition).toEqual({
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['rotation', 'lock#rotation#*'] },
    });
    // Rotation items are never deleted; only the locks are.
    expect(statement('RotateExternalIdsRole', 'ReleaseRotationLocks').Condition).toEqual({
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['lock#rotation#*'] },
    });
    expect(statement('RotateExternalIdsRole', 'EditTrustPoliciesOfGuardedRoles').Condition).toEqual({
      StringEquals: { 'aws:ResourceTag/roleguard:guarded': 'true' },
    });
    for (const role of [
      'OnAssumeRoleRole',
      'OnTrustPolicyChangeRole',
      'SweepRole',
      'RevokeRole',
      'AuditTrustPoliciesRole',
      'RotateExternalIdsRole',
      'SlackActionsRole',
      'SlackActionWorkerRole',
    ]) {
      for (const s of statementsOf(role)) {
        expect(JSON.stringify(s.Resource)).not.toMatch(/"\*"/);
        expect([s.Action].flat().some((a: string) => a.includes('*'))).toBe(false);
        if (s.Effect === 'Deny') continue;
        expect(s.Effect).toBe('Allow');
        // IAM is written only on roles tagged as guarded; nothing IAM is granted on a whole account without a condition.
        if ([s.Action].flat().some((a: string) => /^iam:(Put|Delete|Get)RolePolicy$|^iam:ListRolePolicies$/.test(a))) {
          expect(s.Condition).toEqual({ StringEquals: { 'aws:ResourceTag/roleguard:guarded': 'true' } });
        }
      }
    }
    // Only the rotate function edits trust policies.
    for (const role of [
      'OnAssumeRoleRole',
      'OnTrustPolicyChangeRole',
      'SweepRole',
      'RevokeRole',
      'AuditTrustPoliciesRole',
    ])
      expect(JSON.stringify(resources[role])).not.toContain('iam:UpdateAssumeRolePolicy');
    // Only the functions that revoke (or re-apply a tampered revocation policy) hold IAM write permissions; the
    // others read at most.
    expect(JSON.stringify(resources.AuditTrustPoliciesRole)).not.toMatch(/"iam:(?!GetRole")/);
    // The Slack receiver touches no IAM at all: only the action function does, through the revocation code.
    expect(JSON.stringify(resources.SlackActionsRole)).not.toContain('"iam:');
    // The receiver writes request nonces only, the action function decisions and refusals only, and alerts only.
    expect(statement('SlackActionsRole', 'RecordRequestNonces').Condition).toEqual({
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['request#*'] },
    });
    expect(statement('SlackActionWorkerRole', 'RecordDecisions').Condition).toEqual({
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['decision#*', 'refusal#*'] },
    });
    expect(statement('SlackActionWorkerRole', 'ReadAndAcknowledgeAlerts').Condition).toEqual({
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['alert#*'] },
    });
    expect(statement('SlackActionsRole', 'HandOverToActionFunction').Resource).toBe(
      'arn:aws:lambda:eu-west-1:111122223333:function:roleguard-test-slackActionWorker',
    );
    expect(statement('SlackActionsRole', 'ReadSlackSigningSecret').Resource).toBe(
      'arn:aws:ssm:eu-west-1:111122223333:parameter/roleguard/test/slack-signing-secret',
    );
    // The secret parameter and the topic are named exactly.
    expect(statement('OnAssumeRoleRole', 'ReadSlackWebhookSecret').Resource).toBe(
      'arn:aws:ssm:eu-west-1:111122223333:parameter/roleguard/test/slack-webhook-url',
    );
    // Only the stage's parameter, and no vendor-contact parameter while none is configured.
    for (const role of ['RotateExternalIdsRole', 'SlackActionWorkerRole'])
      expect(statement(role, 'ReadSlackWebhookSecret').Resource).toEqual([
        'arn:aws:ssm:eu-west-1:111122223333:parameter/roleguard/test/slack-webhook-url',
      ]);
    // The alert topic is encrypted with the stack's key, which SNS uses with the publisher's permissions: every role
    // that may publish holds EncryptAlerts.
    for (const [name] of ofType('AWS::IAM::Role'))
      if (JSON.stringify(resources[name]).includes('"sns:Publish"'))
        expect([name, statementsOf(name).some((s: any) => s.Sid === 'EncryptAlerts')]).toEqual([name, true]);
    // Every function that may write IAM knows its account, and refuses to write a role of another one.
    for (const [name, fn] of ofType('AWS::Lambda::Function')) {
      const writesIam = JSON.stringify(resources[name.replace('LambdaFunction', 'Role')]).includes('iam:PutRolePolicy');
      expect([name, fn.Properties.Environment.Variables.AWS_ACCOUNT_ID]).toEqual([
        name,
        writesIam ? { 'Fn::Sub': '${AWS::AccountId}' } : undefined,
      ]);
    }
  });

  it('grants no function an action its bundled code cannot send, and every action it can send is granted or reviewed here', async () => {
    const functionsByRole: Record<string, string> = {
      OnAssumeRoleRole: 'on-assume-role',
      OnTrustPolicyChangeRole: 'on-trust-policy-change',
      SweepRole: 'sweep',
      RevokeRole: 'revoke',
      AuditTrustPoliciesRole: 'audit-trust-policies',
      RotateExternalIdsRole: 'rotate-external-ids',
      SlackActionsRole: 'slack-actions',
      SlackActionWorkerRole: 'slack-action-worker',
      OrgSyncRole: 'org-sync',
      OrgCanaryRole: 'org-canary',
    };
    // The SDK commands a bundle can send: every command imported (not as a type) by a project file esbuild puts in it.
    const sendable = async (fn: string): Promise<Set<string>> => {
      const result = await esbuild({
        entryPoints: [join(ROOT, 'functions', `${fn}.ts`)],
        bundle: true,
        platform: 'node',
        format: 'esm',
        write: false,
        metafile: true,
        outdir: out,
        logLevel: 'silent',
        absWorkingDir: ROOT,
      });
      const files = Object.keys(result.metafile!.inputs).filter((f) => !f.includes('node_modules'));
      const actions = new Set<string>();
      const DOC: Record<string, string[]> = {
        Get: ['GetItem'],
        Put: ['PutItem'],
        Update: ['UpdateItem'],
        Delete: ['DeleteItem'],
        Query: ['Query'],
        Scan: ['Scan'],
        BatchWrite: ['BatchWriteItem'],
        BatchGet: ['BatchGetItem'],
        TransactWrite: ['PutItem', 'UpdateItem', 'DeleteItem', 'ConditionCheckItem'],
        TransactGet: ['GetItem'],
      };
      for (const file of files) {
        const text = readFileSync(join(ROOT, file), 'utf8');
        for (const m of text.matchAll(/import\s*\{([^}]*)\}\s*from\s*'(@aws-sdk\/[\w-]+)'/g)) {
          const names = m[1]!
            .split(',')
            .map((n) => n.trim())
            .filter((n) => n && !n.startsWith('type '))
            .map((n) => n.split(/\s+as\s+/)[0]!);
          for (const name of names) {
            const command = /^(\w+)Command$/.exec(name)?.[1];
            if (!command) continue;
            if (m[2] === '@aws-sdk/lib-dynamodb')
              for (const a of DOC[command] ?? [command]) actions.add(`dynamodb:${a}`);
            // IAM names Lambda's Invoke command lambda:InvokeFunction.
            else if (m[2] === '@aws-sdk/client-lambda' && command === 'Invoke') actions.add('lambda:InvokeFunction');
            else actions.add(`${m[2]!.replace('@aws-sdk/client-', '')}:${command}`);
          }
        }
      }
      return actions;
    };
    // Imported by a bundle but never sent by that function (shared modules), each with the reason: reviewed here, so
    // that a new import or a dropped grant shows up as a difference.
    const registryImport = { 'dynamodb:BatchWriteItem': "the registry store's replace(), used by imports only" };
    // The assume flow's batched read (lib/prefetch.ts), bundled through the shared pipeline (lib/pipeline.ts): only
    // onTrustPolicyChange's bundle has it besides onAssumeRole's (the others import no pipeline).
    const batchedRead = { 'dynamodb:BatchGetItem': "the assume flow's batched read: only onAssumeRole makes it" };
    // The revoking functions check the lock owner in a transaction before writing the kept revocation state.
    const noConditionCheck = {
      'dynamodb:ConditionCheckItem': 'the lock-owner check of the revocation code: never revokes',
    };
    const revocationModules = Object.fromEntries(
      ['iam:GetRolePolicy', 'iam:ListRolePolicies', 'iam:PutRolePolicy', 'iam:DeleteRolePolicy'].map((a) => [
        a,
        'revocation modules bundled through lambda-handler.ts and lambda-deps.ts; this function never revokes',
      ]),
    );
    const notSent: Record<string, Record<string, string>> = {
      // (Its handler, lib/queue-handler.ts, no longer bundles the manual revocation code, which sends iam:GetRole.)
      OnAssumeRoleRole: { ...registryImport },
      // Its handler is now the queue handler (lib/queue-handler.ts), which no longer bundles the manual revocation
      // code (lib/lambda-handler.ts) and its iam:GetRole.
      OnTrustPolicyChangeRole: { ...registryImport, ...batchedRead },
      // (Its bundle, functions/sweep.ts, imports no pipeline: the assume flow's batched read is not in it.)
      SweepRole: {
        ...registryImport,
        'iam:GetRole': 'resolving a session name: manual revocation only',
      },
      // (Nor does functions/revoke.ts bundle the pipeline and its batched read.)
      RevokeRole: {
        ...registryImport,
        'sns:Publish': 'alert senders in lambda-deps.ts: the revoke function reports to its caller',
        'ssm:GetParameter': 'the Slack webhook: as above',
      },
      AuditTrustPoliciesRole: {
        ...registryImport,
        ...noConditionCheck,
        ...revocationModules,
        'dynamodb:DeleteItem': 'not this function',
        'dynamodb:UpdateItem': 'the outbox: the audit writes only its own state item',
      },
      RotateExternalIdsRole: { ...registryImport },
      SlackActionsRole: {
        'dynamodb:GetItem': 'the decision store: the action function reads and claims decisions, not the receiver',
        'dynamodb:Query': 'the decision store: the audit trail is listed by the CLI',
        'dynamodb:UpdateItem': 'the decision store: the action function settles decisions',
      },
      OrgSyncRole: {
        ...registryImport,
        ...noConditionCheck,
        ...revocationModules,
        'dynamodb:DeleteItem':
          'the revocation store, imported through lambda-deps.ts (tree-shaken out of the bundle): never revokes',
        'iam:GetRole': 'resolving a session name: manual revocation only',
        'sts:AssumeRole':
          'acting in member accounts (lib/org/accounts.ts), imported through lambda-deps.ts (tree-shaken out): never acts',
      },
      OrgCanaryRole: {
        ...registryImport,
        ...noConditionCheck,
        ...revocationModules,
        'dynamodb:DeleteItem':
          'the revocation store, imported through lambda-deps.ts (tree-shaken out of the bundle): never revokes',
        'iam:GetRole': 'resolving a session name: manual revocation only',
      },
      SlackActionWorkerRole: {
        ...registryImport,
        'lambda:InvokeFunction':
          "the receiver's hand-over (lambdaEnqueue in lib/slack-actions/live.ts): not this function",
      },
    };
    for (const [role, fn] of Object.entries(functionsByRole)) {
      const statements = statementsOf(role).filter((s: any) => s.Effect === 'Allow');
      const granted = new Set<string>(
        statements
          .flatMap((s: any) => [s.Action].flat())
          // Logs and dead letters are sent by Lambda, KMS by SNS, with the role: the permission proof covers them.
          .filter((a: string) => !a.startsWith('logs:') && !a.startsWith('sqs:') && !a.startsWith('kms:')),
      );
      const canSend = await sendable(fn);
      // No grant beyond what the code can send (the hub roles' sts:AssumeRole is sent by lib/org/accounts.ts).
      expect([role, [...granted].filter((a) => !canSend.has(a)).sort()]).toEqual([role, []]);
      // What it can send and is not granted is exactly the reviewed list.
      const notGranted = [...canSend].filter((a) => !granted.has(a)).sort();
      process.stdout.write(
        `least privilege: ${role}: granted ${[...granted].sort().join(', ')}; imported but never sent (reviewed): ${notGranted.join(', ') || 'none'}\n`,
      );
      expect([role, notGranted]).toEqual([role, Object.keys(notSent[role]!).sort()]);
    }
  });

  it('lets the revoking functions write the revocation policy only on tagged roles, never on protected ones (IAM evaluator)', async () => {
    const sub = (value: unknown): unknown =>
      JSON.parse(
        JSON.stringify(value).replace(/\{"Fn::Sub":"([^"]*)"\}/g, (_, text: string) =>
          JSON.stringify(
            text
              .replace('${AWS::Partition}', 'aws')
              .replace('${AWS::AccountId}', '111122223333')
              .replace('${AWS::Region}', 'eu-west-1'),
          ),
        ),
      );
    for (const role of [
      'OnAssumeRoleRole',
      'OnTrustPolicyChangeRole',
      'SweepRole',
      'RevokeRole',
      'RotateExternalIdsRole',
    ]) {
      // The IAM statements (the others name DynamoDB, SQS, SNS and SSM resources by reference).
      const document = { ...resources[role]!.Properties.Policies[0].PolicyDocument, Statement: statementsOf(role) };
      const policy = sub({
        ...document,
        Statement: document.Statement.filter((s: any) => [s.Action].flat().some((a: string) => a.startsWith('iam:'))),
      });
      const decide = async (action: string, roleArn: string, tagged: boolean) => {
        const result = await runSimulation(
          {
            request: {
              principal: `arn:aws:sts::111122223333:assumed-role/roleguard-test-${role}-X1/fn`,
              action,
              resource: { resource: roleArn, accountId: '111122223333' },
              contextVariables: tagged ? { 'aws:ResourceTag/roleguard:guarded': 'true' } : {},
            },
            identityPolicies: [{ name: role, policy }],
            serviceControlPolicies: [],
            resourceControlPolicies: [],
          },
          {},
        );
        if (result.resultType === 'error') throw new Error(JSON.stringify(result.errors));
        return result.overallResult;
      };
      const vendor = 'arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit';
      expect(await decide('iam:PutRolePolicy', vendor, true)).toBe('Allowed');
      expect(await decide('iam:DeleteRolePolicy', vendor, true)).toBe('Allowed');
      expect(await decide('iam:PutRolePolicy', vendor, false)).not.toBe('Allowed');
      expect(
        await decide('iam:PutRolePolicy', 'arn:aws:iam::444455556666:role/vendors/ExampleCorpAudit', true),
      ).not.toBe('Allowed');
      for (const guarded of [
        'arn:aws:iam::111122223333:role/aws-service-role/support.amazonaws.com/AWSServiceRoleForSupport',
        'arn:aws:iam::111122223333:role/roleguard-test-SweepRole-1A2B3C',
      ]) {
        expect([guarded, await decide('iam:PutRolePolicy', guarded, true)]).toEqual([guarded, 'ExplicitlyDenied']);
      }
      // The evaluator never allows writes on /aws-reserved/ roles whatever the policy says (IAM refuses them too), so
      // it cannot show the explicit Deny there; the Deny's resource list is checked as written.
      expect(
        await decide(
          'iam:PutRolePolicy',
          'arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123',
          true,
        ),
      ).not.toBe('Allowed');
      expect(policy).toMatchObject({
        Statement: expect.arrayContaining([
          expect.objectContaining({
            Effect: 'Deny',
            Resource: expect.arrayContaining(['arn:aws:iam::111122223333:role/aws-reserved/*']),
          }),
        ]),
      });
      const others = [
        'iam:AttachRolePolicy',
        'iam:CreateRole',
        'iam:DeleteRole',
        'iam:TagRole',
        ...(role === 'RotateExternalIdsRole' ? [] : ['iam:UpdateAssumeRolePolicy']),
      ];
      for (const other of others) expect(await decide(other, vendor, true)).not.toBe('Allowed');
      if (role === 'RotateExternalIdsRole') {
        // Trust policies: only of tagged roles of this account, never of protected ones.
        expect(await decide('iam:UpdateAssumeRolePolicy', vendor, true)).toBe('Allowed');
        expect(await decide('iam:UpdateAssumeRolePolicy', vendor, false)).not.toBe('Allowed');
        expect(
          await decide('iam:UpdateAssumeRolePolicy', 'arn:aws:iam::444455556666:role/vendors/ExampleCorpAudit', true),
        ).not.toBe('Allowed');
        for (const guarded of [
          'arn:aws:iam::111122223333:role/aws-service-role/support.amazonaws.com/AWSServiceRoleForSupport',
          'arn:aws:iam::111122223333:role/roleguard-test-SweepRole-1A2B3C',
        ]) {
          expect([guarded, await decide('iam:UpdateAssumeRolePolicy', guarded, true)]).toEqual([
            guarded,
            'ExplicitlyDenied',
          ]);
        }
      }
    }
  });

  it('declares the registry, alerts and revocations tables as the code defines them, encrypted, and an encrypted topic', () => {
    for (const [name, definition] of [
      ['RegistryTable', registryTableDefinition('roleguard-test-registry')],
      ['AlertsTable', alertsTableDefinition('roleguard-test-alerts')],
      ['RevocationsTable', revocationsTableDefinition('roleguard-test-revocations')],
      ['DecisionsTable', decisionsTableDefinition('roleguard-test-decisions')],
    ] as const) {
      const table = resources[name]!;
      expect(table.DeletionPolicy).toBe('Retain');
      expect(table.Properties).toMatchObject({
        TableName: definition.TableName,
        BillingMode: 'PAY_PER_REQUEST',
        SSESpecification: { SSEEnabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      });
      expect(table.Properties.KeySchema).toEqual(definition.KeySchema);
      expect(table.Properties.AttributeDefinitions).toEqual(definition.AttributeDefinitions);
      expect(table.Properties.GlobalSecondaryIndexes).toEqual(definition.GlobalSecondaryIndexes);
    }
    expect(resources.RevocationsTable!.Properties.TimeToLiveSpecification).toEqual({
      AttributeName: 'ttl',
      Enabled: true,
    });
    // The alarms publish to the alert topic: CloudWatch cannot use the AWS managed SNS key, so the topic has its own.
    expect(resources.AlertTopic!.Properties).toMatchObject({
      TopicName: 'roleguard-test-alerts',
      KmsMasterKeyId: { 'Fn::GetAtt': ['AlertTopicKey', 'Arn'] },
    });
    expect(resources.AlertTopicKey!.Properties).toMatchObject({ EnableKeyRotation: true });
    expect(resources.AlertTopicKey!.Properties.KeyPolicy.Statement).toEqual([
      expect.objectContaining({ Sid: 'AccountAdministersTheKey' }),
      {
        Sid: 'CloudWatchAlarmsPublish',
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        Resource: '*',
      },
    ]);
    // New external IDs travel on their own topic, encrypted too.
    expect(resources.RotationTopic!.Properties).toMatchObject({
      TopicName: 'roleguard-test-rotation',
      KmsMasterKeyId: 'alias/aws/sns',
    });
  });

  it('declares the sessions table as the code defines it: on-demand, PITR, TTL, encrypted, retained', () => {
    const table = resources.SessionsTable!;
    const definition = sessionsTableDefinition('roleguard-test-sessions');
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.Properties).toMatchObject({
      TableName: 'roleguard-test-sessions',
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
    });
    expect(table.Properties.KeySchema).toEqual(definition.KeySchema);
    expect(table.Properties.AttributeDefinitions).toEqual(definition.AttributeDefinitions);
    expect(table.Properties.GlobalSecondaryIndexes).toEqual(definition.GlobalSecondaryIndexes);
  });

  it('an invalid registry named by the stage stops the deploy before anything is packaged, with the reason', () => {
    const bad = join(out, 'bad-registry.yaml');
    writeFileSync(bad, readFileSync(join(EVENTS_DIR, 'registry.yaml'), 'utf8').replace('"999988887777"', '"9999"'));
    const target = join(out, 'refused');
    const env = {
      ...process.env,
      AWS_ACCESS_KEY_ID: '',
      AWS_SECRET_ACCESS_KEY: '',
      AWS_PROFILE: '',
      SLS_TELEMETRY_DISABLED: '1',
      SLS_NOTIFICATIONS_MODE: 'off',
    };
    const run = () =>
      execFileSync(
        join(ROOT, 'node_modules', '.bin', 'osls'),
        ['package', '--stage', 'test', '--region', 'eu-west-1', '--package', target, '--param', `registryFile=${bad}`],
        { cwd: ROOT, env, stdio: 'pipe', encoding: 'utf8' },
      );
    let failure: { status: number; stdout: string; stderr: string } | null = null;
    try {
      run();
    } catch (error) {
      failure = error as { status: number; stdout: string; stderr: string };
    }
    expect(failure?.status).not.toBe(0);
    expect(`${failure?.stdout}${failure?.stderr}`).toContain(`${bad}: invalid registry`);
    expect(`${failure?.stdout}${failure?.stderr}`).toContain(
      'roles[0] (arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit): trustedAccounts[0]: not a 12-digit account id',
    );
    expect(existsSync(join(target, 'cloudformation-template-update-stack.json'))).toBe(false);
  }, 120_000);

  it('packages each function alone, with the AWS SDK inside and no AGPL code', () => {
    const zips = readdirSync(out)
      .filter((f) => f.endsWith('.zip'))
      .sort();
    expect(zips).toEqual([
      'auditTrustPolicies.zip',
      'onAssumeRole.zip',
      'onTrustPolicyChange.zip',
      'orgCanary.zip',
      'orgSync.zip',
      'revoke.zip',
      'rotateExternalIds.zip',
      'slackActionWorker.zip',
      'slackActions.zip',
      'sweep.zip',
    ]);
    const expected: Record<string, string> = {
      auditTrustPolicies: 'audit-trust-policies',
      onAssumeRole: 'on-assume-role',
      onTrustPolicyChange: 'on-trust-policy-change',
      orgCanary: 'org-canary',
      orgSync: 'org-sync',
      revoke: 'revoke',
      rotateExternalIds: 'rotate-external-ids',
      slackActionWorker: 'slack-action-worker',
      slackActions: 'slack-actions',
      sweep: 'sweep',
    };
    for (const zip of zips) {
      const files = unzipSync(readFileSync(join(out, zip)));
      const base = `functions/${expected[zip.replace('.zip', '')]}.mjs`;
      expect(Object.keys(files).sort()).toEqual([base, `${base}.map`]);
      const code = Buffer.from(files[base]!).toString('utf8');
      // The IAM evaluator used by the tests is AGPL: it must never ship in a function.
      expect(code).not.toMatch(/cloud-copilot|iam-simulate/i);
    }
  });

  it('bundles a function that really runs: the packaged .mjs records an event in DynamoDB Local, revokes through IAM and alerts', async () => {
    const files = unzipSync(readFileSync(join(out, 'onAssumeRole.zip')));
    const bundle = join(out, 'unpacked', 'on-assume-role.mjs');
    mkdirSync(join(out, 'unpacked'));
    writeFileSync(bundle, files['functions/on-assume-role.mjs']!);
    // The AWS SDK is inside the bundle, not taken from the runtime.
    expect(readFileSync(bundle, 'utf8')).toContain('PutItem');
    const doc = testDynamo();
    const config = await createTestTables(doc, await createSessionsTable(doc));
    await createRegistryStore(doc, config.registryTable).replace(
      parseRegistryText(readFileSync(join(EVENTS_DIR, 'registry.yaml'), 'utf8'), 'registry.yaml'),
    );
    doc.destroy();
    const slack = await fakeSlack();
    const ssm = await fakeSsm('/roleguard/test/slack-webhook-url', `${slack.url}/services/T0/B0/secret`);
    const sns = await fakeSns();
    const iam = await fakeIam();
    const dynamo = await recordingProxy(testEndpoint());
    const recorder = recorderFor(config, [slack, ssm, sns, iam, dynamo]);
    const saved = { ...process.env };
    try {
      Object.assign(process.env, {
        SESSIONS_TABLE: config.sessionsTable,
        REGISTRY_TABLE: config.registryTable,
        ALERTS_TABLE: config.alertsTable,
        REVOCATIONS_TABLE: config.revocationsTable!,
        ALERT_TOPIC_ARN: 'arn:aws:sns:eu-west-1:111122223333:roleguard-test-alerts',
        SLACK_WEBHOOK_PARAMETER: '/roleguard/test/slack-webhook-url',
        AWS_REGION: LOCAL_AWS.region,
        AWS_ENDPOINT_URL_DYNAMODB: dynamo.url,
        AWS_ENDPOINT_URL_SSM: ssm.url,
        AWS_ENDPOINT_URL_SNS: sns.url,
        AWS_ENDPOINT_URL_IAM: iam.url,
        AWS_ACCESS_KEY_ID: LOCAL_AWS.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: LOCAL_AWS.credentials.secretAccessKey,
        POWERTOOLS_LOG_LEVEL: 'ERROR',
      });
      const { handler } = await import(pathToFileURL(bundle).href);
      // A fresh invocation of its 120 s timeout (a batch keeps one record's worst case in hand).
      const context = { functionName: 'onAssumeRole', awsRequestId: 'r1', getRemainingTimeInMillis: () => 120000 };
      const vendor = loadJson(join(EVENTS_DIR, 'eventbridge-assume-role-vendor.json'));
      // As deployed: SQS batches from the STS queue. The same event twice in a batch is recorded once.
      const none = { batchItemFailures: [] };
      expect(await handler(sqsBatch([vendor, vendor]), context)).toEqual(none);
      const check = testDynamo();
      const recorded = await check.send(new ScanCommand({ TableName: config.sessionsTable }));
      check.destroy();
      expect(recorded.Items?.map((i) => i.eventId)).toEqual(['8f1d3c52-9a7e-4b1f-b6a2-3c9d5e7f1a01']);
      expect(slack.received).toHaveLength(0);
      // As it arrives live: issued a minute ago, its credentials valid for an hour.
      const wrong = loadJson(join(EVENTS_DIR, 'eventbridge-assume-role-wrong-external-id.json')) as {
        detail: {
          eventTime: string;
          responseElements: { credentials: { expiration: string }; assumedRoleUser: { assumedRoleId: string } };
        };
      };
      wrong.detail.eventTime = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000)
        .toISOString()
        .replace('.000Z', 'Z');
      wrong.detail.responseElements.credentials.expiration = new Date(Date.now() + 3600_000).toISOString();
      expect(await handler(sqsBatch([wrong]), context)).toEqual(none);
      expect(slack.received).toHaveLength(1);
      expect(sns.received).toHaveLength(1);
      // The role's response is revoke: the session was revoked through IAM before the alert said so.
      // The role has no other inline policy: IAM accepts the write, so they are never listed.
      expect(iam.received.map((r) => new URLSearchParams(r.body).get('Action'))).toEqual([
        'GetRolePolicy',
        'PutRolePolicy',
      ]);
      const policy = JSON.parse(iam.policies.get('ExampleCorpAudit/roleguard-revocations')!);
      expect(policy.Statement).toEqual([
        expect.objectContaining({
          Effect: 'Deny',
          Condition: expect.objectContaining({
            StringEquals: { 'aws:userid': wrong.detail.responseElements.assumedRoleUser.assumedRoleId },
          }),
        }),
      ]);
      expect(slack.received[0]!.body).toContain('Revoked this session');
      // Every AWS request it sent is allowed by its own role (the permission proof).
      expect(await denials('OnAssumeRoleRole', recorder)).toEqual([]);
    } finally {
      process.env = saved;
      await Promise.all([slack.close(), ssm.close(), sns.close(), iam.close(), dynamo.close()]);
    }
  });
  it('bundles the rotate function so that it really runs: a due rotation sets both IDs through IAM and tells the vendor on SNS', async () => {
    const files = unzipSync(readFileSync(join(out, 'rotateExternalIds.zip')));
    mkdirSync(join(out, 'unpacked'), { recursive: true });
    const bundle = join(out, 'unpacked', 'rotate-external-ids.mjs');
    writeFileSync(bundle, files['functions/rotate-external-ids.mjs']!);
    const doc = testDynamo();
    const config = await createTestTables(doc, await createSessionsTable(doc));
    const registry = parseRegistryText(readFileSync(join(EVENTS_DIR, 'registry.yaml'), 'utf8'), 'registry.yaml');
    await createRegistryStore(doc, config.registryTable).replace(registry);
    const roleArn = registry.roles[0]!.roleArn;
    // The schedule has counted 91 days for this role: it is due.
    await createRotationStore(doc, config.registryTable).create(
      idleRotation(roleArn, new Date(Date.now() - 91 * 86_400_000).toISOString()),
    );
    const slack = await fakeSlack();
    const ssm = await fakeSsm('/roleguard/test/slack-webhook-url', `${slack.url}/services/T0/B0/secret`);
    const sns = await fakeSns();
    const iam = await fakeIam();
    const dynamo = await recordingProxy(testEndpoint());
    const recorder = recorderFor(config, [slack, ssm, sns, iam, dynamo]);
    const current = registry.roles[0]!.externalIds.current!;
    iam.trust.set(
      'ExampleCorpAudit',
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { AWS: 'arn:aws:iam::999988887777:root' },
            Action: 'sts:AssumeRole',
            Condition: { StringEquals: { 'sts:ExternalId': current } },
          },
        ],
      }),
    );
    const saved = { ...process.env };
    try {
      Object.assign(process.env, {
        SESSIONS_TABLE: config.sessionsTable,
        REGISTRY_TABLE: config.registryTable,
        ALERTS_TABLE: config.alertsTable,
        REVOCATIONS_TABLE: config.revocationsTable!,
        ALERT_TOPIC_ARN: 'arn:aws:sns:eu-west-1:111122223333:roleguard-test-alerts',
        ROTATION_TOPIC_ARN: 'arn:aws:sns:eu-west-1:111122223333:roleguard-test-rotation',
        SLACK_WEBHOOK_PARAMETER: '/roleguard/test/slack-webhook-url',
        AWS_REGION: LOCAL_AWS.region,
        AWS_ENDPOINT_URL_DYNAMODB: dynamo.url,
        AWS_ENDPOINT_URL_SSM: ssm.url,
        AWS_ENDPOINT_URL_SNS: sns.url,
        AWS_ENDPOINT_URL_IAM: iam.url,
        AWS_ACCESS_KEY_ID: LOCAL_AWS.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: LOCAL_AWS.credentials.secretAccessKey,
        POWERTOOLS_LOG_LEVEL: 'ERROR',
      });
      const { handler } = await import(pathToFileURL(bundle).href);
      const result = await handler(
        {},
        { functionName: 'rotateExternalIds', awsRequestId: 'r1', getRemainingTimeInMillis: () => 300000 },
      );
      expect(result).toEqual({ roles: 1, steps: [`${roleArn}: create`, `${roleArn}: set`, `${roleArn}: notify`] });
      const check = testDynamo();
      const rotation = (await createRotationStore(check, config.registryTable).get(roleArn))!;
      check.destroy();
      expect(rotation.phase).toBe('notified');
      expect(JSON.parse(iam.trust.get('ExampleCorpAudit')!).Statement[0].Condition).toEqual({
        StringEquals: { 'sts:ExternalId': [current, rotation.pendingId] },
      });
      // The vendor's contact got the new ID on the rotation topic; no security alert went out.
      expect(sns.received).toHaveLength(1);
      const published = new URLSearchParams(sns.received[0]!.body);
      expect(published.get('TopicArn')).toBe('arn:aws:sns:eu-west-1:111122223333:roleguard-test-rotation');
      expect(published.get('Message')).toContain(rotation.pendingId!);
      expect(slack.received).toHaveLength(0);
      expect(await denials('RotateExternalIdsRole', recorder)).toEqual([]);
    } finally {
      process.env = saved;
      doc.destroy();
      await Promise.all([slack.close(), ssm.close(), sns.close(), iam.close(), dynamo.close()]);
    }
  });
});
