import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Config } from './config.js';
import { createLogger } from './logger.js';
import { createSessionStore, type SessionStore } from './sessions/index.js';

/** Everything a flow needs, built once per cold start (or per CLI run) and passed in. */
export interface Deps {
  config: Config;
  clients: { dynamo: DynamoDBDocumentClient };
  sessions: SessionStore;
  logger: Logger;
  /** The clock; replay substitutes each event's own time. */
  now: () => Date;
}

/** Build a DynamoDB document client; `undefined` values are dropped rather than rejected. */
export function createDocumentClient(config: DynamoDBClientConfig = {}): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient(config), { marshallOptions: { removeUndefinedValues: true } });
}

/** Build the deps object; tests and the CLI pass their own clients, logger or clock. */
export function createDeps(config: Config, overrides: Partial<Pick<Deps, 'logger' | 'now'>> & { dynamo?: DynamoDBDocumentClient } = {}): Deps {
  const dynamo = overrides.dynamo ?? createDocumentClient();
  return {
    config,
    clients: { dynamo },
    sessions: createSessionStore(dynamo, config.sessionsTable, config.sessionRetentionDays),
    logger: overrides.logger ?? createLogger(),
    now: overrides.now ?? (() => new Date()),
  };
}
