import { createHash } from 'node:crypto';
import {
  ConditionalCheckFailedException,
  type CreateTableCommandInput,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Finding } from '../detect/types.js';
import { dueAttributes, dueIndexedTableDefinition, dueShardOf, queryDue } from '../dynamo/due-table.js';
import type { Alert, Channel } from './types.js';

/**
 * The alerts table (the outbox). Items:
 * - `finding#<recipient>#<eventId>#<kind>`: a finding already admitted; a redelivered event stops here.
 * - `window#<repeatKey>`: the open merge window for one kind of finding on one role from one caller.
 * - `alert#<alertId>`: the alert, its per-channel delivery state, count and window.
 * A dry run's findings and windows are kept apart (`dry-run#finding#…`, `dry-run#window#…`), so a dry run never
 * swallows a live alert as a duplicate or a repeat; its alerts have no channel pending, so they are never sent, and
 * the sweep takes them out of the due index.
 * The sparse index `byDue` (`dueShard` = one of 16 shards, `dueAt`) lists alerts the sweep must still work on.
 */
export function alertsTableDefinition(tableName: string): CreateTableCommandInput {
  return dueIndexedTableDefinition(tableName);
}

/** An alert as stored, with its delivery state. */
export interface StoredAlert extends Alert {
  channels: Record<Channel, 'pending' | 'sent' | 'skipped'>;
  attempts: number;
  state: 'pending' | 'delivered' | 'failed';
  windowEndsAt: string;
  summary: 'none' | 'due' | 'sent' | 'failed';
  /** Channels that already took the repeat summary (a channel that took it is never sent it again). */
  summarySent?: Channel[];
  /** Sweeps that failed to deliver the repeat summary. */
  summaryAttempts?: number;
  /** Recorded by a dry run: never sent. */
  dryRun?: boolean;
  /** Someone acknowledged it from Slack: no repeat summary is sent for it any more. */
  acknowledged?: { by: string; at: string };
}

/** What admitting a finding did. */
export type Admission =
  | { status: 'new'; alert: StoredAlert }
  | { status: 'merged'; alertId: string }
  | { status: 'duplicate'; alertId: string | null };

const hash = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 20);

/** Findings with the same key within the window are merged into one alert. */
export function repeatKey(f: Finding): string {
  return [f.kind, f.roleArn, f.callerAccountId ?? f.context.callerType, f.context.externalId ?? '-'].join('|');
}

/** The outbox operations. */
export interface Outbox {
  /** With `dryRun`, the alert is recorded apart from live ones, with no channel pending: it is never sent. */
  admit(
    finding: Finding,
    alert: Pick<Alert, 'action' | 'nextStep' | 'policy'>,
    options: { now: Date; windowSeconds: number; channels: Channel[]; dryRun?: boolean },
  ): Promise<Admission>;
  get(alertId: string): Promise<StoredAlert | null>;
  markSent(alertId: string, channel: Channel): Promise<void>;
  /** A delivery's outcome, with the channels it sent (`sent`), in one write. */
  settle(
    alertId: string,
    outcome: { delivered: boolean; now: Date; retryAt?: Date; failed?: boolean; sent?: Channel[] },
  ): Promise<void>;
  /** One channel took the repeat summary. */
  markSummaryChannelSent(alertId: string, channel: Channel): Promise<void>;
  /** Every channel took the repeat summary: the alert is done. */
  markSummarySent(alertId: string): Promise<void>;
  /** The repeat summary was not delivered: retry it at `retryAt`, or give up (`failed`). */
  deferSummary(alertId: string, outcome: { retryAt: Date; failed: boolean }): Promise<void>;
  /** Take an alert that must not be sent (a dry run's) out of the due index. */
  dismiss(alertId: string): Promise<void>;
  /** Acknowledged by a person: no more repeat summaries. False when there is no such alert. */
  acknowledge(alertId: string, by: string, now: Date): Promise<boolean>;
  due(now: Date, limit?: number): Promise<StoredAlert[]>;
}

// Concurrent transactions on the same items (copies of one event, or a burst of repeats) cancel each other with
// TransactionConflict; admitting again from the start is safe.
const ADMIT_TRIES = 5;
const isConflict = (error: unknown) =>
  error instanceof TransactionCanceledException &&
  (error.CancellationReasons ?? []).some((r) => r.Code === 'TransactionConflict');

/**
 * The writes that admit a new alert, as transaction items (the finding's marker, its merge window, the alert), for
 * the outbox's own transaction or another one (the revocation's closing transaction). Cancelled on the marker: a
 * duplicate; on the window: a repeat to merge (see `Outbox.admit`).
 */
export function admissionWrites(
  tableName: string,
  finding: Finding,
  text: Pick<Alert, 'action' | 'nextStep' | 'policy'>,
  { now, windowSeconds, channels, dryRun = false }: Parameters<Outbox['admit']>[2],
) {
  const prefix = dryRun ? 'dry-run#' : '';
  const markerPk = `${prefix}finding#${finding.context.recipientAccountId}#${finding.eventId}#${finding.kind}`;
  const windowPk = `${prefix}window#${hash(repeatKey(finding))}`;
  const alertId = hash(markerPk);
  const at = now.toISOString();
  const windowEndsAt = new Date(now.getTime() + windowSeconds * 1000).toISOString();
  const channelState = (c: Channel) => (!dryRun && channels.includes(c) ? 'pending' : 'skipped');
  const alert: StoredAlert = {
    alertId,
    finding,
    count: 1,
    firstAt: finding.context.at,
    lastAt: finding.context.at,
    ...text,
    channels: { slack: channelState('slack'), sns: channelState('sns') },
    attempts: 0,
    state: 'pending',
    windowEndsAt,
    summary: 'none',
    ...(dryRun ? { dryRun: true } : {}),
  };
  const items = [
    { Put: { TableName: tableName, Item: { pk: markerPk, alertId }, ConditionExpression: 'attribute_not_exists(pk)' } },
    {
      Put: {
        TableName: tableName,
        Item: { pk: windowPk, alertId, endsAt: windowEndsAt },
        ConditionExpression: 'attribute_not_exists(pk) OR endsAt <= :now',
        ExpressionAttributeValues: { ':now': at },
      },
    },
    {
      Put: {
        TableName: tableName,
        Item: { pk: `alert#${alertId}`, alert, ...dueAttributes(`alert#${alertId}`, at) },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    },
  ];
  return { items, alert, markerPk, windowPk };
}

/** Build the DynamoDB outbox. */
export function createOutbox(doc: DynamoDBDocumentClient, tableName: string): Outbox {
  const alertKey = (alertId: string) => ({ pk: `alert#${alertId}` });
  const fromItem = (item: Record<string, unknown>): StoredAlert => item.alert as StoredAlert;

  async function admitOnce(
    finding: Finding,
    text: Pick<Alert, 'action' | 'nextStep' | 'policy'>,
    options: Parameters<Outbox['admit']>[2],
  ): Promise<Admission> {
    const { items, alert, markerPk, windowPk } = admissionWrites(tableName, finding, text, options);
    const { dryRun = false } = options;
    try {
      await doc.send(new TransactWriteCommand({ TransactItems: items }));
      return { status: 'new', alert };
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const [marker, window] = (error.CancellationReasons ?? []).map((r) => r.Code);
      if (marker === 'ConditionalCheckFailed') return { status: 'duplicate', alertId: await existingAlertId(markerPk) };
      if (window !== 'ConditionalCheckFailed') throw error;
    }
    // A window is open: merge into its alert, and make sure the repeats get one summary when the window closes.
    const open = (await doc.send(new GetCommand({ TableName: tableName, Key: { pk: windowPk }, ConsistentRead: true })))
      .Item;
    if (!open) throw new Error(`merge window ${windowPk} vanished; the event will be retried`);
    try {
      await doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: tableName,
                Item: { pk: markerPk, alertId: open.alertId },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            {
              Update: {
                TableName: tableName,
                Key: alertKey(String(open.alertId)),
                // A dry run's alert only counts the repeat: it owes no summary.
                UpdateExpression: dryRun
                  ? 'SET alert.#count = alert.#count + :one, alert.lastAt = :last'
                  : 'SET alert.#count = alert.#count + :one, alert.lastAt = :last, alert.summary = :due, dueShard = :shard, dueAt = if_not_exists(dueAt, :ends)',
                ConditionExpression: 'attribute_exists(pk)',
                ExpressionAttributeNames: { '#count': 'count' },
                ExpressionAttributeValues: {
                  ':one': 1,
                  ':last': finding.context.at,
                  ...(dryRun
                    ? {}
                    : { ':due': 'due', ':shard': dueShardOf(`alert#${open.alertId}`), ':ends': open.endsAt }),
                },
              },
            },
          ],
        }),
      );
      return { status: 'merged', alertId: String(open.alertId) };
    } catch (error) {
      if (
        error instanceof TransactionCanceledException &&
        error.CancellationReasons?.[0]?.Code === 'ConditionalCheckFailed'
      )
        return { status: 'duplicate', alertId: await existingAlertId(markerPk) };
      throw error;
    }
  }

  return {
    async admit(finding, text, options) {
      for (let attempt = 1; ; attempt++) {
        try {
          return await admitOnce(finding, text, options);
        } catch (error) {
          if (attempt >= ADMIT_TRIES || !isConflict(error)) throw error;
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt));
        }
      }
    },
    async get(alertId) {
      const item = (
        await doc.send(new GetCommand({ TableName: tableName, Key: alertKey(alertId), ConsistentRead: true }))
      ).Item;
      return item ? fromItem(item) : null;
    },
    async markSent(alertId, channel) {
      await doc.send(
        new UpdateCommand({
          TableName: tableName,
          Key: alertKey(alertId),
          UpdateExpression: 'SET alert.channels.#c = :sent',
          ExpressionAttributeNames: { '#c': channel },
          ExpressionAttributeValues: { ':sent': 'sent' },
        }),
      );
    },
    async settle(alertId, { delivered, now, retryAt, failed, sent = [] }) {
      // The channels this delivery sent are marked in the same write (one bookkeeping write per delivery).
      const sentSet = sent.map((_, i) => `, alert.channels.#c${i} = :sent`).join('');
      const sentNames = Object.fromEntries(sent.map((c, i) => [`#c${i}`, c]));
      const sentValues = sent.length ? { ':sent': 'sent' } : {};
      if (delivered) {
        // Delivered: leave the due index unless a repeat summary is still owed when the window closes. Decided in
        // the write itself, so that a repeat merged meanwhile (which owes a summary) is not lost.
        try {
          await doc.send(
            new UpdateCommand({
              TableName: tableName,
              Key: alertKey(alertId),
              UpdateExpression: `SET alert.#state = :delivered${sentSet} REMOVE dueShard, dueAt ADD alert.attempts :one`,
              ConditionExpression: 'alert.summary <> :due',
              ExpressionAttributeNames: { '#state': 'state', ...sentNames },
              ExpressionAttributeValues: { ':delivered': 'delivered', ':one': 1, ':due': 'due', ...sentValues },
            }),
          );
        } catch (error) {
          if (!(error instanceof ConditionalCheckFailedException)) throw error;
          await doc.send(
            new UpdateCommand({
              TableName: tableName,
              Key: alertKey(alertId),
              UpdateExpression: `SET alert.#state = :delivered${sentSet}, dueShard = :shard, dueAt = alert.windowEndsAt ADD alert.attempts :one`,
              ExpressionAttributeNames: { '#state': 'state', ...sentNames },
              ExpressionAttributeValues: {
                ':delivered': 'delivered',
                ':one': 1,
                ':shard': dueShardOf(`alert#${alertId}`),
                ...sentValues,
              },
            }),
          );
        }
        return;
      }
      await doc.send(
        new UpdateCommand({
          TableName: tableName,
          Key: alertKey(alertId),
          UpdateExpression: failed
            ? `SET alert.#state = :failed, alert.failedAt = :now${sentSet} REMOVE dueShard, dueAt ADD alert.attempts :one`
            : `SET dueAt = :retry${sentSet} ADD alert.attempts :one`,
          // DynamoDB rejects a name the expression does not use.
          ...(failed || sent.length
            ? { ExpressionAttributeNames: { ...(failed ? { '#state': 'state' } : {}), ...sentNames } }
            : {}),
          ExpressionAttributeValues: failed
            ? { ':failed': 'failed', ':now': now.toISOString(), ':one': 1, ...sentValues }
            : { ':retry': (retryAt ?? now).toISOString(), ':one': 1, ...sentValues },
        }),
      );
    },
    async markSummaryChannelSent(alertId, channel) {
      await doc.send(
        new UpdateCommand({
          TableName: tableName,
          Key: alertKey(alertId),
          UpdateExpression: 'SET alert.summarySent = list_append(if_not_exists(alert.summarySent, :none), :channel)',
          ExpressionAttributeValues: { ':none': [], ':channel': [channel] },
        }),
      );
    },
    async markSummarySent(alertId) {
      await doc.send(
        new UpdateCommand({
          TableName: tableName,
          Key: alertKey(alertId),
          UpdateExpression: 'SET alert.summary = :sent REMOVE dueShard, dueAt',
          ExpressionAttributeValues: { ':sent': 'sent' },
        }),
      );
    },
    async deferSummary(alertId, { retryAt, failed }) {
      await doc.send(
        new UpdateCommand({
          TableName: tableName,
          Key: alertKey(alertId),
          UpdateExpression: failed
            ? 'SET alert.summary = :failed, alert.summaryAttempts = if_not_exists(alert.summaryAttempts, :zero) + :one REMOVE dueShard, dueAt'
            : 'SET dueAt = :retry, alert.summaryAttempts = if_not_exists(alert.summaryAttempts, :zero) + :one',
          ExpressionAttributeValues: {
            ':zero': 0,
            ':one': 1,
            ...(failed ? { ':failed': 'failed' } : { ':retry': retryAt.toISOString() }),
          },
        }),
      );
    },
    async dismiss(alertId) {
      await doc.send(
        new UpdateCommand({ TableName: tableName, Key: alertKey(alertId), UpdateExpression: 'REMOVE dueShard, dueAt' }),
      );
    },
    async acknowledge(alertId, by, now) {
      try {
        // A delivered alert leaves the due index; one whose first delivery is still pending stays for it.
        await doc.send(
          new UpdateCommand({
            TableName: tableName,
            Key: alertKey(alertId),
            UpdateExpression: 'SET alert.acknowledged = :ack, alert.summary = :none',
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeValues: { ':ack': { by, at: now.toISOString() }, ':none': 'none' },
          }),
        );
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return false;
        throw error;
      }
      return true;
    },
    async due(now, limit = 100) {
      return (await queryDue(doc, tableName, now, limit)).map(fromItem);
    },
  };

  async function existingAlertId(markerPk: string): Promise<string | null> {
    const item = (await doc.send(new GetCommand({ TableName: tableName, Key: { pk: markerPk }, ConsistentRead: true })))
      .Item;
    return item ? String(item.alertId) : null;
  }
}

/**
 * The other copy of a cross-account assume names the caller that the deciding copy (the role owner's, with an
 * AWSAccount identity) could not: add its ARN to the stored alert of the decided finding, when the alert is that
 * finding's own (not merged into another) and has no caller ARN yet. One read of the finding's marker and one
 * conditional write; a repeat or a race is a no-op, and a finding not admitted yet is left alone.
 */
export async function addCallerArnToFinding(
  doc: DynamoDBDocumentClient,
  tableName: string,
  decided: { recipientAccountId: string; eventId: string; kind: Finding['kind'] },
  callerArn: string,
  dryRun = false,
): Promise<boolean> {
  const markerPk = `${dryRun ? 'dry-run#' : ''}finding#${decided.recipientAccountId}#${decided.eventId}#${decided.kind}`;
  const marker = (await doc.send(new GetCommand({ TableName: tableName, Key: { pk: markerPk }, ConsistentRead: true })))
    .Item;
  if (!marker) return false;
  try {
    await doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { pk: `alert#${String(marker.alertId)}` },
        UpdateExpression: 'SET alert.finding.context.callerArn = :arn',
        ConditionExpression:
          'alert.finding.eventId = :event AND (attribute_not_exists(alert.finding.context.callerArn) OR attribute_type(alert.finding.context.callerArn, :null))',
        ExpressionAttributeValues: { ':arn': callerArn, ':event': decided.eventId, ':null': 'NULL' },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}
