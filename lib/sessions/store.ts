import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { AssumeEvent } from '../cloudtrail/types.js';
import { type SessionView, sessionKey, toSessionItem, toSessionView } from './item.js';
import { SESSION_INDEX } from './table.js';

/**
 * What recording found: `new` (first delivery), `duplicate` (already recorded and fully processed) or
 * `unfinished` (recorded by an earlier delivery that did not finish processing it, so it must be processed again).
 */
export type RecordOutcome = 'new' | 'duplicate' | 'unfinished';

/** A time window for queries; ISO-8601 bounds, both inclusive. */
export interface TimeRange {
  from?: string;
  to?: string;
}

/** The session store: idempotent recording and the incident queries. */
export interface SessionStore {
  record(event: AssumeEvent, options: { processed: boolean; now: Date }): Promise<RecordOutcome>;
  markProcessed(event: Pick<AssumeEvent, 'recipientAccountId' | 'eventId'>): Promise<void>;
  /** `record` (new sessions only) and `markProcessed` as transaction items, to ride in another transaction. */
  writes: {
    record(event: AssumeEvent, options: { processed: boolean; now: Date }): Record<string, unknown>;
    processed(event: Pick<AssumeEvent, 'recipientAccountId' | 'eventId'>): Record<string, unknown>;
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

  const putSession = (event: AssumeEvent, { processed, now }: { processed: boolean; now: Date }) => ({
    TableName: tableName,
    Item: toSessionItem(event, retentionDays, now.toISOString(), processed ? 'done' : 'pending'),
    ConditionExpression: 'attribute_not_exists(pk)',
  });
  const processedUpdate = ({ recipientAccountId, eventId }: Pick<AssumeEvent, 'recipientAccountId' | 'eventId'>) => ({
    TableName: tableName,
    Key: { pk: sessionKey(recipientAccountId, eventId) },
    UpdateExpression: 'SET #s = :done',
    ConditionExpression: 'attribute_exists(pk)',
    ExpressionAttributeNames: { '#s': 'state' },
    ExpressionAttributeValues: { ':done': 'done' },
  });

  return {
    async record(event, options) {
      try {
        await doc.send(
          new PutCommand({ ...putSession(event, options), ReturnValuesOnConditionCheckFailure: 'ALL_OLD' }),
        );
        return 'new';
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        return error.Item?.state?.S === 'done' ? 'duplicate' : 'unfinished';
      }
    },
    async markProcessed(event) {
      await doc.send(new UpdateCommand(processedUpdate(event)));
    },
    writes: {
      record: (event, options) => ({ Put: putSession(event, options) }),
      processed: (event) => ({ Update: processedUpdate(event) }),
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
