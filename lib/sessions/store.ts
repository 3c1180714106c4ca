import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { AssumeEvent } from '../cloudtrail/types.js';
import { type SessionView, sessionKey, sharedSessionKey, toSessionItem, toSessionView } from './item.js';
import { addWhatTheCopyKnows, copyRelation, type RawItem, withConflictRetry } from './shared.js';
import { SESSION_INDEX } from './table.js';

/**
 * What recording found: `new` (first delivery), `duplicate` (already recorded and fully processed),
 * `unfinished` (recorded by an earlier delivery that did not finish processing it, so it must be processed again) or
 * an `OtherCopy` (the other account's copy of a cross-account assume already recorded it: that copy decides).
 */
export type RecordOutcome = 'new' | 'duplicate' | 'unfinished' | OtherCopy;

/** The other account's copy of a cross-account assume recorded the session first, and decides: which copy it was. */
export interface OtherCopy {
  decidedBy: Pick<AssumeEvent, 'recipientAccountId' | 'eventId'>;
}

/** A time window for queries; ISO-8601 bounds, both inclusive. */
export interface TimeRange {
  from?: string;
  to?: string;
}

/** The session store: idempotent recording and the incident queries. */
export interface SessionStore {
  record(event: AssumeEvent, options: { processed: boolean; now: Date }): Promise<RecordOutcome>;
  markProcessed(event: Pick<AssumeEvent, 'recipientAccountId' | 'eventId' | 'sharedEventId'>): Promise<void>;
  /** `record` (new sessions only) and `markProcessed` as transaction items, to ride in another transaction. */
  writes: {
    record(event: AssumeEvent, options: { processed: boolean; now: Date }): Record<string, unknown>;
    processed(event: Pick<AssumeEvent, 'recipientAccountId' | 'eventId' | 'sharedEventId'>): Record<string, unknown>;
  };
  byRole(roleArn: string, range?: TimeRange): Promise<SessionView[]>;
  byAccessKey(accessKeyId: string): Promise<SessionView[]>;
  byCallerAccount(accountId: string, range?: TimeRange): Promise<SessionView[]>;
  /**
   * A role's sessions with one assumed-role id in a range, newest first, from one query that looks at no more than
   * `limit` of the role's sessions: `complete` is false when the range holds more (the answer is then partial).
   */
  withAssumedRoleId(
    roleArn: string,
    assumedRoleId: string,
    range: TimeRange,
    limit: number,
  ): Promise<{ sessions: SessionView[]; complete: boolean }>;
}

/** Build the DynamoDB-backed session store. */
export function createSessionStore(
  doc: DynamoDBDocumentClient,
  tableName: string,
  retentionDays: number,
): SessionStore {
  const query = async (input: Omit<QueryCommandInput, 'TableName'>): Promise<SessionView[]> => {
    const out: SessionView[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await doc.send(new QueryCommand({ TableName: tableName, ...input, ExclusiveStartKey }));
      for (const item of page.Items ?? []) out.push(toSessionView(item));
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return out;
  };
  const ranged = (index: string, hashName: string, hash: string, range: TimeRange = {}) =>
    query({
      IndexName: index,
      KeyConditionExpression: '#h = :h AND issuedSk BETWEEN :from AND :to',
      ExpressionAttributeNames: { '#h': hashName },
      ExpressionAttributeValues: {
        ':h': hash,
        ':from': range.from ? new Date(range.from).toISOString() : '0000',
        ':to': range.to ? `${new Date(range.to).toISOString()}#\uffff` : '9999',
      },
    });

  // A conditional put: true when written, else the item already there.
  const put = async (item: Record<string, unknown>): Promise<true | RawItem> => {
    try {
      await withConflictRetry(() =>
        doc.send(
          new PutCommand({
            TableName: tableName,
            Item: item,
            ConditionExpression: 'attribute_not_exists(pk)',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        ),
      );
      return true;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return error.Item ?? {};
    }
  };
  const outcomeOf = (stored: true | RawItem): RecordOutcome =>
    stored === true ? 'new' : stored.state?.S === 'done' ? 'duplicate' : 'unfinished';
  const setDone = (pk: string, condition: string, values: Record<string, unknown> = {}) =>
    doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { pk },
        UpdateExpression: 'SET #s = :done',
        ConditionExpression: condition,
        ExpressionAttributeNames: { '#s': 'state' },
        ExpressionAttributeValues: { ':done': 'done', ...values },
      }),
    );

  return {
    // One item per assume: a cross-account assume's two copies share one, keyed by sharedEventID, and the copy that
    // wrote it first decides for both (its own retries find it `unfinished` and go on; the other copy finds it
    // an `OtherCopy`). A copy that shares the id without being one is recorded under its own key.
    async record(event, { processed, now }) {
      const state = processed ? 'done' : 'pending';
      const at = now.toISOString();
      if (!event.sharedEventId) return outcomeOf(await put(toSessionItem(event, retentionDays, at, state)));
      const shared = sharedSessionKey(event.sharedEventId);
      const stored = await put(toSessionItem(event, retentionDays, at, state, shared));
      if (stored === true) return 'new';
      const relation = copyRelation(stored, event);
      if (relation === 'same') return outcomeOf(stored);
      if (relation === 'other') {
        await addWhatTheCopyKnows(doc, tableName, shared, stored, event);
        return {
          decidedBy: { recipientAccountId: String(stored.recipientAccountId?.S), eventId: String(stored.eventId?.S) },
        };
      }
      return outcomeOf(await put(toSessionItem(event, retentionDays, at, state)));
    },
    async markProcessed({ recipientAccountId, eventId, sharedEventId }) {
      const own = sessionKey(recipientAccountId, eventId);
      if (sharedEventId) {
        try {
          // The shared item, when this copy is the one that wrote it.
          await setDone(sharedSessionKey(sharedEventId), 'recipientAccountId = :r AND eventId = :e', {
            ':r': recipientAccountId,
            ':e': eventId,
          });
          return;
        } catch (error) {
          if (!(error instanceof ConditionalCheckFailedException)) throw error;
        }
      }
      await setDone(own, 'attribute_exists(pk)');
    },
    // The same writes as transaction items. A copy with a sharedEventID claims the shared item, so a transaction that
    // finds it taken is cancelled and the event takes the step-by-step path, which decides once per sharedEventID.
    writes: {
      record: (event, { processed, now }) => ({
        Put: {
          TableName: tableName,
          Item: toSessionItem(
            event,
            retentionDays,
            now.toISOString(),
            processed ? 'done' : 'pending',
            event.sharedEventId ? sharedSessionKey(event.sharedEventId) : undefined,
          ),
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      }),
      processed: ({ recipientAccountId, eventId, sharedEventId }) => ({
        Update: {
          TableName: tableName,
          Key: { pk: sharedEventId ? sharedSessionKey(sharedEventId) : sessionKey(recipientAccountId, eventId) },
          UpdateExpression: 'SET #s = :done',
          ConditionExpression: sharedEventId ? 'recipientAccountId = :r AND eventId = :e' : 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#s': 'state' },
          ExpressionAttributeValues: {
            ':done': 'done',
            ...(sharedEventId ? { ':r': recipientAccountId, ':e': eventId } : {}),
          },
        },
      }),
    },
    byRole: (roleArn, range) => ranged(SESSION_INDEX.byRole, 'roleArn', roleArn, range),
    byAccessKey: (accessKeyId) => ranged(SESSION_INDEX.byAccessKey, 'accessKeyId', accessKeyId),
    byCallerAccount: (accountId, range) => ranged(SESSION_INDEX.byCallerAccount, 'callerAccountId', accountId, range),
    async withAssumedRoleId(roleArn, assumedRoleId, range, limit) {
      const page = await doc.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: SESSION_INDEX.byRole,
          KeyConditionExpression: 'roleArn = :h AND issuedSk BETWEEN :from AND :to',
          FilterExpression: 'assumedRoleId = :id',
          ExpressionAttributeValues: {
            ':h': roleArn,
            ':id': assumedRoleId,
            ':from': range.from ? new Date(range.from).toISOString() : '0000',
            ':to': range.to ? `${new Date(range.to).toISOString()}#\uffff` : '9999',
          },
          ScanIndexForward: false,
          Limit: limit,
        }),
      );
      return { sessions: (page.Items ?? []).map(toSessionView), complete: !page.LastEvaluatedKey };
    },
  };
}
