import { createHash } from 'node:crypto';
import { TransactionCanceledException, type CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { GetCommand, QueryCommand, TransactWriteCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Finding } from '../detect/types.js';
import type { Alert, Channel } from './types.js';

/**
 * The alerts table (the outbox). Items:
 * - `finding#<recipient>#<eventId>#<kind>`: a finding already admitted; a redelivered event stops here.
 * - `window#<repeatKey>`: the open merge window for one kind of finding on one role from one caller.
 * - `alert#<alertId>`: the alert, its per-channel delivery state, count and window.
 * The sparse index `byDue` (`dueShard` = "due", `dueAt`) lists alerts the sweep must still work on.
 */
export function alertsTableDefinition(tableName: string): CreateTableCommandInput {
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

/** An alert as stored, with its delivery state. */
export interface StoredAlert extends Alert {
  channels: Record<Channel, 'pending' | 'sent' | 'skipped'>;
  attempts: number;
  state: 'pending' | 'delivered' | 'failed';
  windowEndsAt: string;
  summary: 'none' | 'due' | 'sent';
}

/** What admitting a finding did. */
export type Admission = { status: 'new'; alert: StoredAlert } | { status: 'merged'; alertId: string } | { status: 'duplicate'; alertId: string | null };

const hash = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 20);

/** Findings with the same key within the window are merged into one alert. */
export function repeatKey(f: Finding): string {
  return [f.kind, f.roleArn, f.callerAccountId ?? f.context.callerType, f.context.externalId ?? '-'].join('|');
}

/** The outbox operations. */
export interface Outbox {
  admit(finding: Finding, alert: Pick<Alert, 'action' | 'nextStep'>, options: { now: Date; windowSeconds: number; channels: Channel[] }): Promise<Admission>;
  get(alertId: string): Promise<StoredAlert | null>;
  markSent(alertId: string, channel: Channel): Promise<void>;
  settle(alertId: string, outcome: { delivered: boolean; now: Date; retryAt?: Date; failed?: boolean }): Promise<void>;
  markSummarySent(alertId: string): Promise<void>;
  due(now: Date, limit?: number): Promise<StoredAlert[]>;
}

/** Build the DynamoDB outbox. */
export function createOutbox(doc: DynamoDBDocumentClient, tableName: string): Outbox {
  const alertKey = (alertId: string) => ({ pk: `alert#${alertId}` });
  const fromItem = (item: Record<string, unknown>): StoredAlert => item.alert as StoredAlert;

  return {
    async admit(finding, text, { now, windowSeconds, channels }) {
      const markerPk = `finding#${finding.context.recipientAccountId}#${finding.eventId}#${finding.kind}`;
      const windowPk = `window#${hash(repeatKey(finding))}`;
      const alertId = hash(markerPk);
      const at = now.toISOString();
      const windowEndsAt = new Date(now.getTime() + windowSeconds * 1000).toISOString();
      const alert: StoredAlert = {
        alertId, finding, count: 1, firstAt: finding.context.at, lastAt: finding.context.at, ...text,
        channels: { slack: channels.includes('slack') ? 'pending' : 'skipped', sns: channels.includes('sns') ? 'pending' : 'skipped' },
        attempts: 0, state: 'pending', windowEndsAt, summary: 'none',
      };
      try {
        await doc.send(
          new TransactWriteCommand({
            TransactItems: [
              { Put: { TableName: tableName, Item: { pk: markerPk, alertId }, ConditionExpression: 'attribute_not_exists(pk)' } },
              { Put: { TableName: tableName, Item: { pk: windowPk, alertId, endsAt: windowEndsAt }, ConditionExpression: 'attribute_not_exists(pk) OR endsAt <= :now', ExpressionAttributeValues: { ':now': at } } },
              { Put: { TableName: tableName, Item: { ...alertKey(alertId), alert, dueShard: 'due', dueAt: at }, ConditionExpression: 'attribute_not_exists(pk)' } },
            ],
          }),
        );
        return { status: 'new', alert };
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        const [marker, window] = (error.CancellationReasons ?? []).map((r) => r.Code);
        if (marker === 'ConditionalCheckFailed') return { status: 'duplicate', alertId: await existingAlertId(markerPk) };
        if (window !== 'ConditionalCheckFailed') throw error;
      }
      // A window is open: merge into its alert, and make sure the repeats get one summary when the window closes.
      const open = (await doc.send(new GetCommand({ TableName: tableName, Key: { pk: windowPk }, ConsistentRead: true }))).Item;
      if (!open) throw new Error(`merge window ${windowPk} vanished; the event will be retried`);
      try {
        await doc.send(
          new TransactWriteCommand({
            TransactItems: [
              { Put: { TableName: tableName, Item: { pk: markerPk, alertId: open.alertId }, ConditionExpression: 'attribute_not_exists(pk)' } },
              {
                Update: {
                  TableName: tableName,
                  Key: alertKey(String(open.alertId)),
                  UpdateExpression: 'SET alert.#count = alert.#count + :one, alert.lastAt = :last, alert.summary = :due, dueShard = :shard, dueAt = if_not_exists(dueAt, :ends)',
                  ConditionExpression: 'attribute_exists(pk)',
                  ExpressionAttributeNames: { '#count': 'count' },
                  ExpressionAttributeValues: { ':one': 1, ':last': finding.context.at, ':due': 'due', ':shard': 'due', ':ends': open.endsAt },
                },
              },
            ],
          }),
        );
        return { status: 'merged', alertId: String(open.alertId) };
      } catch (error) {
        if (error instanceof TransactionCanceledException && error.CancellationReasons?.[0]?.Code === 'ConditionalCheckFailed') return { status: 'duplicate', alertId: await existingAlertId(markerPk) };
        throw error;
      }
    },
    async get(alertId) {
      const item = (await doc.send(new GetCommand({ TableName: tableName, Key: alertKey(alertId), ConsistentRead: true }))).Item;
      return item ? fromItem(item) : null;
    },
    async markSent(alertId, channel) {
      await doc.send(new UpdateCommand({ TableName: tableName, Key: alertKey(alertId), UpdateExpression: 'SET alert.channels.#c = :sent', ExpressionAttributeNames: { '#c': channel }, ExpressionAttributeValues: { ':sent': 'sent' } }));
    },
    async settle(alertId, { delivered, now, retryAt, failed }) {
      if (delivered) {
        // Delivered: leave the due index unless a repeat summary is still owed when the window closes.
        const current = await this.get(alertId);
        const summaryOwed = current?.summary === 'due';
        await doc.send(
          new UpdateCommand({
            TableName: tableName,
            Key: alertKey(alertId),
            UpdateExpression: summaryOwed ? 'SET alert.#state = :delivered, dueAt = :ends ADD alert.attempts :one' : 'SET alert.#state = :delivered REMOVE dueShard, dueAt ADD alert.attempts :one',
            ExpressionAttributeNames: { '#state': 'state' },
            ExpressionAttributeValues: { ':delivered': 'delivered', ':one': 1, ...(summaryOwed ? { ':ends': current!.windowEndsAt } : {}) },
          }),
        );
        return;
      }
      await doc.send(
        new UpdateCommand({
          TableName: tableName,
          Key: alertKey(alertId),
          UpdateExpression: failed ? 'SET alert.#state = :failed, alert.failedAt = :now REMOVE dueShard, dueAt ADD alert.attempts :one' : 'SET dueAt = :retry ADD alert.attempts :one',
          // DynamoDB rejects a name the expression does not use.
          ...(failed ? { ExpressionAttributeNames: { '#state': 'state' } } : {}),
          ExpressionAttributeValues: failed ? { ':failed': 'failed', ':now': now.toISOString(), ':one': 1 } : { ':retry': (retryAt ?? now).toISOString(), ':one': 1 },
        }),
      );
    },
    async markSummarySent(alertId) {
      await doc.send(new UpdateCommand({ TableName: tableName, Key: alertKey(alertId), UpdateExpression: 'SET alert.summary = :sent REMOVE dueShard, dueAt', ExpressionAttributeValues: { ':sent': 'sent' } }));
    },
    async due(now, limit = 100) {
      const page = await doc.send(
        new QueryCommand({ TableName: tableName, IndexName: 'byDue', KeyConditionExpression: 'dueShard = :due AND dueAt <= :now', ExpressionAttributeValues: { ':due': 'due', ':now': now.toISOString() }, Limit: limit }),
      );
      return (page.Items ?? []).map(fromItem);
    },
  };

  async function existingAlertId(markerPk: string): Promise<string | null> {
    const item = (await doc.send(new GetCommand({ TableName: tableName, Key: { pk: markerPk }, ConsistentRead: true }))).Item;
    return item ? String(item.alertId) : null;
  }
}
