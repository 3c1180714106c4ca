import { createDocumentClient } from '../lib/deps.js';
import { LOCAL_AWS, startDynamoDbLocal, type DynamoDbLocal } from '../lib/local/dynamodb-local.js';
import { ensureTable } from '../lib/local/tables.js';
import { sessionsTableDefinition } from '../lib/sessions/index.js';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** Where the CLI keeps its data: an embedded DynamoDB Local it owns, or an endpoint the user runs. */
export interface LocalStore {
  dynamo: DynamoDBDocumentClient;
  endpoint: string;
  embedded: boolean;
  close(): Promise<void>;
}

/** Open the store for a local run and create the tables it needs. The embedded one is stopped by `close()`. */
export async function openLocalStore(options: { endpoint?: string; sessionsTable: string }): Promise<LocalStore> {
  let local: DynamoDbLocal | null = null;
  let endpoint = options.endpoint;
  if (!endpoint) {
    local = await startDynamoDbLocal();
    endpoint = local.endpoint;
  }
  // Credentials from the environment are used for a user's own endpoint when present; DynamoDB Local accepts any.
  const useLocalCredentials = local !== null || !process.env.AWS_ACCESS_KEY_ID;
  const dynamo = createDocumentClient({ endpoint, region: process.env.AWS_REGION ?? LOCAL_AWS.region, ...(useLocalCredentials ? { credentials: LOCAL_AWS.credentials } : {}) });
  try {
    // No TTL here: DynamoDB Local deletes expired items by wall-clock time, and a replay of old logs runs on its own
    // clock, so TTL would delete sessions mid-run and let their redeliveries count as new.
    await ensureTable(dynamo, sessionsTableDefinition(options.sessionsTable));
  } catch (error) {
    dynamo.destroy();
    await local?.stop();
    throw error;
  }
  return {
    dynamo,
    endpoint,
    embedded: local !== null,
    async close() {
      dynamo.destroy();
      await local?.stop();
    },
  };
}
