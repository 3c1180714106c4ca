import type { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  type AlertSenders,
  type Channel,
  createOutbox,
  DEFAULT_DELIVERY_POLICY,
  type DeliveryDeps,
  type DeliveryPolicy,
} from './alert/index.js';
import type { Config } from './config.js';
import { createLogger } from './logger.js';
import {
  cachedRegistry,
  createRegistryStore,
  indexRegistry,
  type Registry,
  type RegistryIndex,
} from './registry/index.js';
import { createRoleIdStore, type RoleIdStore } from './registry/role-ids.js';
import type { Revoker } from './revoke/respond.js';
import { createRevocationStore, type RevocationStore } from './revoke/store.js';
import { withRotations } from './rotate/overlay.js';
import { createRotationStore, type RotationStore } from './rotate/store.js';
import { createSessionStore, type SessionStore } from './sessions/index.js';
import type { Reapplier } from './trust/reapply.js';

/** Everything a flow needs, built once per cold start (or per CLI run) and passed in. */
export interface Deps {
  config: Config;
  clients: { dynamo: DynamoDBDocumentClient };
  sessions: SessionStore;
  /** The registry, indexed; cached for a short time in the Lambda functions. */
  registry: () => Promise<RegistryIndex>;
  alerts: DeliveryDeps & { channels: Channel[] };
  logger: Logger;
  /** The clock; replay substitutes each event's own time. */
  now: () => Date;
  /** Revokes sessions of roles with `response: revoke`: IAM in the deployed functions, an emulation in a replay. */
  revoker?: Revoker;
  /** The revocations table (intents, and the callers whose sessions were revoked); absent where it is not configured. */
  revocations?: RevocationStore;
  /** External-ID rotations (in the registry table): confirmed by assumes, and roleguard's own trust-policy writes. */
  rotations: RotationStore;
  /** The RoleId last seen of each registered role (in the registry table), to tell a re-created role. */
  roleIds: RoleIdStore;
  /** Re-applies roleguard's revocation policy on a role someone else changed; absent where IAM is not written. */
  reapply?: Reapplier;
}

/** Build a DynamoDB document client; `undefined` values are dropped rather than rejected. */
export function createDocumentClient(config: DynamoDBClientConfig = {}): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient(config), { marshallOptions: { removeUndefinedValues: true } });
}

/** Overrides for tests and the CLI. */
export interface DepsOverrides {
  dynamo?: DynamoDBDocumentClient;
  logger?: Logger;
  now?: () => Date;
  /** A fixed registry (replay's --registry file) instead of the registry table. */
  registry?: Registry;
  senders?: AlertSenders;
  deliveryPolicy?: DeliveryPolicy;
  revoker?: Revoker;
  reapply?: Reapplier;
}

/** Build the deps object. */
export function createDeps(config: Config, overrides: DepsOverrides = {}): Deps {
  const dynamo = overrides.dynamo ?? createDocumentClient();
  const logger = overrides.logger ?? createLogger();
  const senders = overrides.senders ?? {};
  const rotations = createRotationStore(dynamo, config.registryTable);
  // The registry (the table's, or a fixed one) as rotations have changed it: pending IDs accepted, finished ones
  // swapped. Cached together for a short time; the pipeline reads a rotation afresh before calling its ID unknown.
  const base = overrides.registry ?? null;
  const store = createRegistryStore(dynamo, config.registryTable);
  const cache = cachedRegistry(
    {
      load: async () => withRotations(base ?? (await store.load()), await rotations.list()),
      replace: (r) => store.replace(r),
    },
    config.registryCacheSeconds * 1000,
  );
  let indexed: { source: Registry; index: RegistryIndex } | null = null;
  const registry = async () => {
    const source = await cache.get();
    if (indexed?.source !== source) indexed = { source, index: indexRegistry(source, config.ownRoleArns) };
    return indexed.index;
  };
  return {
    config,
    clients: { dynamo },
    sessions: createSessionStore(dynamo, config.sessionsTable, config.sessionRetentionDays),
    registry,
    alerts: {
      outbox: createOutbox(dynamo, config.alertsTable),
      senders,
      logger,
      policy: overrides.deliveryPolicy ?? DEFAULT_DELIVERY_POLICY,
      slackButtons: config.slackActions === true,
      channels: (['slack', 'sns'] as const).filter((c) => senders[c] !== undefined),
    },
    logger,
    now: overrides.now ?? (() => new Date()),
    ...(overrides.revoker ? { revoker: overrides.revoker } : {}),
    ...(config.revocationsTable ? { revocations: createRevocationStore(dynamo, config.revocationsTable) } : {}),
    rotations,
    roleIds: createRoleIdStore(dynamo, config.registryTable),
    ...(overrides.reapply ? { reapply: overrides.reapply } : {}),
  };
}
