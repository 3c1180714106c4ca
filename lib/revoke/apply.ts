import type { Logger } from '@aws-lambda-powertools/logger';
import {
  DeleteRolePolicyCommand,
  GetRolePolicyCommand,
  type IAMClient,
  ListRolePoliciesCommand,
  NoSuchEntityException,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { parseRoleArn } from '../cloudtrail/arn.js';
import { acquireLock, type HeldLock, LeaseLostError, type LockOptions } from './lock.js';

/** A write needs at least this much of its lease left (the SDK's own retries of one call fit in it). */
const LEASE_MARGIN_MS = 20_000;

import {
  doesNotFitReason,
  fitToBudget,
  mergeRevocations,
  type PolicyDocument,
  parseRevocationPolicy,
  policySize,
  pruneRevocations,
  REVOCATION_POLICY_NAME,
  type RevocationState,
  renderRevocationPolicy,
} from './policy.js';

/** A request that cannot be carried out as asked; the message says why. Nothing was written. */
export class RevocationRefused extends Error {
  override name = 'RevocationRefused';
}

/** Even revoking the whole role does not fit the role's inline policy budget: nothing is written, ever. */
export class RevocationDoesNotFit extends Error {
  override name = 'RevocationDoesNotFit';
}

/** The role no longer exists (deleted): nothing can be written to it, ever; final, not retried. */
export class RoleNoLongerExists extends Error {
  override name = 'RoleNoLongerExists';
}

/** What applying revocations to a role did (or would do, in a dry run). */
export interface AppliedRevocation {
  roleName: string;
  /** The role's whole revocation policy after this change; null when nothing is left to revoke. */
  policyDocument: PolicyDocument | null;
  /** The targeted revocations did not fit the inline budget, so the whole role was revoked. */
  fellBack: boolean;
  /** True when IAM was written; false in a dry run or when the policy was already as it should be. */
  written: boolean;
  /** The revocations the policy holds after this change. */
  state: RevocationState;
  /**
   * Statements found in roleguard's own policy that roleguard did not write (someone else's `Allow *`, padding):
   * dropped from the policy (written without them, not dry run), so the caller can say what was removed.
   */
  dropped: unknown[];
}

/**
 * The key of a role's lock in the revocations table: account and name, since same-named roles of two accounts are two
 * roles (IAM goes by name within one account).
 */
export function roleLockKey(roleArn: string): string {
  const parts = parseRoleArn(roleArn);
  if (!parts) throw new Error(`not a role ARN: ${roleArn}`);
  return `role#${parts.accountId}#${parts.roleName}`;
}

/**
 * The key the previous version locked a role under, by name only (`role#<roleName>`). During a rolling upgrade a
 * function of that version may still run: it takes only this key, so every writer of this version takes it too,
 * before its own key (the fast path takes both in one transaction). Otherwise an old and a new writer could hold
 * "the" lock at once and one's statement be lost. The previous version wrote roles of the hub's own account only, so
 * a role of a member account has no legacy key (null) and same-named roles of two member accounts never wait for
 * each other; without a known hub account the key is taken. Kept for one release.
 */
export function legacyRoleLockKey(roleArn: string, hubAccountId?: string | null): string | null {
  const parts = parseRoleArn(roleArn);
  if (!parts) throw new Error(`not a role ARN: ${roleArn}`);
  if (hubAccountId && parts.accountId !== hubAccountId) return null;
  return `role#${parts.roleName}`;
}

/** Take a role's lock: the legacy key first, if any, then the role's own (see `legacyRoleLockKey`); one to give up. */
async function acquireRoleLock(deps: ApplyDeps, roleArn: string): Promise<HeldLock> {
  const legacyKey = legacyRoleLockKey(roleArn, deps.hubAccountId);
  if (!legacyKey) return acquireLock(deps.dynamo, deps.lockTable, roleLockKey(roleArn), deps.lock);
  const legacy = await acquireLock(deps.dynamo, deps.lockTable, legacyKey, deps.lock);
  let own: HeldLock;
  try {
    own = await acquireLock(deps.dynamo, deps.lockTable, roleLockKey(roleArn), deps.lock);
  } catch (error) {
    await releaseQuietly(legacy, roleArn, deps.logger);
    throw error;
  }
  const until = [own.leaseUntil, legacy.leaseUntil].filter((u) => u !== undefined);
  return {
    owner: own.owner,
    ...(until.length ? { leaseUntil: Math.min(...until) } : {}),
    async release() {
      const released = await Promise.allSettled([own.release(), legacy.release()]);
      const failed = released.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
  };
}

/** What applying needs. */
export interface ApplyDeps {
  /** The IAM client of the role's account. */
  iam: IAMClient;
  dynamo: DynamoDBDocumentClient;
  /** The table holding the per-role locks. */
  lockTable: string;
  lock: Pick<LockOptions, 'leaseMs' | 'waitMs'> & Partial<LockOptions>;
  /** The hub's own account: only its roles take the previous version's lock key too (see `legacyRoleLockKey`). */
  hubAccountId?: string | null;
  /** Retries of throttled or failed IAM calls (default: 5 tries, backoff from 200 ms). */
  retry?: Partial<RetryOptions>;
  /** Where a lock that could not be given up is reported (its lease then ends it). */
  logger?: Pick<Logger, 'warn'>;
}

/** How IAM calls that fail transiently are retried. */
export interface RetryOptions {
  attempts: number;
  baseMs: number;
  sleep: (ms: number) => Promise<void>;
}

const TRANSIENT = new Set([
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ServiceFailure',
  'ServiceFailureException',
  'ServiceUnavailable',
  'InternalFailure',
  'ConcurrentModification',
  'ConcurrentModificationException',
]);

/** True for an IAM error worth retrying: throttling, a 5xx, a concurrent modification or a network error. */
export function isTransientIamError(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  if (e.name && TRANSIENT.has(e.name)) return true;
  if (e.$retryable) return true;
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined) return status === 429 || status >= 500;
  // No HTTP status: the request never got an answer (a network error).
  return ['TimeoutError', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT'].includes(
    String(e.name ?? (error as { code?: string }).code),
  );
}

/**
 * Send an IAM command, retrying transient failures with exponential backoff and jitter. The SDK retries too, but
 * this loop is explicit and bounded, and it keeps the whole read-modify-write well inside the lock's lease.
 */
export async function withIamRetry<T>(send: () => Promise<T>, options: Partial<RetryOptions> = {}): Promise<T> {
  const attempts = options.attempts ?? 5;
  const baseMs = options.baseMs ?? 200;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let attempt = 1; ; attempt++) {
    try {
      return await send();
    } catch (error) {
      if (attempt >= attempts || !isTransientIamError(error)) throw error;
      await sleep(Math.min(5000, baseMs * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2));
    }
  }
}

const isMissing = (error: unknown) =>
  error instanceof NoSuchEntityException ||
  (error as { name?: string }).name === 'NoSuchEntity' ||
  (error as { name?: string }).name === 'NoSuchEntityException';

// A call on the role itself: NoSuchEntity means the role was deleted, which is final.
async function roleCall<T>(roleName: string, send: () => Promise<T>, retry: Partial<RetryOptions>): Promise<T> {
  try {
    return await withIamRetry(send, retry);
  } catch (error) {
    if (isMissing(error)) throw new RoleNoLongerExists(`the role ${roleName} no longer exists (it was deleted)`);
    throw error;
  }
}

async function readPolicy(
  iam: IAMClient,
  roleName: string,
  policyName: string,
  retry: Partial<RetryOptions> = {},
): Promise<string | null> {
  try {
    const out = await withIamRetry(
      () => iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: policyName })),
      retry,
    );
    return out.PolicyDocument ?? null;
  } catch (error) {
    if (isMissing(error)) return null;
    throw error;
  }
}

/**
 * Merge revocations into a role's revocation policy: read, merge, prune, fit, write, under a per-role lock so
 * concurrent revocations of one role never overwrite each other. The merge is monotonic, so a retry or an
 * out-of-order application never un-revokes anything. Only the policy roleguard owns is written; the role's other
 * inline policies are only read, to count the shared size budget. A dry run reads and decides but writes nothing.
 */
export async function applyRevocations(
  deps: ApplyDeps,
  roleArn: string,
  additions: RevocationState[],
  now: Date,
  options: {
    dryRun: boolean;
    /** Runs while the lock is still held, after a (non dry-run) apply: bookkeeping that must follow IAM's order. */
    whileLocked?: (applied: AppliedRevocation, lock: HeldLock) => Promise<void>;
    /** The role's lock, already taken by the caller (the fast path takes it with the intent); released here. */
    heldLock?: HeldLock;
    /** Reads the revocations kept in DynamoDB for the role (the source of truth), merged with IAM's possibly stale read. */
    readKept?: () => Promise<RevocationState | null>;
    /** Write even when the policy read back already looks right (the read may be stale, e.g. after tampering). */
    force?: boolean;
  },
): Promise<AppliedRevocation> {
  const roleName = parseRoleArn(roleArn)!.roleName;
  const lock = options.heldLock ?? (await acquireRoleLock(deps, roleArn));
  try {
    const retry = deps.retry ?? {};
    // The kept state is read alongside IAM (no added latency): a stale IAM read never drops what it holds.
    const [current, kept] = await Promise.all([
      readPolicy(deps.iam, roleName, REVOCATION_POLICY_NAME, retry),
      options.readKept?.() ?? null,
    ]);
    const parsed = current
      ? parseRevocationPolicy(current)
      : { state: { role: null, sessions: [] }, foreignStatements: [] as unknown[] };
    const dropped = parsed.foreignStatements;
    const merged = pruneRevocations(mergeRevocations(parsed.state, ...(kept ? [kept] : []), ...additions), now);
    // The role's other inline policies share the size budget. Listing them costs a call (and a read of each), so
    // a live write first assumes there are none; IAM refuses a write past the budget (LimitExceeded), and only then
    // are they read and the revocations fitted to what is left. A dry run cannot try, so it reads them first.
    let others: number | null = null;
    const readOthers = async () => {
      const names =
        (await roleCall(roleName, () => deps.iam.send(new ListRolePoliciesCommand({ RoleName: roleName })), retry))
          .PolicyNames ?? [];
      let chars = 0;
      for (const name of names)
        if (name !== REVOCATION_POLICY_NAME)
          chars += policySize(decode(await readPolicy(deps.iam, roleName, name, retry)));
      return chars;
    };
    if (options.dryRun) others = await readOthers();
    // Only roleguard's own statements are written back: anything else in its policy (an `Allow *` planted there, or
    // padding meant to crowd out revocations) is dropped, returned in `dropped`, and not counted against the budget.
    const decide = (otherChars: number) => {
      const { state, fellBack, fits } = fitToBudget(merged, otherChars);
      if (!fits) throw new RevocationDoesNotFit(doesNotFitReason(roleName, otherChars));
      const policyDocument = renderRevocationPolicy(state);
      const unchanged = JSON.stringify(policyDocument) === JSON.stringify(current ? decode(current) : null);
      return { state, fellBack, policyDocument, unchanged };
    };
    let decided = decide(others ?? 0);
    if (options.dryRun) return { roleName, ...pick(decided), written: false, dropped };
    if (decided.unchanged && !options.force) {
      const result = { roleName, ...pick(decided), written: false, dropped };
      await options.whileLocked?.(result, lock);
      return result;
    }
    // Every write attempt checks the lease first: a holder slowed down past it (throttling) must not overwrite a
    // newer holder's write. Its intent stays pending and is applied again, merged, later.
    const stillHeld = () => {
      const now = (deps.lock.now ?? Date.now)();
      if (lock.leaseUntil !== undefined && now > lock.leaseUntil - LEASE_MARGIN_MS)
        throw new LeaseLostError(`the lock on ${roleName} is (nearly) out of its lease; not writing`);
    };
    const put = (document: PolicyDocument) =>
      roleCall(
        roleName,
        () => {
          stillHeld();
          return deps.iam.send(
            new PutRolePolicyCommand({
              RoleName: roleName,
              PolicyName: REVOCATION_POLICY_NAME,
              PolicyDocument: JSON.stringify(document),
            }),
          );
        },
        retry,
      );
    if (decided.policyDocument) {
      try {
        await put(decided.policyDocument);
      } catch (error) {
        if (others !== null || !isOverBudget(error)) throw error;
        // Other inline policies take part of the budget: read them, fit to what is left, and write that.
        others = await readOthers();
        decided = decide(others);
        if (decided.policyDocument) await put(decided.policyDocument);
      }
    }
    const { state, fellBack, policyDocument } = decided;
    if (!policyDocument && current)
      await withIamRetry(async () => {
        stillHeld();
        // Already gone (with its role, or deleted since the read): nothing left to delete.
        await deps.iam
          .send(new DeleteRolePolicyCommand({ RoleName: roleName, PolicyName: REVOCATION_POLICY_NAME }))
          .catch((error: unknown) => {
            if (!isMissing(error)) throw error;
          });
      }, retry);
    const result = { roleName, policyDocument, fellBack, written: true, state, dropped };
    await options.whileLocked?.(result, lock);
    return result;
  } finally {
    await releaseQuietly(lock, roleName, deps.logger);
  }
}

/**
 * Give a lock up without letting a failure mask what was done under it: the write went to IAM (or failed for its own
 * reason) either way. A lock that cannot be given up is logged and ends by its lease.
 */
export async function releaseQuietly(
  lock: HeldLock,
  roleName: string,
  logger: Pick<Logger, 'warn'> | undefined,
): Promise<void> {
  try {
    await lock.release();
  } catch (error) {
    logger?.warn('the lock on the role could not be given up; it ends by its lease', {
      roleName,
      error: error as Error,
    });
  }
}

// The fields of a decision that go into the result.
const pick = (d: { state: RevocationState; fellBack: boolean; policyDocument: PolicyDocument | null }) => ({
  policyDocument: d.policyDocument,
  fellBack: d.fellBack,
  state: d.state,
});

// IAM refuses a write that takes the role's inline policies past their shared budget.
const isOverBudget = (error: unknown) =>
  ['LimitExceeded', 'LimitExceededException'].includes((error as { name?: string }).name ?? '');

// IAM returns policy documents URL-encoded.
function decode(document: string | null): unknown {
  if (document === null) return null;
  return JSON.parse(document.trim().startsWith('{') ? document : decodeURIComponent(document));
}
