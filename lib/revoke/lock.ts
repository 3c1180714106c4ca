import { randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException, TransactionConflictException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';

/** A held lock; `release()` gives it up only if it is still ours. */
export interface HeldLock {
  owner: string;
  /** When the lease runs out (epoch ms, wall clock); after it, another holder may take the lock. */
  leaseUntil?: number;
  release(): Promise<void>;
}

/** The lease is (nearly) over: writing now could overwrite a newer holder's write. The work is retried later. */
export class LeaseLostError extends Error {
  override name = 'LeaseLostError';
}

/** Options of a per-key lock. */
export interface LockOptions {
  /** How long a holder may keep the lock; a crashed holder blocks others at most this long. */
  leaseMs: number;
  /** How long to keep trying before giving up (the caller's work is then retried by its own path). */
  waitMs: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** For a table keyed by `pk` and `sk`: the lock item's sort key. */
  sortKey?: string;
}

/** The lock could not be taken in time; the work stays recorded as an intent for the sweep. */
export class LockTimeoutError extends Error {
  override name = 'LockTimeoutError';
}

/** The key of a lock item: `lock#<key>`, with the sort key on a table keyed by `pk` and `sk`. */
export function lockItemKey(key: string, sortKey?: string): { pk: string; sk?: string } {
  const pk = `lock#${key}`;
  return sortKey === undefined ? { pk } : { pk, sk: sortKey };
}

/** The lock item that a holder puts (alone, or inside a transaction): `owner` holds it until `leaseUntil` (epoch ms). */
export function lockPut(tableName: string, key: string, owner: string, at: number, leaseMs: number, sortKey?: string) {
  return {
    TableName: tableName,
    Item: { ...lockItemKey(key, sortKey), owner, leaseUntil: at + leaseMs },
    ConditionExpression: 'attribute_not_exists(pk) OR leaseUntil < :now',
    ExpressionAttributeValues: { ':now': at },
  };
}

/** The delete that gives a lock up, only if `owner` still holds it. */
export function lockRelease(tableName: string, key: string, owner: string, sortKey?: string) {
  return {
    TableName: tableName,
    Key: lockItemKey(key, sortKey),
    ConditionExpression: '#owner = :owner',
    ExpressionAttributeNames: { '#owner': 'owner' },
    ExpressionAttributeValues: { ':owner': owner },
  };
}

// A plain write of a lock item while a transaction writes it (the fast path takes and gives locks up in
// TransactWriteItems) fails with TransactionConflictException, which the SDK does not retry: tried again, shortly.
const CONFLICT_TRIES = 5;
const isConflict = (error: unknown) =>
  error instanceof TransactionConflictException || (error as Error).name === 'TransactionConflictException';
const conflictPause = (attempt: number) =>
  new Promise<void>((r) => setTimeout(r, 10 * 2 ** attempt * (0.5 + Math.random())));

/**
 * A lock `owner` has taken (by acquireLock, or in a transaction with other writes). `release()` retries a conflict
 * with a concurrent transaction a few times, then throws; a caller that must not fail for it catches and lets the
 * lease run out.
 */
export function heldLock(
  doc: DynamoDBDocumentClient,
  tableName: string,
  key: string,
  owner: string,
  sortKey?: string,
  leaseUntil?: number,
): HeldLock {
  return {
    owner,
    ...(leaseUntil === undefined ? {} : { leaseUntil }),
    async release() {
      for (let attempt = 1; ; attempt++) {
        try {
          await doc.send(new DeleteCommand(lockRelease(tableName, key, owner, sortKey)));
          return;
        } catch (error) {
          // Our lease ran out and someone else holds it now: theirs to release.
          if (error instanceof ConditionalCheckFailedException) return;
          if (!isConflict(error) || attempt >= CONFLICT_TRIES) throw error;
          await conflictPause(attempt);
        }
      }
    },
  };
}

/**
 * A lock per key in DynamoDB: a conditional put that succeeds when nobody holds the key or the holder's lease has
 * expired. Waiters back off with jitter (a conflict with a transaction writing the lock item is waited out the same
 * way). The lease bounds how long a crashed holder can block the others.
 */
export async function acquireLock(
  doc: DynamoDBDocumentClient,
  tableName: string,
  key: string,
  options: LockOptions,
): Promise<HeldLock> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const owner = randomUUID();
  const deadline = now() + options.waitMs;
  for (let attempt = 0; ; attempt++) {
    try {
      const at = now();
      await doc.send(new PutCommand(lockPut(tableName, key, owner, at, options.leaseMs, options.sortKey)));
      return heldLock(doc, tableName, key, owner, options.sortKey, at + options.leaseMs);
    } catch (error) {
      // Held, or being written by a transaction (taken or given up with other writes): wait, as for a held lock.
      if (!(error instanceof ConditionalCheckFailedException) && !isConflict(error)) throw error;
      if (now() >= deadline) throw new LockTimeoutError(`could not lock ${key} within ${options.waitMs} ms`);
      await sleep(Math.min(1000, 20 * 2 ** Math.min(attempt, 5)) * (0.5 + Math.random()));
    }
  }
}
