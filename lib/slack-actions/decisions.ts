import { createHash, randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException, type CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { type Decision, type DecisionStatus, SLACK_ACTIONS, type SlackActionKind } from './types.js';

/** The TTL attribute of the decisions table: request nonces expire, decisions are kept. */
export const DECISIONS_TTL_ATTRIBUTE = 'ttl';
/**
 * How long a request's signature is remembered: longer than the 5 minutes a timestamp is accepted, and longer than
 * the 30 minutes Lambda may hold and retry the action function's invoke (it requires the nonce on every try).
 */
export const NONCE_SECONDS = 60 * 60;
/** How long an action may stay `started` before a retry of the action function may take it over. */
export const DECISION_LEASE_MS = 120_000;

/**
 * The decisions table. Items:
 * - `request#<hash of the signature>`: a Slack request already taken (a replay within the window stops here; TTL).
 * - `decision#<alertId>#<action>`: the one decision of one action on one finding (a double click stops here).
 * - `refusal#<uuid>`: a click that was refused (not an approver, no such finding).
 * The index `byTime` (`trail` = "decision", `at`) lists the audit trail newest first.
 */
export function decisionsTableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'trail', AttributeType: 'S' },
      { AttributeName: 'at', AttributeType: 'S' },
    ],
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    GlobalSecondaryIndexes: [
      {
        IndexName: 'byTime',
        KeySchema: [
          { AttributeName: 'trail', KeyType: 'HASH' },
          { AttributeName: 'at', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ],
  };
}

/** The audit trail and the request nonces. */
export interface DecisionStore {
  /** Remember a request's signature; false when it was seen before (a replay). */
  takeRequest(signature: string, now: Date): Promise<boolean>;
  /** Whether the receiver took a request with this signature (its nonce is there and not expired). */
  requestTaken(signature: string, now: Date): Promise<boolean>;
  /** Claim the one decision of an action on a finding; when it is taken, the decision that holds it. */
  claim(draft: Omit<Decision, 'decisionId' | 'status' | 'outcome'>, now: Date): Promise<Decision | { taken: Decision }>;
  /** The actions decided on an alert for good (done, or refused by what they found): their buttons are not redrawn. */
  decided(alertId: string): Promise<SlackActionKind[]>;
  /** Record how a claimed decision ended. */
  settle(decision: Decision, result: Pick<Decision, 'status' | 'outcome' | 'policy' | 'dryRun'>): Promise<Decision>;
  /** Record a refused click. */
  refuse(draft: Omit<Decision, 'decisionId' | 'status'>): Promise<Decision>;
  /** The audit trail, newest first. */
  list(options?: { limit?: number; since?: string }): Promise<Decision[]>;
}

const FIELDS = [
  'alertId',
  'action',
  'userId',
  'userName',
  'at',
  'status',
  'outcome',
  'roleArn',
  'findingKind',
] as const;

function toDecision(item: Record<string, unknown>): Decision {
  const d = Object.fromEntries(FIELDS.map((f) => [f, item[f] ?? null])) as unknown as Decision;
  return {
    ...d,
    decisionId: String(item.pk),
    eventId: (item.eventId as string | undefined) ?? null,
    policy: (item.policy as Decision['policy']) ?? null,
    ...(item.dryRun !== undefined ? { dryRun: item.dryRun === true } : {}),
  };
}

/** Build the DynamoDB decision store. */
export function createDecisionStore(doc: DynamoDBDocumentClient, tableName: string): DecisionStore {
  const record = (pk: string, d: Omit<Decision, 'decisionId'>) => ({ pk, trail: 'decision', ...d });
  return {
    async takeRequest(signature, now) {
      const pk = requestKey(signature);
      try {
        await doc.send(
          new PutCommand({
            TableName: tableName,
            Item: { pk, at: now.toISOString(), ttl: Math.floor(now.getTime() / 1000) + NONCE_SECONDS },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
        return true;
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return false;
        throw error;
      }
    },
    async requestTaken(signature, now) {
      const key = { pk: requestKey(signature) };
      const item = (await doc.send(new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }))).Item;
      // TTL deletes lazily: an expired nonce may still be there, and does not count.
      return item !== undefined && Number(item.ttl) > now.getTime() / 1000;
    },
    async claim(draft, now) {
      const pk = decisionKey(draft.alertId, draft.action);
      const decision: Decision = { ...draft, decisionId: pk, status: 'started', outcome: 'in progress' };
      try {
        // A failed action may be tried again; one left `started` by a crash is taken over after the lease.
        await doc.send(
          new PutCommand({
            TableName: tableName,
            Item: record(pk, { ...decision, at: now.toISOString() }),
            ConditionExpression:
              'attribute_not_exists(pk) OR #status = :failed OR (#status = :started AND #at < :stale)',
            ExpressionAttributeNames: { '#status': 'status', '#at': 'at' },
            ExpressionAttributeValues: {
              ':failed': 'failed',
              ':started': 'started',
              ':stale': new Date(now.getTime() - DECISION_LEASE_MS).toISOString(),
            },
          }),
        );
        return { ...decision, at: now.toISOString() };
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        const held = (await doc.send(new GetCommand({ TableName: tableName, Key: { pk }, ConsistentRead: true }))).Item;
        if (!held) throw new Error(`decision ${pk} vanished; the action will be retried`);
        return { taken: toDecision(held) };
      }
    },
    async decided(alertId) {
      const held = await Promise.all(
        SLACK_ACTIONS.map(async (action) => {
          const key = { pk: decisionKey(alertId, action) };
          const item = (await doc.send(new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }))).Item;
          return item?.status === 'done' || item?.status === 'refused' ? action : null;
        }),
      );
      return held.filter((a): a is SlackActionKind => a !== null);
    },
    async settle(decision, result) {
      const settled: Decision = { ...decision, ...result };
      await doc.send(
        new UpdateCommand({
          TableName: tableName,
          Key: { pk: decision.decisionId },
          UpdateExpression: 'SET #status = :status, outcome = :outcome, policy = :policy, dryRun = :dryRun',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':status': result.status satisfies DecisionStatus,
            ':outcome': result.outcome,
            ':policy': result.policy ?? null,
            ':dryRun': result.dryRun ?? false,
          },
        }),
      );
      return settled;
    },
    async refuse(draft) {
      const pk = `refusal#${randomUUID()}`;
      const decision: Decision = { ...draft, decisionId: pk, status: 'refused' };
      await doc.send(new PutCommand({ TableName: tableName, Item: record(pk, decision) }));
      return decision;
    },
    async list({ limit = 100, since } = {}) {
      const items: Record<string, unknown>[] = [];
      let ExclusiveStartKey: Record<string, unknown> | undefined;
      do {
        const page = await doc.send(
          new QueryCommand({
            TableName: tableName,
            IndexName: 'byTime',
            KeyConditionExpression: since ? 'trail = :trail AND #at >= :since' : 'trail = :trail',
            ...(since ? { ExpressionAttributeNames: { '#at': 'at' } } : {}),
            ExpressionAttributeValues: { ':trail': 'decision', ...(since ? { ':since': since } : {}) },
            ScanIndexForward: false,
            Limit: limit - items.length,
            ExclusiveStartKey,
          }),
        );
        items.push(...(page.Items ?? []));
        ExclusiveStartKey = page.LastEvaluatedKey;
      } while (ExclusiveStartKey && items.length < limit);
      return items.map(toDecision);
    },
  };
}

/** The key of a request nonce: the hash of its signature (which covers the timestamp and the body). */
function requestKey(signature: string): string {
  return `request#${createHash('sha256').update(signature).digest('hex')}`;
}

/** The key of the one decision of an action on a finding. */
export function decisionKey(alertId: string, action: SlackActionKind): string {
  return `decision#${alertId}#${action}`;
}
