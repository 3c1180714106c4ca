import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { unzipSync } from 'fflate';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LOCAL_AWS } from '../../lib/local/dynamodb-local.js';
import { sessionsTableDefinition } from '../../lib/sessions/index.js';
import { createSessionsTable, testDynamo, testEndpoint } from '../helpers/dynamo.js';
import { EVENTS_DIR, loadJson, ROOT } from '../helpers/fixtures.js';

type Resource = { Type: string; Properties: Record<string, any>; DeletionPolicy?: string };
let out: string;
let resources: Record<string, Resource>;

beforeAll(() => {
  out = mkdtempSync(join(tmpdir(), 'roleguard-package-'));
  // Offline and without AWS credentials, as on a fresh machine.
  const env = { ...process.env, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_PROFILE: '', SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' };
  execFileSync(join(ROOT, 'node_modules', '.bin', 'osls'), ['package', '--stage', 'test', '--region', 'eu-west-1', '--package', out], { cwd: ROOT, env, stdio: 'pipe' });
  resources = (JSON.parse(readFileSync(join(out, 'cloudformation-template-update-stack.json'), 'utf8')) as { Resources: Record<string, Resource> }).Resources;
}, 180_000);
afterAll(() => rmSync(out, { recursive: true, force: true }));

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

describe('packaged CloudFormation template (osls package)', () => {
  it('receives read-only STS events: raw rule with ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS', () => {
    const rule = resources.AssumeRoleEventsRule!.Properties;
    expect(rule.State).toBe('ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS');
    expect(rule.EventPattern).toEqual({
      source: ['aws.sts'],
      'detail-type': ['AWS API Call via CloudTrail'],
      detail: { eventSource: ['sts.amazonaws.com'], eventName: ['AssumeRole', 'AssumeRoleWithSAML', 'AssumeRoleWithWebIdentity'] },
    });
    expect(rule.Targets).toEqual([
      expect.objectContaining({
        Arn: { 'Fn::GetAtt': ['OnAssumeRoleLambdaFunction', 'Arn'] },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] } },
        RetryPolicy: { MaximumRetryAttempts: 24, MaximumEventAgeInSeconds: 21600 },
      }),
    ]);
    expect(resources.AssumeRoleEventsRulePermission!.Properties).toMatchObject({ Principal: 'events.amazonaws.com', SourceArn: { 'Fn::GetAtt': ['AssumeRoleEventsRule', 'Arn'] } });
  });

  it('dead-letters failed asynchronous invocations and failed deliveries to an encrypted queue', () => {
    expect(resources.DeadLetterQueue!.Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 1209600 });
    const [[, invokeConfig]] = ofType('AWS::Lambda::EventInvokeConfig') as [[string, Resource]];
    expect(invokeConfig.Properties).toMatchObject({ MaximumRetryAttempts: 2, DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] } } } });
    const statement = resources.DeadLetterQueuePolicy!.Properties.PolicyDocument.Statement[0];
    expect(statement).toMatchObject({ Principal: { Service: 'events.amazonaws.com' }, Action: 'sqs:SendMessage', Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': ['AssumeRoleEventsRule', 'Arn'] } } } });
  });

  it('runs on nodejs22.x with its own role, and log groups have a retention period', () => {
    const fn = resources.OnAssumeRoleLambdaFunction!.Properties;
    expect(fn.Runtime).toBe('nodejs22.x');
    expect(fn.Role).toEqual({ 'Fn::GetAtt': ['OnAssumeRoleRole', 'Arn'] });
    expect(fn.Environment.Variables).toMatchObject({ SESSIONS_TABLE: 'roleguard-test-sessions', SESSION_RETENTION_DAYS: '90' });
    for (const [, group] of ofType('AWS::Logs::LogGroup')) expect(group.Properties.RetentionInDays).toBeGreaterThan(0);
    expect(ofType('AWS::IAM::Role').map(([name]) => name)).toEqual(['OnAssumeRoleRole']);
  });

  it('grants the capture function exactly what it sends, on its own resources', () => {
    const statements = resources.OnAssumeRoleRole!.Properties.Policies.flatMap((p: any) => p.PolicyDocument.Statement);
    expect(statements.map((s: any) => [s.Sid, s.Action])).toEqual([
      ['WriteOwnLogs', ['logs:CreateLogStream', 'logs:PutLogEvents']],
      ['RecordSessions', ['dynamodb:PutItem', 'dynamodb:UpdateItem']],
      ['DeadLetterOnFailure', 'sqs:SendMessage'],
    ]);
    for (const s of statements) {
      expect(s.Effect).toBe('Allow');
      expect(JSON.stringify(s.Resource)).not.toMatch(/"\*"/);
      expect([s.Action].flat().some((a: string) => a.includes('*'))).toBe(false);
    }
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

  it('bundles a function that really runs: the packaged .mjs records an event in DynamoDB Local', async () => {
    const zip = readdirSync(out).find((f) => f.endsWith('.zip'))!;
    const files = unzipSync(readFileSync(join(out, zip)));
    expect(Object.keys(files).sort()).toEqual(['functions/on-assume-role.mjs', 'functions/on-assume-role.mjs.map']);
    const bundle = join(out, 'unpacked', 'on-assume-role.mjs');
    mkdirSync(join(out, 'unpacked'));
    writeFileSync(bundle, files['functions/on-assume-role.mjs']!);
    // The AWS SDK is inside the bundle, not taken from the runtime.
    expect(readFileSync(bundle, 'utf8')).toContain('PutItem');
    const doc = testDynamo();
    const table = await createSessionsTable(doc);
    doc.destroy();
    const saved = { ...process.env };
    try {
      Object.assign(process.env, { SESSIONS_TABLE: table, AWS_REGION: LOCAL_AWS.region, AWS_ENDPOINT_URL_DYNAMODB: testEndpoint(), AWS_ACCESS_KEY_ID: LOCAL_AWS.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: LOCAL_AWS.credentials.secretAccessKey, POWERTOOLS_LOG_LEVEL: 'ERROR' });
      const { handler } = await import(pathToFileURL(bundle).href);
      const context = { functionName: 'onAssumeRole', awsRequestId: 'r1', getRemainingTimeInMillis: () => 30000 };
      const event = loadJson(join(EVENTS_DIR, 'eventbridge-assume-role-vendor.json'));
      expect(await handler(event, context)).toEqual({ status: 'recorded', eventId: '8f1d3c52-9a7e-4b1f-b6a2-3c9d5e7f1a01' });
      expect(await handler(event, context)).toEqual({ status: 'duplicate', eventId: '8f1d3c52-9a7e-4b1f-b6a2-3c9d5e7f1a01' });
    } finally {
      process.env = saved;
    }
  });
});
