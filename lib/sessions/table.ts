import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

/**
 * The sessions table, designed for the questions asked during an incident:
 * - `pk` = `<recipientAccountId>#<eventId>`: one item per CloudTrail event, so a redelivery is a conditional-put miss;
 *   `shared#<sharedEventID>` for the two accounts' copies of a cross-account assume: one item, one decision.
 * - `byRole` (roleArn, issuedSk): a role's sessions over a time range.
 * - `byAccessKey` (accessKeyId, issuedSk): "whose is ASIA…?". Sparse: denied attempts have no key.
 * - `byCallerAccount` (callerAccountId, issuedSk): everything one account did. Sparse.
 * `issuedSk` = `<issuedAt with milliseconds>#<eventId>`, fixed-width so it sorts by time. `ttl` removes the item
 * a configurable number of days after the session expired.
 */
export const SESSION_INDEX = {
  byRole: 'byRole',
  byAccessKey: 'byAccessKey',
  byCallerAccount: 'byCallerAccount',
} as const;

export const SESSION_TTL_ATTRIBUTE = 'ttl';

/** The table's keys and indexes, in CreateTable form; serverless.yml declares the same (a test compares them). */
export function sessionsTableDefinition(tableName: string): CreateTableCommandInput {
  const gsi = (IndexName: string, hash: string) => ({
    IndexName,
    KeySchema: [
      { AttributeName: hash, KeyType: 'HASH' as const },
      { AttributeName: 'issuedSk', KeyType: 'RANGE' as const },
    ],
    Projection: { ProjectionType: 'ALL' as const },
  });
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'roleArn', AttributeType: 'S' },
      { AttributeName: 'accessKeyId', AttributeType: 'S' },
      { AttributeName: 'callerAccountId', AttributeType: 'S' },
      { AttributeName: 'issuedSk', AttributeType: 'S' },
    ],
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    GlobalSecondaryIndexes: [
      gsi(SESSION_INDEX.byRole, 'roleArn'),
      gsi(SESSION_INDEX.byAccessKey, 'accessKeyId'),
      gsi(SESSION_INDEX.byCallerAccount, 'callerAccountId'),
    ],
  };
}
