import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { ROOT } from '../helpers/fixtures.js';

// A function's cold start builds only what every invocation needs (its DynamoDB client, and the Slack receiver's
// Lambda client). SNS, IAM, STS and SSM are built when an alert, a revocation, a spoke account or a secret first needs
// them: each client built at init costs about 1 % of a cold start (bench/README.md), and most invocations use none.
const LAZY: [string, string][] = [
  ['@aws-sdk/client-sns', 'SNSClient'],
  ['@aws-sdk/client-iam', 'IAMClient'],
  ['@aws-sdk/client-sts', 'STSClient'],
  ['@aws-sdk/client-ssm', 'SSMClient'],
];
const built: string[] = [];
const saved = { ...process.env };

beforeAll(async () => {
  // Each client class, as every project module imports it, counts the instances built.
  for (const [path, name] of LAZY) {
    const actual = (await import(path)) as Record<string, unknown>;
    const Base = actual[name] as new (...args: unknown[]) => object;
    const Counted = class extends Base {
      constructor(...args: unknown[]) {
        super(...args);
        built.push(name);
      }
    };
    jest.unstable_mockModule(path, () => ({ ...actual, [name]: Counted }));
  }
  // The stack's environment (bench/main.ts); nothing is called at init, so no endpoint has to answer.
  Object.assign(process.env, {
    POWERTOOLS_LOG_LEVEL: 'ERROR',
    AWS_REGION: 'us-east-1',
    SESSIONS_TABLE: 't-sessions',
    REGISTRY_TABLE: 't-registry',
    ALERTS_TABLE: 't-alerts',
    REVOCATIONS_TABLE: 't-revocations',
    ALERT_TOPIC_ARN: 'arn:aws:sns:us-east-1:111122223333:t-alerts',
    ROTATION_TOPIC_ARN: 'arn:aws:sns:us-east-1:111122223333:t-rotation',
    SLACK_WEBHOOK_PARAMETER: '/t/slack-webhook-url',
    OWN_ROLE_ARNS: 'arn:aws:iam::111122223333:role/t-*',
    DECISIONS_TABLE: 't-decisions',
    SLACK_SIGNING_SECRET_PARAMETER: '/t/slack-signing-secret',
    SLACK_ACTION_FUNCTION: 't-slackActionWorker',
    SPOKE_ROLE_NAME: 't-spoke',
    AWS_ACCOUNT_ID: '111122223333',
  });
});
afterAll(() => {
  process.env = saved;
});

describe('a function cold start', () => {
  const functions = readdirSync(join(ROOT, 'functions'))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => f.replace(/\.ts$/, ''));

  it.each(functions)('%s builds no SNS, IAM, STS or SSM client', async (fn) => {
    const before = built.length;
    const module = (await import(`../../functions/${fn}.js`)) as { handler?: unknown };
    expect(typeof module.handler).toBe('function');
    expect(built.slice(before)).toEqual([]);
  });
});
