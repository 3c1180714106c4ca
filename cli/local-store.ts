import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Command } from 'commander';
import { alertsTableDefinition } from '../lib/alert/index.js';
import { createDocumentClient } from '../lib/deps.js';
import { type DynamoDbLocal, LOCAL_AWS, startDynamoDbLocal } from '../lib/local/dynamodb-local.js';
import { ensureTable } from '../lib/local/tables.js';
import { registryTableDefinition } from '../lib/registry/index.js';
import { revocationsTableDefinition } from '../lib/revoke/store.js';
import { sessionsTableDefinition } from '../lib/sessions/index.js';

/** The tables of one roleguard deployment (or of a local run). */
export interface TableNames {
  sessions: string;
  registry: string;
  alerts: string;
  revocations: string;
}

/** Where the CLI keeps its data: an embedded DynamoDB Local it owns, an endpoint the user runs, or a deployed stack. */
export interface LocalStore {
  dynamo: DynamoDBDocumentClient;
  /** The endpoint, or `aws:<region>` for a deployed stack. */
  endpoint: string;
  embedded: boolean;
  /** True for a deployed stack in a real account. */
  deployed: boolean;
  /** True when the data outlives the command (a deployed stack, an endpoint, or the embedded store with a data dir). */
  persistent: boolean;
  tables: TableNames;
  close(): Promise<void>;
}

/** The flags every command that reads or writes roleguard's tables takes. */
export interface StoreFlags {
  endpoint?: string;
  stage?: string;
  region?: string;
  profile?: string;
  table?: string;
  dataDir?: string;
}

/** Add the store flags to a command. */
export function addStoreOptions(command: Command): Command {
  return command
    .option('--endpoint <url>', 'use a DynamoDB (Local) that is already running instead of the embedded DynamoDB Local')
    .option('--stage <stage>', "use the deployed stack's tables (roleguard-<stage>-*) in a real account")
    .option('--region <region>', 'AWS Region of the deployed stack (with --stage)')
    .option('--profile <profile>', 'AWS profile for the deployed stack (with --stage)')
    .option(
      '--table <name>',
      'sessions table (default roleguard-local-sessions); its registry, alert outbox and revocations are <name>-registry, <name>-alerts and <name>-revocations',
    )
    .option(
      '--data-dir <dir>',
      "keep the embedded DynamoDB Local's data in this directory from one command to the next (default: $ROLEGUARD_DATA_DIR, else in memory)",
    );
}

/** Table names: a deployed stage's, or the local defaults. */
export function tableNames(flags: StoreFlags): TableNames {
  // --table names a separate set: its registry and alert outbox go with it, so two replays into different tables
  // never see each other's alerts as duplicates.
  if (flags.table)
    return {
      sessions: flags.table,
      registry: `${flags.table}-registry`,
      alerts: `${flags.table}-alerts`,
      revocations: `${flags.table}-revocations`,
    };
  const prefix = flags.stage ? `roleguard-${flags.stage}` : 'roleguard-local';
  return {
    sessions: `${prefix}-sessions`,
    registry: `${prefix}-registry`,
    alerts: `${prefix}-alerts`,
    revocations: `${prefix}-revocations`,
  };
}

/** Open the store and, locally, create the tables. The embedded DynamoDB Local is stopped by `close()`. */
export async function openLocalStore(flags: StoreFlags): Promise<LocalStore> {
  const tables = tableNames(flags);
  if (flags.stage) {
    if (flags.endpoint) throw new Error('--stage and --endpoint cannot be used together');
    if (!/^[\w-]{1,40}$/.test(flags.stage)) throw new Error('--stage must be letters, digits, - or _');
    // The standard credential chain; --profile selects a profile from the shared config files.
    if (flags.profile) process.env.AWS_PROFILE = flags.profile;
    const region = flags.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
    const dynamo = createDocumentClient(region ? { region } : {});
    return {
      dynamo,
      endpoint: `aws:${region ?? 'default region'}`,
      embedded: false,
      deployed: true,
      persistent: true,
      tables,
      close: async () => dynamo.destroy(),
    };
  }
  let local: DynamoDbLocal | null = null;
  let endpoint = flags.endpoint;
  if (!endpoint) {
    const dataDir = flags.dataDir ?? (process.env.ROLEGUARD_DATA_DIR?.trim() || undefined);
    local = await startDynamoDbLocal(dataDir ? { dataDir } : {});
    endpoint = local.endpoint;
  }
  // Credentials from the environment are used for a user's own endpoint when present; DynamoDB Local accepts any.
  const useLocalCredentials = local !== null || !process.env.AWS_ACCESS_KEY_ID;
  const dynamo = createDocumentClient({
    endpoint,
    region: process.env.AWS_REGION ?? LOCAL_AWS.region,
    ...(useLocalCredentials ? { credentials: LOCAL_AWS.credentials } : {}),
  });
  try {
    // No TTL here: DynamoDB Local deletes expired items by wall-clock time, and a replay of old logs runs on its own
    // clock, so TTL would delete sessions mid-run and let their redeliveries count as new.
    await ensureTable(dynamo, sessionsTableDefinition(tables.sessions));
    await ensureTable(dynamo, registryTableDefinition(tables.registry));
    await ensureTable(dynamo, alertsTableDefinition(tables.alerts));
    await ensureTable(dynamo, revocationsTableDefinition(tables.revocations));
  } catch (error) {
    dynamo.destroy();
    await local?.stop();
    throw error;
  }
  return {
    dynamo,
    endpoint,
    embedded: local !== null,
    deployed: false,
    persistent: local === null || Boolean(flags.dataDir ?? process.env.ROLEGUARD_DATA_DIR?.trim()),
    tables,
    async close() {
      dynamo.destroy();
      await local?.stop();
    },
  };
}

/**
 * Say so when the store is the embedded DynamoDB Local in memory: it started empty and is gone when the command ends,
 * so an empty answer means nothing. Written to stderr, so --json output stays one document.
 */
export function noteInMemory(store: LocalStore, command: string, what: string): void {
  if (store.persistent) return;
  process.stderr.write(
    `roleguard ${command}: note: the embedded DynamoDB Local is in memory: it started empty and is discarded when the command ends, so ${what}; use --data-dir DIR (or $ROLEGUARD_DATA_DIR), --endpoint or --stage\n`,
  );
}
