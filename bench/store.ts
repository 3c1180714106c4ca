import { readFileSync } from 'node:fs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { alertsTableDefinition } from '../lib/alert/index.js';
import { loadConfig } from '../lib/config.js';
import { createDeps, createDocumentClient, type Deps, type DepsOverrides } from '../lib/deps.js';
import { type DynamoDbLocal, LOCAL_AWS, startDynamoDbLocal } from '../lib/local/dynamodb-local.js';
import { ensureTable } from '../lib/local/tables.js';
import { createLogger } from '../lib/logger.js';
import type { Registry } from '../lib/registry/index.js';
import { registryTableDefinition } from '../lib/registry/index.js';
import { parseRegistryText } from '../lib/registry/text.js';
import { emulatedRevoker } from '../lib/revoke/respond.js';
import { createRevocationStore, revocationsTableDefinition } from '../lib/revoke/store.js';
import { sessionsTableDefinition } from '../lib/sessions/index.js';

/** The fixed registry every figure uses: the sample one, with ExampleCorpAudit set to `response: revoke`. */
export const REGISTRY_FILE = 'events/registry.yaml';

/** One set of roleguard's tables. */
export interface Tables {
  sessions: string;
  registry: string;
  alerts: string;
  revocations: string;
}

/** The DynamoDB Local every figure shares, and fresh tables on it. */
export interface BenchStore {
  local: DynamoDbLocal;
  dynamo: DynamoDBDocumentClient;
  registry: Registry;
  /** A new set of empty tables, so that one measurement never sees another's items. */
  freshTables(): Promise<Tables>;
  close(): Promise<void>;
}

/** Start DynamoDB Local (Java) on a free port and read the registry file. */
export async function openBenchStore(): Promise<BenchStore> {
  const registry = parseRegistryText(readFileSync(REGISTRY_FILE, 'utf8'), REGISTRY_FILE);
  const local = await startDynamoDbLocal();
  const dynamo = benchDocumentClient(local.endpoint);
  let sets = 0;
  return {
    local,
    dynamo,
    registry,
    async freshTables() {
      const p = `bench${sets++}`;
      const tables = {
        sessions: `${p}-sessions`,
        registry: `${p}-registry`,
        alerts: `${p}-alerts`,
        revocations: `${p}-revocations`,
      };
      await ensureTable(dynamo, sessionsTableDefinition(tables.sessions));
      await ensureTable(dynamo, registryTableDefinition(tables.registry));
      await ensureTable(dynamo, alertsTableDefinition(tables.alerts));
      await ensureTable(dynamo, revocationsTableDefinition(tables.revocations));
      return tables;
    },
    async close() {
      dynamo.destroy();
      await local.stop();
    },
  };
}

/** A document client for the bench's DynamoDB Local, as the CLI builds one. */
export function benchDocumentClient(endpoint: string): DynamoDBDocumentClient {
  return createDocumentClient({ ...LOCAL_AWS, endpoint });
}

/** The configuration of a function or a CLI run on these tables. */
export function benchConfig(tables: Tables, extra: Record<string, string> = {}) {
  return loadConfig({
    SESSIONS_TABLE: tables.sessions,
    REGISTRY_TABLE: tables.registry,
    ALERTS_TABLE: tables.alerts,
    REVOCATIONS_TABLE: tables.revocations,
    ...extra,
  });
}

/**
 * Deps as `roleguard replay --registry events/registry.yaml` builds them (cli/replay-command.ts): the fixed registry,
 * no alert channels, revocations emulated against the revocations table.
 */
export function replayDeps(
  dynamo: DynamoDBDocumentClient,
  registry: Registry,
  tables: Tables,
  overrides: DepsOverrides = {},
): Deps {
  const logger = createLogger({ level: 'WARN' });
  const revoker = emulatedRevoker({ store: createRevocationStore(dynamo, tables.revocations) });
  return createDeps(benchConfig(tables), { dynamo, logger, registry, senders: {}, revoker, ...overrides });
}
