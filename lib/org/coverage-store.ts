import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { CoverageCell, Gap, GapSource } from './coverage.js';
import { cellOf } from './coverage-item.js';

/** How many recent canary ids a cell keeps: a late canary among them still counts as arrived. */
const KEPT_CANARY_IDS = 5;

/**
 * Coverage state in the registry table, one item per account × Region (`pk` = `coverage`, `sk` = `<account>#<region>`):
 * the last event seen, the last canary and the open gaps. Reads are one Query of the partition.
 */
export interface CoverageStore {
  /** Every cell on record. */
  list(): Promise<CoverageCell[]>;
  get(account: string, region: string): Promise<CoverageCell | null>;
  /** An event of this account and Region reached the hub; the time only moves forward. */
  noteEvent(account: string, region: string, at: string, eventName: string): Promise<void>;
  /** The sync's view of a cell: expected or not, and the spokes' state. */
  noteSync(
    account: string,
    region: string,
    update: { expected: boolean; deployStatus: string; at: string },
  ): Promise<void>;
  /** A canary was sent (or its assume failed, with `error`). */
  canarySent(
    cell: CoverageCell | { account: string; region: string; canaryIds?: string[] },
    id: string,
    at: string,
    error: string | null,
  ): Promise<void>;
  /**
   * The owner's copy of canary `id` arrived: recorded, and the canary gap closed. False when `id` is not one of the
   * cell's recent canaries (then it is not roleguard's). Returns the gap it closed, if any.
   */
  canaryBack(
    account: string,
    region: string,
    id: string,
    at: string,
  ): Promise<{ matched: boolean; closed: Gap | null }>;
  /** Open a gap (its first opening time is kept while it stays open); returns the gap as stored. */
  openGap(account: string, region: string, source: GapSource, reason: string, at: string): Promise<Gap>;
  /** Close a gap; returns it if one was open. */
  closeGap(account: string, region: string, source: GapSource): Promise<Gap | null>;
}

const PK = 'coverage';
const REGION_NAMES = { '#account': 'account', '#region': 'region' };
const sk = (account: string, region: string) => `${account}#${region}`;

/** Build the store over the registry table. */
export function createCoverageStore(doc: DynamoDBDocumentClient, tableName: string): CoverageStore {
  const key = (account: string, region: string) => ({ pk: PK, sk: sk(account, region) });
  const names = (account: string, region: string) => ({ ':account': account, ':region': region });
  const conditional = async (command: UpdateCommand): Promise<Record<string, unknown> | null> => {
    try {
      return (await doc.send(command)).Attributes ?? {};
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return null;
      throw error;
    }
  };
  const get = async (account: string, region: string) => {
    const item = (
      await doc.send(new GetCommand({ TableName: tableName, Key: key(account, region), ConsistentRead: true }))
    ).Item;
    return item ? cellOf(item) : null;
  };
  return {
    get,
    async list() {
      const cells: CoverageCell[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const page = await doc.send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': PK },
            ExclusiveStartKey: start,
          }),
        );
        cells.push(...(page.Items ?? []).map(cellOf));
        start = page.LastEvaluatedKey;
      } while (start);
      return cells;
    },
    async noteEvent(account, region, at, eventName) {
      await conditional(
        new UpdateCommand({
          TableName: tableName,
          Key: key(account, region),
          UpdateExpression: 'SET #account = :account, #region = :region, lastEventAt = :at, lastEventName = :name',
          ConditionExpression: 'attribute_not_exists(lastEventAt) OR lastEventAt < :at',
          ExpressionAttributeNames: REGION_NAMES,
          ExpressionAttributeValues: { ...names(account, region), ':at': at, ':name': eventName },
        }),
      );
    },
    async noteSync(account, region, { expected, deployStatus, at }) {
      await doc.send(
        new UpdateCommand({
          TableName: tableName,
          Key: key(account, region),
          UpdateExpression:
            'SET #account = :account, #region = :region, expected = :expected, deployStatus = :status, syncedAt = :at',
          ExpressionAttributeNames: REGION_NAMES,
          ExpressionAttributeValues: {
            ...names(account, region),
            ':expected': expected,
            ':status': deployStatus,
            ':at': at,
          },
        }),
      );
    },
    async canarySent(cell, id, at, error) {
      const ids = [id, ...(cell.canaryIds ?? [])].slice(0, KEPT_CANARY_IDS);
      await doc.send(
        new UpdateCommand({
          TableName: tableName,
          Key: key(cell.account, cell.region),
          UpdateExpression: `SET #account = :account, #region = :region, canaryId = :id, canarySentAt = :at, canaryIds = :ids${error ? ', canaryError = :error' : ''}${error ? '' : ' REMOVE canaryError'}`,
          ExpressionAttributeNames: REGION_NAMES,
          ExpressionAttributeValues: {
            ...names(cell.account, cell.region),
            ':id': id,
            ':at': at,
            ':ids': ids,
            ...(error ? { ':error': error } : {}),
          },
        }),
      );
    },
    async canaryBack(account, region, id, at) {
      const old = await conditional(
        new UpdateCommand({
          TableName: tableName,
          Key: key(account, region),
          UpdateExpression: 'SET canaryBackId = :id, canaryBackAt = :at REMOVE canaryGapAt, canaryGapReason',
          ConditionExpression:
            'contains(canaryIds, :id) AND (attribute_not_exists(canaryBackAt) OR canaryBackAt <= :at)',
          ExpressionAttributeValues: { ':id': id, ':at': at },
          ReturnValues: 'ALL_OLD',
        }),
      );
      if (old === null) {
        // Either not one of ours, or an older arrival than the one on record: tell them apart with one read.
        const cell = await get(account, region);
        return { matched: cell?.canaryIds.includes(id) ?? false, closed: null };
      }
      return { matched: true, closed: cellOf({ account, region, ...old }).gaps.canary ?? null };
    },
    async openGap(account, region, source, reason, at) {
      const out = await doc.send(
        new UpdateCommand({
          TableName: tableName,
          Key: key(account, region),
          UpdateExpression: `SET #account = :account, #region = :region, ${source}GapAt = if_not_exists(${source}GapAt, :at), ${source}GapReason = :reason`,
          ExpressionAttributeNames: REGION_NAMES,
          ExpressionAttributeValues: { ...names(account, region), ':at': at, ':reason': reason },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return cellOf(out.Attributes ?? {}).gaps[source] ?? { openedAt: at, reason };
    },
    async closeGap(account, region, source) {
      const old = await conditional(
        new UpdateCommand({
          TableName: tableName,
          Key: key(account, region),
          UpdateExpression: `REMOVE ${source}GapAt, ${source}GapReason`,
          ConditionExpression: `attribute_exists(${source}GapAt)`,
          ReturnValues: 'ALL_OLD',
        }),
      );
      return old ? (cellOf({ account, region, ...old }).gaps[source] ?? null) : null;
    },
  };
}
