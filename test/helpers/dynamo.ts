import { randomUUID } from 'node:crypto';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { alertsTableDefinition } from '../../lib/alert/index.js';
import type { Config } from '../../lib/config.js';
import { createDocumentClient } from '../../lib/deps.js';
import { LOCAL_AWS } from '../../lib/local/dynamodb-local.js';
import { ensureTable } from '../../lib/local/tables.js';
import { registryTableDefinition } from '../../lib/registry/index.js';
import { revocationsTableDefinition } from '../../lib/revoke/store.js';
import { SESSION_TTL_ATTRIBUTE, sessionsTableDefinition } from '../../lib/sessions/index.js';

/** The DynamoDB Local endpoint the global setup started. */
export function testEndpoint(): string {
  const endpoint = process.env.ROLEGUARD_TEST_DYNAMODB_ENDPOINT;
  if (!endpoint) throw new Error('DynamoDB Local is not running: the jest global setup did not start it');
  return endpoint;
}

/** A document client for the test DynamoDB Local. */
export function testDynamo(): DynamoDBDocumentClient {
  return createDocumentClient({ ...LOCAL_AWS, endpoint: testEndpoint() });
}

/**
 * Create a fresh sessions table with a unique name, so test files never share state. TTL is off unless asked for:
 * DynamoDB Local deletes expired items by wall-clock time, which would remove old replayed sessions mid-test.
 */
export async function createSessionsTable(
  doc: DynamoDBDocumentClient,
  options: { ttl?: boolean } = {},
): Promise<string> {
  const name = `sessions-${randomUUID()}`;
  await ensureTable(doc, sessionsTableDefinition(name), options.ttl ? SESSION_TTL_ATTRIBUTE : undefined);
  return name;
}

/** Fresh registry and alerts tables, and a config naming them and the given sessions table. */
export async function createTestTables(
  doc: DynamoDBDocumentClient,
  sessionsTable: string,
  overrides: Partial<Config> = {},
): Promise<Config> {
  const registryTable = `registry-${randomUUID()}`;
  const alertsTable = `alerts-${randomUUID()}`;
  const revocationsTable = `revocations-${randomUUID()}`;
  await ensureTable(doc, registryTableDefinition(registryTable));
  await ensureTable(doc, alertsTableDefinition(alertsTable));
  await ensureTable(doc, revocationsTableDefinition(revocationsTable));
  return testConfig({ sessionsTable, registryTable, alertsTable, revocationsTable, ...overrides });
}

/** A complete config for tests. */
export function testConfig(overrides: Partial<Config> = {}): Config {
  return {
    sessionsTable: 'unset',
    sessionRetentionDays: 90,
    recordAwsServiceAssumes: false,
    registryTable: 'unset',
    registryCacheSeconds: 60,
    alertsTable: 'unset',
    alertWindowSeconds: 3600,
    alertTopicArn: null,
    slackWebhookParameter: null,
    revocationsTable: null,
    ownRoleArns: [],
    dryRun: false,
    rotationTopicArn: null,
    rotationSlackWebhookParameter: null,
    externalIdLength: 32,
    trustPolicySizeLimit: 2048,
    ...overrides,
  };
}
