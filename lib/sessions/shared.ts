import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { AssumeEvent } from '../cloudtrail/types.js';
import { sessionKey } from './item.js';

/** A stored session item as DynamoDB returns it on a failed condition (`ReturnValuesOnConditionCheckFailure`). */
export type RawItem = Record<string, AttributeValue>;

/**
 * Run a conditional write, again (a few times, after a short jittered pause) when it conflicts with a transaction
 * writing the same item (the other copy's revocation claiming the shared session): TransactionConflictException is
 * not retried by the SDK.
 */
export async function withConflictRetry<T>(write: () => Promise<T>, tries = 4): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      if ((error as Error).name !== 'TransactionConflictException' || attempt >= tries) throw error;
      await new Promise((r) => setTimeout(r, 10 * 2 ** attempt * (0.5 + Math.random())));
    }
  }
}

/**
 * How an event relates to the session item already stored under its `sharedEventID`:
 * - `same`: it is that copy again (same account and event id): a redelivery or a retry;
 * - `other`: the other account's copy of the same assume (another recipient, the same role): it decides nothing;
 * - `unrelated`: the id is shared but the event is not a copy of that assume (the same account with another event
 *   id, or another role): it is recorded and decided on its own, never dropped.
 */
export function copyRelation(stored: RawItem, event: AssumeEvent): 'same' | 'other' | 'unrelated' {
  const recipient = stored.recipientAccountId?.S;
  if (recipient === event.recipientAccountId) return stored.eventId?.S === event.eventId ? 'same' : 'unrelated';
  return stored.roleArn?.S === event.roleArn ? 'other' : 'unrelated';
}

/**
 * The other copy adds what it knows: the role owner's copy names the caller only by account and principal id, the
 * caller's copy has its ARN and type. One conditional write, only when the stored item lacks the ARN and this copy
 * has it; a concurrent or repeated enrichment is a no-op.
 */
export async function addWhatTheCopyKnows(
  doc: DynamoDBDocumentClient,
  tableName: string,
  pk: string,
  stored: RawItem,
  event: AssumeEvent,
): Promise<void> {
  if (!event.callerArn || stored.callerArn?.S) return;
  const values: Record<string, unknown> = {
    ':arn': event.callerArn,
    ':type': event.callerType,
    ':copy': sessionKey(event.recipientAccountId, event.eventId),
    ':owner': stored.recipientAccountId?.S,
    ':ownerEvent': stored.eventId?.S,
    ':null': 'NULL',
  };
  const sets = ['callerArn = :arn', 'callerType = :type', 'otherCopy = :copy'];
  if (event.callerPrincipalId) {
    sets.push('callerPrincipalId = :principal');
    values[':principal'] = event.callerPrincipalId;
  }
  if (event.callerAccessKeyId) {
    sets.push('callerAccessKeyId = :key');
    values[':key'] = event.callerAccessKeyId;
  }
  try {
    await withConflictRetry(() =>
      doc.send(
        new UpdateCommand({
          TableName: tableName,
          Key: { pk },
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression:
            'recipientAccountId = :owner AND eventId = :ownerEvent AND (attribute_not_exists(callerArn) OR attribute_type(callerArn, :null))',
          ExpressionAttributeValues: values,
        }),
      ),
    );
  } catch (error) {
    // Another instance added it first: nothing left to add.
    if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
  }
}
