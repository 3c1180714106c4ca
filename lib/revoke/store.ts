import { createHash } from 'node:crypto';
import {
  ConditionalCheckFailedException,
  type CreateTableCommandInput,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { dueAttributes, dueIndexedTableDefinition, dueShardOf, queryDue } from '../dynamo/due-table.js';
import { LeaseLostError, lockItemKey, lockPut, lockRelease } from './lock.js';
import type { PolicyDocument, RevocationState } from './policy.js';

/**
 * The revocations table: what roleguard decided to revoke, before and after IAM is called, so that no revocation is
 * lost when a function dies or IAM fails. One item kind per key prefix:
 * - `intent#<intentId>`: one revocation decided (an addition to a role's policy) and its state.
 * - `policy#<roleArn>`: a role that holds roleguard's revocation policy, when its next statement can be pruned, and
 *   the revocations it holds (`state`): the source of truth, merged into every IAM read, since a read right after
 *   another writer's PutRolePolicy can be stale (IAM is eventually consistent) and must never drop a statement.
 * - `caller#<roleArn>#<caller>`: the latest revocation of a caller's session on a role (to see the caller come back),
 *   kept only as long as the revoked session could live (`until`); a read checks it, since the TTL deletes late.
 * - `lock#role#<account>#<roleName>`: the per-role lock of the read-modify-write (and, for one release, the previous
 *   version's `lock#role#<roleName>`, taken too).
 * The sparse index `byDue` (`dueShard` = one of 16 shards, `dueAt`) lists what the sweep must still do: intents not yet
 * applied and policies with a statement to prune.
 */
export function revocationsTableDefinition(tableName: string): CreateTableCommandInput {
  return dueIndexedTableDefinition(tableName);
}

/** The TTL attribute of the revocations table (caller markers and finished intents expire). */
export const REVOCATIONS_TTL_ATTRIBUTE = 'ttl';

/** What asked for a revocation. */
export type RevocationSource =
  | { kind: 'finding'; eventId: string; findingKind: string }
  | { kind: 'manual'; requestedBy: string | null; reason: string | null };

/** The states of an intent. `pending` is due for the sweep; the others are final. */
export type IntentState = 'pending' | 'applied' | 'dry-run' | 'expired' | 'refused';

/** One revocation decided, recorded before IAM is called. */
export interface RevocationIntent {
  intentId: string;
  roleArn: string;
  roleName: string;
  /** What to merge into the role's policy; fixed when the intent is first recorded, so a retry decides the same. */
  addition: RevocationState;
  source: RevocationSource;
  /** Who held the revoked session (see `callerKey`); null for a whole-role revocation by hand. */
  caller: string | null;
  dryRun: boolean;
  state: IntentState;
  createdAt: string;
  attempts: number;
  lastError: string | null;
  /** When IAM accepted the policy ("requested at": IAM applies it within seconds to minutes). */
  appliedAt: string | null;
  /** The role's whole revocation policy after this intent (what was written, or would be in a dry run). */
  policyDocument: PolicyDocument | null;
  fellBack: boolean;
}

/** A due entry: an intent to (re)apply, or a role whose policy has a statement to prune. */
export type DueItem =
  | { kind: 'intent'; intent: RevocationIntent }
  | { kind: 'policy'; roleArn: string; roleName: string; pruneAt: string };

/** A write of another table (or item) that rides in one of the revocation's transactions (a TransactItem). */
export type RiderWrite = Record<string, unknown>;

/** The revocations kept for a role as read before the lock (with the event's other reads), and their version. */
export interface KeptRead {
  state: RevocationState | null;
  /** Bumped on every change of the role's kept item; null when the item does not exist. */
  version: number | null;
}

/** The revocations table's operations. */
export interface RevocationStore {
  tableName: string;
  /** Record an intent unless one with its id exists; either way, return the stored intent. */
  record(
    intent: Omit<RevocationIntent, 'state' | 'attempts' | 'lastError' | 'appliedAt' | 'policyDocument' | 'fellBack'>,
    options: { dueAt: Date },
  ): Promise<{ created: boolean; intent: RevocationIntent }>;
  get(intentId: string): Promise<RevocationIntent | null>;
  /** The intent reached IAM (or was decided in a dry run): it leaves the due index. */
  settle(
    intentId: string,
    outcome: {
      state: 'applied' | 'dry-run' | 'expired' | 'refused';
      at: Date;
      policyDocument: PolicyDocument | null;
      fellBack: boolean;
      error?: string;
    },
  ): Promise<void>;
  /** Applying failed: count it and make it due again at `retryAt`. */
  defer(intentId: string, outcome: { error: string; retryAt: Date }): Promise<void>;
  /**
   * Remember that a role holds a revocation policy whose next statement can be pruned at `pruneAt` (null: none left),
   * and, when given, the revocations it holds (written under the role's lock, in IAM's order). With `heldBy`, only
   * while that owner still holds the role's lock: otherwise nothing is written and it throws LeaseLostError.
   */
  trackPolicy(
    roleArn: string,
    roleName: string,
    pruneAt: string | null,
    state?: RevocationState,
    heldBy?: { key: string; owner: string },
  ): Promise<void>;
  /** The revocations kept for a role (consistent read), or null when none are kept. */
  keptState(roleArn: string): Promise<RevocationState | null>;
  /**
   * Remember that `caller`'s session on the role was revoked at `decidedAt`, until `until` (when the revoked session
   * has surely expired). Only a later decision replaces it, and never with an earlier `until`.
   */
  noteRevokedCaller(roleArn: string, caller: string, decidedAt: string, until: string): Promise<void>;
  /** The latest revocation of `caller`'s sessions on the role, or null when none is noted or its `until` has passed. */
  revokedCaller(roleArn: string, caller: string, now: Date): Promise<{ decidedAt: string; until: string } | null>;
  due(now: Date, limit?: number): Promise<DueItem[]>;
  /**
   * The fast path's first write: record the intent, note the caller and take the role's lock, in one transaction.
   * `begun: false` when any part did not hold (the intent exists, the lock is held, a later revocation of the
   * caller is noted, a conflict): nothing was written, and the caller takes the step-by-step path.
   */
  begin(
    fields: Omit<RevocationIntent, 'state' | 'attempts' | 'lastError' | 'appliedAt' | 'policyDocument' | 'fellBack'>,
    options: {
      dueAt: Date;
      now: Date /** `at`: the wall clock (epoch ms), whatever clock the decision runs on. */;
      /** The role's lock; `legacyKey`: the previous version's key of it, taken too (see `legacyRoleLockKey`). */
      lock: { key: string; legacyKey?: string; owner: string; leaseMs: number; at: number };
      /** The kept state read before: the transaction holds only while its version is unchanged. */
      kept?: KeptRead;
      /** The caller's writes that go with it (the session's conditional put): all or nothing. */
      riders?: RiderWrite[];
    },
  ): Promise<{ begun: true; intent: RevocationIntent } | { begun: false; reason: string; ridersRefused: boolean }>;
  /**
   * The fast path's last write: settle the intent, track the role's policy and give the lock up, in one
   * transaction. A conflict with a concurrent transaction is tried again (a few times, then thrown); riders that do
   * not go through, whatever the reason, are dropped (`without-riders`: the caller writes them its usual way). False
   * only when the lock is no longer ours (its release's condition failed; nothing was written): settle and track
   * step by step.
   */
  finish(
    intentId: string,
    outcome: { state: 'applied'; at: Date; policyDocument: PolicyDocument | null; fellBack: boolean },
    track: { roleArn: string; roleName: string; pruneAt: string | null; state?: RevocationState },
    lock: { key: string; legacyKey?: string; owner: string },
    /** The caller's writes that go with it (the alert's admission, the session marked processed), when they can. */
    riders?: RiderWrite[],
  ): Promise<false | 'with-riders' | 'without-riders'>;
  /** The key of a role's kept item and of a caller's marker, and their reading, for a batched read. */
  keys: {
    kept(roleArn: string): { pk: string };
    caller(roleArn: string, caller: string): { pk: string };
    keptOf(item: Record<string, unknown> | undefined): KeptRead;
    callerOf(item: Record<string, unknown> | undefined, now: Date): { decidedAt: string; until: string } | null;
  };
}

/** How many times the fast path's closing transaction is tried when it conflicts with another transaction. */
const FINISH_TRIES = 5;
/** How long a finished intent is kept. */
const KEEP_SECONDS = 30 * 86400;
/** A caller marker written before markers had an `until`: the longest a session can live after its revocation. */
const LEGACY_MARKER_MS = 12 * 3600_000;

/** The decision time of an addition (the latest it holds). */
export function decisionOf(addition: RevocationState): string {
  const times = [...addition.sessions.map((s) => s.decidedAt), ...(addition.role ? [addition.role.decidedAt] : [])];
  return times.reduce((a, b) => (Date.parse(a) >= Date.parse(b) ? a : b));
}

/** How long a revocation matters: the latest time a session it covers could still be used (its `pruneAfter`). */
export function untilOf(addition: RevocationState): string {
  const times = [...addition.sessions.map((s) => s.pruneAfter), ...(addition.role ? [addition.role.pruneAfter] : [])];
  return times.reduce((a, b) => (Date.parse(a) >= Date.parse(b) ? a : b));
}

/** A deterministic intent id: the same finding of the same event always maps to the same intent. */
export function intentIdFor(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 32);
}

/** A caller's marker as read: its decision and `until`, or null when there is none or its `until` has passed. */
function markerOf(item: Record<string, unknown> | undefined, now: Date): { decidedAt: string; until: string } | null {
  if (!item || typeof item.decidedAt !== 'string') return null;
  const until =
    typeof item.until === 'string' ? item.until : new Date(Date.parse(item.decidedAt) + LEGACY_MARKER_MS).toISOString();
  // Past `until` the revoked session cannot be in use any more: the marker is over, whether or not TTL took it.
  return Date.parse(until) > now.getTime() ? { decidedAt: item.decidedAt, until } : null;
}

/** Build the store over a DynamoDB table. */
export function createRevocationStore(doc: DynamoDBDocumentClient, tableName: string): RevocationStore {
  const intentKey = (intentId: string) => ({ pk: `intent#${intentId}` });
  const ttl = (at: Date) => Math.floor(at.getTime() / 1000) + KEEP_SECONDS;
  const get = async (intentId: string): Promise<RevocationIntent | null> => {
    const item = (
      await doc.send(new GetCommand({ TableName: tableName, Key: intentKey(intentId), ConsistentRead: true }))
    ).Item;
    return item ? (item.intent as RevocationIntent) : null;
  };
  // The writes, as inputs: sent alone or inside a transaction.
  const newIntent = (fields: Parameters<RevocationStore['record']>[0]): RevocationIntent => ({
    ...fields,
    state: 'pending',
    attempts: 0,
    lastError: null,
    appliedAt: null,
    policyDocument: null,
    fellBack: false,
  });
  const putIntent = (intent: RevocationIntent, dueAt: Date) => ({
    TableName: tableName,
    Item: {
      ...intentKey(intent.intentId),
      intent,
      ...(intent.dryRun ? {} : dueAttributes(`intent#${intent.intentId}`, dueAt.toISOString())),
    },
    ConditionExpression: 'attribute_not_exists(pk)',
  });
  const settleIntent = (
    intentId: string,
    { state, at, policyDocument, fellBack, error }: Parameters<RevocationStore['settle']>[1],
  ) => ({
    TableName: tableName,
    Key: intentKey(intentId),
    UpdateExpression:
      'SET intent.#state = :state, intent.appliedAt = :at, intent.policyDocument = :policy, intent.fellBack = :fellBack, intent.lastError = :error, #ttl = :ttl REMOVE dueShard, dueAt',
    ConditionExpression: 'attribute_exists(pk)',
    ExpressionAttributeNames: { '#state': 'state', '#ttl': REVOCATIONS_TTL_ATTRIBUTE },
    ExpressionAttributeValues: {
      ':state': state,
      ':at': state === 'applied' || state === 'dry-run' ? at.toISOString() : null,
      ':policy': policyDocument,
      ':fellBack': fellBack,
      ':error': error ?? null,
      ':ttl': ttl(at),
    },
  });
  // An update, not a put: tracking without a state (a protected role's) leaves the kept state as it is.
  const updatePolicy = (roleArn: string, roleName: string, pruneAt: string | null, state?: RevocationState) => ({
    TableName: tableName,
    Key: { pk: `policy#${roleArn}` },
    // Every change bumps `version`: the fast path read the kept state before taking the lock, and its first
    // transaction goes through only if the version is still the one it read.
    UpdateExpression: `SET roleArn = :arn, roleName = :name, pruneAt = :prune${state ? ', #state = :state' : ''}${
      pruneAt ? ', dueShard = :due, dueAt = :prune' : ''
    } ADD #version :one${pruneAt ? '' : ' REMOVE dueShard, dueAt'}`,
    ExpressionAttributeNames: { '#version': 'version', ...(state ? { '#state': 'state' } : {}) },
    ExpressionAttributeValues: {
      ':arn': roleArn,
      ':name': roleName,
      ':prune': pruneAt,
      ':one': 1,
      ...(state ? { ':state': state } : {}),
      ...(pruneAt ? { ':due': dueShardOf(`policy#${roleArn}`) } : {}),
    },
  });
  // The TTL only tidies up (DynamoDB deletes expired items up to days late); `until` is what a read checks. In the
  // fast path's transaction both must move forward; otherwise it is cancelled and the step-by-step path's
  // noteRevokedCaller moves each forward on its own. An equal time (two revocations decided in the same second) is
  // not a step back: it must not cancel the transaction.
  const noteCaller = (roleArn: string, caller: string, decidedAt: string, until: string) => ({
    TableName: tableName,
    Key: { pk: `caller#${roleArn}#${caller}` },
    UpdateExpression: 'SET decidedAt = :at, #until = :until, #ttl = :ttl',
    ConditionExpression:
      '(attribute_not_exists(decidedAt) OR decidedAt <= :at) AND (attribute_not_exists(#until) OR #until <= :until)',
    ExpressionAttributeNames: { '#ttl': REVOCATIONS_TTL_ATTRIBUTE, '#until': 'until' },
    ExpressionAttributeValues: { ':at': decidedAt, ':until': until, ':ttl': Math.ceil(Date.parse(until) / 1000) },
  });
  // The kept item is as it was read: the same version, or still absent. (An item of before versions counts as 0.)
  const keptUnchanged = (roleArn: string, kept: KeptRead) => ({
    TableName: tableName,
    Key: { pk: `policy#${roleArn}` },
    ConditionExpression:
      kept.version === null
        ? 'attribute_not_exists(pk)'
        : kept.version === 0
          ? 'attribute_exists(pk) AND attribute_not_exists(#version)'
          : '#version = :version',
    ...(kept.version === null ? {} : { ExpressionAttributeNames: { '#version': 'version' } }),
    ...(kept.version ? { ExpressionAttributeValues: { ':version': kept.version } } : {}),
  });
  return {
    tableName,
    get,
    async record(fields, { dueAt }) {
      const intent = newIntent(fields);
      try {
        await doc.send(new PutCommand(putIntent(intent, dueAt)));
        return { created: true, intent };
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        const stored = await get(intent.intentId);
        if (!stored) throw new Error(`revocation intent ${intent.intentId} vanished; the event will be retried`);
        return { created: false, intent: stored };
      }
    },
    async settle(intentId, outcome) {
      await doc.send(new UpdateCommand(settleIntent(intentId, outcome)));
    },
    async defer(intentId, { error, retryAt }) {
      await doc
        .send(
          new UpdateCommand({
            TableName: tableName,
            Key: intentKey(intentId),
            UpdateExpression: 'SET intent.lastError = :error, dueShard = :due, dueAt = :retry ADD intent.attempts :one',
            // A settled intent stays settled: a late failure report must not put it back in the queue.
            ConditionExpression: 'intent.#state = :pending',
            ExpressionAttributeNames: { '#state': 'state' },
            ExpressionAttributeValues: {
              ':error': error,
              ':due': dueShardOf(`intent#${intentId}`),
              ':retry': retryAt.toISOString(),
              ':one': 1,
              ':pending': 'pending',
            },
          }),
        )
        .catch((e: unknown) => {
          if (!(e instanceof ConditionalCheckFailedException)) throw e;
        });
    },
    async trackPolicy(roleArn, roleName, pruneAt, state, heldBy) {
      if (!heldBy) {
        await doc.send(new UpdateCommand(updatePolicy(roleArn, roleName, pruneAt, state)));
        return;
      }
      // A holder whose lease ran out (and whose lock another holder took) must not overwrite the newer kept state.
      try {
        await doc.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                ConditionCheck: {
                  TableName: tableName,
                  Key: lockItemKey(heldBy.key),
                  ConditionExpression: '#owner = :owner',
                  ExpressionAttributeNames: { '#owner': 'owner' },
                  ExpressionAttributeValues: { ':owner': heldBy.owner },
                },
              },
              { Update: updatePolicy(roleArn, roleName, pruneAt, state) },
            ],
          }),
        );
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        throw new LeaseLostError(`the lock on ${roleName} is no longer held by this writer; kept state not written`);
      }
    },
    async keptState(roleArn) {
      const item = (
        await doc.send(new GetCommand({ TableName: tableName, Key: { pk: `policy#${roleArn}` }, ConsistentRead: true }))
      ).Item;
      return (item?.state as RevocationState | undefined) ?? null;
    },
    async noteRevokedCaller(roleArn, caller, decidedAt, until) {
      // The latest decision and the latest `until` each win on their own: an earlier decision whose session lives
      // longer, arriving after a later one, still extends the marker.
      const key = { pk: `caller#${roleArn}#${caller}` };
      const ignoreOlder = (e: unknown) => {
        if (!(e instanceof ConditionalCheckFailedException)) throw e;
      };
      await doc
        .send(
          new UpdateCommand({
            TableName: tableName,
            Key: key,
            UpdateExpression: 'SET decidedAt = :at',
            ConditionExpression: 'attribute_not_exists(decidedAt) OR decidedAt < :at',
            ExpressionAttributeValues: { ':at': decidedAt },
          }),
        )
        .catch(ignoreOlder);
      await doc
        .send(
          new UpdateCommand({
            TableName: tableName,
            Key: key,
            UpdateExpression: 'SET #until = :until, #ttl = :ttl',
            ConditionExpression: 'attribute_not_exists(#until) OR #until < :until',
            ExpressionAttributeNames: { '#ttl': REVOCATIONS_TTL_ATTRIBUTE, '#until': 'until' },
            ExpressionAttributeValues: { ':until': until, ':ttl': Math.ceil(Date.parse(until) / 1000) },
          }),
        )
        .catch(ignoreOlder);
    },
    async begin(fields, { dueAt, lock, kept, riders = [] }) {
      const intent = newIntent(fields);
      const decidedAt = decisionOf(intent.addition);
      const items = [
        { Put: putIntent(intent, dueAt) },
        { Put: lockPut(tableName, lock.key, lock.owner, lock.at, lock.leaseMs) },
        ...(lock.legacyKey ? [{ Put: lockPut(tableName, lock.legacyKey, lock.owner, lock.at, lock.leaseMs) }] : []),
        ...(intent.caller && !intent.dryRun
          ? [{ Update: noteCaller(intent.roleArn, intent.caller, decidedAt, untilOf(intent.addition)) }]
          : []),
        ...(kept ? [{ ConditionCheck: keptUnchanged(intent.roleArn, kept) }] : []),
        ...riders,
      ];
      const names = [
        'intent',
        'lock',
        ...(lock.legacyKey ? ['legacy lock'] : []),
        ...(intent.caller && !intent.dryRun ? ['caller'] : []),
        ...(kept ? ['kept'] : []),
        ...riders.map(() => 'rider'),
      ];
      try {
        await doc.send(new TransactWriteCommand({ TransactItems: items }));
        return { begun: true, intent };
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        const failed = (error.CancellationReasons ?? [])
          .map((r, i) => (r.Code && r.Code !== 'None' ? { name: names[i], code: r.Code } : null))
          .filter((r) => r !== null);
        return {
          begun: false,
          reason: failed.map((r) => `${r.name}: ${r.code}`).join(', ') || 'cancelled',
          ridersRefused: failed.some((r) => r.name === 'rider' && r.code === 'ConditionalCheckFailed'),
        };
      }
    },
    async finish(intentId, outcome, track, lock, riders = []) {
      const own = [
        { Update: settleIntent(intentId, outcome) },
        { Update: updatePolicy(track.roleArn, track.roleName, track.pruneAt, track.state) },
        { Delete: lockRelease(tableName, lock.key, lock.owner) },
        ...(lock.legacyKey ? [{ Delete: lockRelease(tableName, lock.legacyKey, lock.owner) }] : []),
      ];
      let withRiders = riders.length > 0;
      for (let attempt = 1; ; attempt++) {
        try {
          await doc.send(new TransactWriteCommand({ TransactItems: withRiders ? [...own, ...riders] : own }));
          return withRiders ? 'with-riders' : 'without-riders';
        } catch (error) {
          if (!(error instanceof TransactionCanceledException)) throw error;
          const codes = (error.CancellationReasons ?? []).map((r) => r.Code ?? 'None');
          const ownCodes = own.map((_, i) => codes[i] ?? 'None');
          // A lock's release did not hold: another holder has it, our lease is lost.
          if (ownCodes.slice(2).includes('ConditionalCheckFailed')) return false;
          // Only a rider did not go through (the alert's merge window is open, a conflict with the other copy of
          // the assume, ...): settle without them.
          if (withRiders && ownCodes.every((c) => c === 'None')) {
            withRiders = false;
            continue;
          }
          // A conflict with another transaction on our own items: try again shortly; anything else is thrown.
          if (!ownCodes.every((c) => c === 'None' || c === 'TransactionConflict') || attempt >= FINISH_TRIES)
            throw error;
          await new Promise((r) => setTimeout(r, 10 * 2 ** attempt * (0.5 + Math.random())));
        }
      }
    },
    keys: {
      kept: (roleArn) => ({ pk: `policy#${roleArn}` }),
      caller: (roleArn, caller) => ({ pk: `caller#${roleArn}#${caller}` }),
      keptOf: (item) => ({
        state: (item?.state as RevocationState | undefined) ?? null,
        version: item ? Number(item.version ?? 0) : null,
      }),
      callerOf: (item, now) => markerOf(item, now),
    },
    async revokedCaller(roleArn, caller, now) {
      const item = (
        await doc.send(new GetCommand({ TableName: tableName, Key: { pk: `caller#${roleArn}#${caller}` } }))
      ).Item;
      return markerOf(item, now);
    },
    async due(now, limit = 100) {
      const items: DueItem[] = [];
      for (const item of await queryDue(doc, tableName, now, limit)) {
        const pk = String(item.pk);
        if (pk.startsWith('intent#')) items.push({ kind: 'intent', intent: item.intent as RevocationIntent });
        else if (pk.startsWith('policy#'))
          items.push({
            kind: 'policy',
            roleArn: String(item.roleArn),
            roleName: String(item.roleName),
            pruneAt: String(item.pruneAt),
          });
      }
      return items;
    },
  };
}
