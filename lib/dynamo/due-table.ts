import { createHash } from 'node:crypto';
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';

/**
 * A table keyed by `pk` alone, with the sparse index `byDue` (`dueShard`, `dueAt`): items with work still due carry
 * both attributes, so a sweep finds them oldest first, and drops them from the index by removing them. `dueShard`
 * spreads them over DUE_SHARDS partitions of the index (`due#0` … `due#15`, from a hash of `pk`), so that the alerts
 * and revocations of a large organization do not queue on one partition; the sweep queries every shard.
 */
export function dueIndexedTableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'dueShard', AttributeType: 'S' },
      { AttributeName: 'dueAt', AttributeType: 'S' },
    ],
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    GlobalSecondaryIndexes: [
      {
        IndexName: 'byDue',
        KeySchema: [
          { AttributeName: 'dueShard', KeyType: 'HASH' },
          { AttributeName: 'dueAt', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ],
  };
}

/** How many partitions of the due index items are spread over. */
export const DUE_SHARDS = 16;
/** The one shard every due item had before sharding: still queried, so items written before an upgrade are found. */
export const LEGACY_DUE_SHARD = 'due';

/** The due shard of an item: `due#<n>`, n from a hash of its `pk` (an item always lands on the same shard). */
export function dueShardOf(pk: string): string {
  return `due#${createHash('sha256').update(pk).digest().readUInt32BE(0) % DUE_SHARDS}`;
}

/** The attributes that put an item on the due index at `dueAt` (ISO-8601). */
export function dueAttributes(pk: string, dueAt: string): { dueShard: string; dueAt: string } {
  return { dueShard: dueShardOf(pk), dueAt };
}

/**
 * Every item due by `now`, oldest first, at most `limit`: each shard (and the legacy one) is queried in parallel,
 * each up to `limit`, and the answers merged by `dueAt`.
 */
export async function queryDue(
  doc: DynamoDBDocumentClient,
  tableName: string,
  now: Date,
  limit: number,
): Promise<Record<string, unknown>[]> {
  const shards = [LEGACY_DUE_SHARD, ...Array.from({ length: DUE_SHARDS }, (_, n) => `due#${n}`)];
  const perShard = await Promise.all(
    shards.map(async (shard) => {
      const items: Record<string, unknown>[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const page = await doc.send(
          new QueryCommand({
            TableName: tableName,
            IndexName: 'byDue',
            KeyConditionExpression: 'dueShard = :shard AND dueAt <= :now',
            ExpressionAttributeValues: { ':shard': shard, ':now': now.toISOString() },
            Limit: limit - items.length,
            ExclusiveStartKey: start,
          }),
        );
        items.push(...(page.Items ?? []));
        start = page.LastEvaluatedKey;
      } while (start && items.length < limit);
      return items;
    }),
  );
  return perShard
    .flat()
    .sort((a, b) => (String(a.dueAt) < String(b.dueAt) ? -1 : String(a.dueAt) > String(b.dueAt) ? 1 : 0))
    .slice(0, limit);
}
