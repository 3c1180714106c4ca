import { randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException, type CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Registry } from './types.js';
import { roleToDocument, validateRegistry } from './validate.js';

/**
 * The registry table. Each import writes a whole new version (`pk` = `v#<version>`: one `config` item and one
 * `role#<roleArn>` item per role), then flips the pointer item (`pk` = `registry`, `sk` = `current`) in one
 * conditional write. Readers follow the pointer, so they see the old registry or the new one, never half of one.
 */
export function registryTableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
  };
}

const POINTER = { pk: 'registry', sk: 'current' };

/** The registry changed between the read an edit was based on and the edit's write: nothing was written. */
export class RegistryConflictError extends Error {
  constructor(tableName: string) {
    super(`the registry in ${tableName} changed since it was read`);
    this.name = 'RegistryConflictError';
  }
}

/** Load and store the registry in DynamoDB. */
export interface RegistryStore {
  /** The current registry, validated; an empty registry when none was imported yet. */
  load(): Promise<Registry>;
  /** The current registry and its version (null when none was imported yet), for an edit based on it. */
  loadVersioned(): Promise<{ registry: Registry; version: string | null }>;
  /**
   * Replace the whole registry atomically; returns the new version id. With `expectedVersion` (from
   * `loadVersioned`), the write happens only if the registry is still that version, else RegistryConflictError.
   */
  replace(registry: Registry, options?: { expectedVersion: string | null }): Promise<string>;
}

/** Build the DynamoDB-backed registry store. */
export function createRegistryStore(doc: DynamoDBDocumentClient, tableName: string): RegistryStore {
  async function deleteVersion(version: string): Promise<void> {
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await doc.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: 'pk = :v',
          ExpressionAttributeValues: { ':v': `v#${version}` },
          ProjectionExpression: 'pk, sk',
          ExclusiveStartKey,
        }),
      );
      for (let i = 0; i < (page.Items ?? []).length; i += 25) {
        let pending = page.Items!.slice(i, i + 25).map((Key) => ({ DeleteRequest: { Key } }));
        for (let attempt = 0; pending.length && attempt < 8; attempt++) {
          const out = await doc.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending } }));
          pending = (out.UnprocessedItems?.[tableName] ?? []) as typeof pending;
          if (pending.length) await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
        }
      }
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
  }

  async function loadVersioned(): Promise<{ registry: Registry; version: string | null }> {
    const pointer = (await doc.send(new GetCommand({ TableName: tableName, Key: POINTER, ConsistentRead: true }))).Item;
    if (!pointer) return { registry: { serviceRoleArns: [], protectedRoleArns: [], roles: [] }, version: null };
    const items: Record<string, unknown>[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await doc.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: 'pk = :v',
          ExpressionAttributeValues: { ':v': `v#${pointer.version}` },
          ConsistentRead: true,
          ExclusiveStartKey,
        }),
      );
      items.push(...(page.Items ?? []));
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    const config = items.find((i) => i.sk === 'config') ?? {};
    const roles = items.filter((i) => String(i.sk).startsWith('role#')).map((i) => i.role);
    // Validate what was stored too: a hand-edited table must not load half-valid data.
    const registry = validateRegistry(
      {
        serviceRoleArns: config.serviceRoleArns ?? [],
        protectedRoleArns: config.protectedRoleArns ?? [],
        roles,
        ...(config.approvers ? { approvers: config.approvers } : {}),
      },
      `DynamoDB table ${tableName} version ${pointer.version}`,
    );
    return { registry, version: pointer.version as string };
  }

  return {
    loadVersioned,
    async load() {
      return (await loadVersioned()).registry;
    },
    async replace(registry, options) {
      const version = `${new Date().toISOString()}-${randomUUID().slice(0, 8)}`;
      const pointer = (await doc.send(new GetCommand({ TableName: tableName, Key: POINTER, ConsistentRead: true })))
        .Item;
      const current = (pointer?.version as string | undefined) ?? null;
      // An edit based on an older read would silently undo whatever was written since: refused before any write.
      if (options && options.expectedVersion !== current) throw new RegistryConflictError(tableName);
      const previous = current ?? undefined;
      // The version before the previous one is deleted once the new one is current: one step of history is kept.
      const obsolete = (pointer?.previous as string | null | undefined) ?? null;
      const items = [
        {
          pk: `v#${version}`,
          sk: 'config',
          serviceRoleArns: registry.serviceRoleArns,
          protectedRoleArns: registry.protectedRoleArns,
          ...(registry.approvers ? { approvers: registry.approvers } : {}),
        },
        ...registry.roles.map((role) => ({
          pk: `v#${version}`,
          sk: `role#${role.roleArn}`,
          role: roleToDocument(role),
        })),
      ];
      for (let i = 0; i < items.length; i += 25) {
        let pending = items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
        for (let attempt = 0; pending.length; attempt++) {
          if (attempt > 8) throw new Error('DynamoDB kept returning unprocessed registry items');
          const out = await doc.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending } }));
          pending = (out.UnprocessedItems?.[tableName] ?? []) as typeof pending;
          if (pending.length) await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
        }
      }
      // Flip the pointer only if nobody else imported in the meantime (since the read the edit was based on).
      try {
        await doc.send(
          new PutCommand({
            TableName: tableName,
            Item: { ...POINTER, version, previous: previous ?? null },
            ConditionExpression: previous ? 'version = :previous' : 'attribute_not_exists(pk)',
            ...(previous ? { ExpressionAttributeValues: { ':previous': previous } } : {}),
          }),
        );
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        await deleteVersion(version);
        throw new RegistryConflictError(tableName);
      }
      if (obsolete) await deleteVersion(obsolete);
      return version;
    },
  };
}

/** Cache the registry for a short time, so a warm function does not read DynamoDB on every event. */
export function cachedRegistry(
  store: Pick<RegistryStore, 'load' | 'replace'>,
  maxAgeMs: number,
  now: () => number = Date.now,
): { get(): Promise<Registry>; invalidate(): void } {
  let cached: { at: number; value: Promise<Registry> } | null = null;
  return {
    get() {
      if (!cached || now() - cached.at > maxAgeMs) {
        const value = store.load();
        cached = { at: now(), value };
        // A failed load must not be cached.
        value.catch(() => {
          if (cached?.value === value) cached = null;
        });
      }
      return cached.value;
    },
    invalidate() {
      cached = null;
    },
  };
}
