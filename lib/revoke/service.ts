import { randomUUID } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { IAMClient } from '@aws-sdk/client-iam';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { parseRoleArn } from '../cloudtrail/arn.js';
import type { AssumeEvent } from '../cloudtrail/types.js';
import { built, type Lazy } from '../lazy.js';
import { type AccountAccess, otherAccountRefusal } from '../org/accounts.js';
import {
  type AppliedRevocation,
  applyRevocations,
  legacyRoleLockKey,
  type RetryOptions,
  RevocationDoesNotFit,
  RevocationRefused,
  RoleNoLongerExists,
  releaseQuietly,
  roleLockKey,
} from './apply.js';
import { type HeldLock, heldLock, LeaseLostError, type LockOptions } from './lock.js';
import {
  EMPTY_STATE,
  type PolicyDocument,
  REVOCATION_POLICY_NAME,
  type RevocationState,
  renderRevocationPolicy,
} from './policy.js';
import { type RevocationOutcome, type Revoker, sessionRevocation } from './respond.js';
import {
  decisionOf,
  type KeptRead,
  type RevocationIntent,
  type RevocationSource,
  type RevocationStore,
  type RiderWrite,
  untilOf,
} from './store.js';
import { appliedUntil } from './window.js';

/** What the live revocation path needs. */
export interface RevocationDeps {
  /** The own account's IAM client, or how to build it (a deployed function builds it at its first IAM call). */
  iam: Lazy<IAMClient>;
  dynamo: DynamoDBDocumentClient;
  store: RevocationStore;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  lock?: Pick<LockOptions, 'leaseMs' | 'waitMs'> & Partial<LockOptions>;
  retry?: Partial<RetryOptions>;
  /** The account roleguard runs in. IAM writes go by role name, so a role of any other account is never written. */
  accountId?: string | null;
  /**
   * The IAM client of each account (lib/org/accounts.ts): a role is written through the client of the account in its
   * ARN, and refused where roleguard does not act. Without it, `iam` and `accountId` (one account).
   */
  accounts?: AccountAccess;
  /**
   * Raises a critical alert about revocations that can never be applied, found by the sweep (in the assume flow the
   * finding's own alert says it). Without it they are logged as errors only.
   */
  alert?: (notice: { roleArn: string; intentIds: string[]; message: string }) => Promise<void>;
}

/** Why roleguard must not write a role of another account, or null when the role is in its own (or it cannot tell). */
export function otherAccountReason(
  deps: Pick<RevocationDeps, 'accountId' | 'accounts'>,
  roleArn: string,
): string | null {
  const account = parseRoleArn(roleArn)?.accountId;
  if (account && deps.accounts) return deps.accounts.refusal(account);
  if (!deps.accountId || !account || account === deps.accountId) return null;
  return otherAccountRefusal(account, deps.accountId);
}

/** The IAM client of the account a role lives in (its spoke role's, in a member account of an organization). */
export async function iamForRole(deps: Pick<RevocationDeps, 'iam' | 'accounts'>, roleArn: string): Promise<IAMClient> {
  const account = parseRoleArn(roleArn)?.accountId;
  return deps.accounts && account ? deps.accounts.iamFor(account, 'revoke') : built(deps.iam);
}

/** A revocation to carry out: its id (the same request always has the same id), the role and what to add. */
export interface RevocationRequest {
  intentId: string;
  roleArn: string;
  addition: RevocationState;
  source: RevocationSource;
  caller: string | null;
  dryRun: boolean;
  /** The role's kept revocations, read before (with the event's other reads): the fast path reads them no more. */
  kept?: KeptRead;
  /** The caller's writes that ride in the fast path's two transactions (see `Riders`). */
  riders?: Riders;
}

/**
 * Writes of the caller's own that go in the fast path's transactions, so that an event whose session is revoked
 * costs fewer calls: `opening` with the intent and the lock (the session's conditional put), all or nothing;
 * `closing`, built from the outcome, with the intent's settlement and the lock's release (the alert's admission and
 * the session marked processed), dropped when one of them does not hold (an open merge window).
 */
export interface Riders {
  opening: RiderWrite[];
  closing: (outcome: RevocationOutcome) => RiderWrite[];
}

/**
 * The opening transaction that carried riders did not go through (the session is recorded already, or the lock is
 * held, a conflict, ...): nothing at all was written, and the caller takes its usual path, riders first.
 */
export class RidersRefused extends Error {
  override name = 'RidersRefused';
}

/** What the outcome of an applied revocation says (as the alert and the action report it). */
function appliedOutcome(addition: RevocationState, applied: AppliedRevocation): RevocationOutcome {
  // A used-once end coarsened to fit the budget: the outcome reports the later end it got.
  const until = applied.fellBack ? null : appliedUntil(applied.state, addition);
  const window = addition.sessions[0]?.issuedWindow;
  return {
    kind: applied.fellBack || addition.role ? 'revoke-role' : 'revoke-session',
    decidedAt: until ?? decisionOf(addition),
    policyName: REVOCATION_POLICY_NAME,
    policyDocument: applied.policyDocument,
    applied: true,
    fellBack: applied.fellBack,
    ...(window && !applied.fellBack ? { issuedWindow: window } : {}),
  };
}

/** How long the live path has before the sweep may take an intent over (it normally settles it in seconds). */
export const SWEEP_GRACE_MS = 60_000;
/** The longest the sweep waits between tries of an intent that keeps failing. */
const MAX_RETRY_MS = 15 * 60_000;
/** The role lock of the live path: held at most `leaseMs`, waited for at most `waitMs` (lib/queue-handler.ts counts it). */
export const DEFAULT_LOCK = { leaseMs: 60_000, waitMs: 20_000 };

/**
 * Who made an assume, as stably as CloudTrail lets us tell: the caller's account and its principal's unique id (the
 * part of `principalId` before `:`, AIDA… for a user, AROA… for a role whatever the session), else its ARN.
 */
export function callerKey(
  event: Pick<AssumeEvent, 'callerAccountId' | 'callerPrincipalId' | 'callerArn'>,
): string | null {
  const principal = event.callerPrincipalId?.split(':')[0] || null;
  const who =
    principal ??
    event.callerArn?.replace(/^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([^/]+)\/.*$/, 'arn:$1:iam::$2:role/$3') ??
    null;
  if (!who && !event.callerAccountId) return null;
  return `${event.callerAccountId ?? 'unknown'}/${who ?? 'account'}`;
}

/** The earliest time a statement of the policy can be pruned; null when it holds nothing roleguard wrote. */
function nextPruneAt(state: RevocationState): string | null {
  const times = [...state.sessions.map((s) => s.pruneAfter), ...(state.role ? [state.role.pruneAfter] : [])];
  return times.length ? times.reduce((a, b) => (Date.parse(a) <= Date.parse(b) ? a : b)) : null;
}

/** The latest a revocation still matters: when the last session it covers has surely expired. */
function lastPrune(addition: RevocationState): number {
  return Math.max(
    ...addition.sessions.map((s) => Date.parse(s.pruneAfter)),
    addition.role ? Date.parse(addition.role.pruneAfter) : 0,
  );
}

/** Why a revocation of a deleted role is refused (final: the role's sessions cannot be used any more anyway). */
export const ROLE_GONE_REASON = 'the role no longer exists (it was deleted), so there is nothing left to revoke';

/** The role was deleted: forget the revocations kept for it (nothing to re-apply, prune or sweep, ever). */
async function forgetDeletedRole(deps: RevocationDeps, roleArn: string): Promise<void> {
  await deps.store.trackPolicy(roleArn, parseRoleArn(roleArn)?.roleName ?? roleArn, null, EMPTY_STATE);
  deps.logger.warn('the role no longer exists: roleguard forgets the revocations it kept for it', { roleArn });
}

// Errors that settle an intent for good (refused with a reason), never retried.
const isFinal = (error: unknown) => error instanceof RevocationDoesNotFit || error instanceof RoleNoLongerExists;

/** Refuse an intent for a final error; a deleted role's kept revocations are forgotten too. */
async function refuseFinal(
  deps: RevocationDeps,
  intent: RevocationIntent,
  error: Error,
  now: Date,
  outcome: Parameters<typeof refuseIntent>[4],
): Promise<RevocationOutcome & { intent: RevocationIntent }> {
  if (error instanceof RoleNoLongerExists) {
    await forgetDeletedRole(deps, intent.roleArn);
    return refuseIntent(deps, intent, ROLE_GONE_REASON, now, outcome);
  }
  return refuseIntent(deps, intent, error.message, now, outcome);
}

/** Apply to IAM, or decide in a dry run, the additions of one role; returns what IAM holds afterwards. */
async function applyToRole(
  deps: RevocationDeps,
  roleArn: string,
  additions: RevocationState[],
  now: Date,
  dryRun: boolean,
  options: {
    heldLock?: HeldLock;
    whileLocked?: (applied: AppliedRevocation, lock: HeldLock) => Promise<void>;
    force?: boolean;
    readKept?: () => Promise<RevocationState | null>;
  } = {},
): Promise<AppliedRevocation> {
  const roleName = parseRoleArn(roleArn)!.roleName;
  let iam: IAMClient;
  try {
    iam = await iamForRole(deps, roleArn);
  } catch (error) {
    // The spoke cannot be assumed: give back the lock the fast path took, as applying would have.
    if (options.heldLock) await releaseQuietly(options.heldLock, roleName, deps.logger);
    throw error;
  }
  // The prune time is tracked under the lock, so that two applications to one role record it in IAM's order.
  return applyRevocations(
    {
      iam,
      dynamo: deps.dynamo,
      lockTable: deps.store.tableName,
      lock: deps.lock ?? DEFAULT_LOCK,
      hubAccountId: deps.accountId ?? null,
      logger: deps.logger,
      ...(deps.retry ? { retry: deps.retry } : {}),
    },
    roleArn,
    additions,
    now,
    {
      dryRun,
      ...(options.heldLock ? { heldLock: options.heldLock } : {}),
      ...(options.force ? { force: true } : {}),
      readKept: options.readKept ?? (() => deps.store.keptState(roleArn)),
      whileLocked:
        options.whileLocked ??
        ((applied, lock) =>
          deps.store.trackPolicy(roleArn, roleName, nextPruneAt(applied.state), applied.state, {
            key: roleLockKey(roleArn),
            owner: lock.owner,
          })),
    },
  );
}

/**
 * The fast path of a live revocation, five AWS calls when nobody else holds the role: one transaction records the
 * intent, notes the caller and takes the role's lock; IAM is read (GetRolePolicy, ListRolePolicies) and written
 * (PutRolePolicy); one transaction settles the intent, tracks the policy and gives the lock up. Null when the first
 * transaction did not go through (a redelivery, a held lock, a conflict): nothing was written, and the caller takes
 * the step-by-step path, which waits for the lock.
 */
async function revokeFast(
  deps: RevocationDeps,
  request: RevocationRequest,
  roleName: string,
  now: Date,
): Promise<
  | { intent: RevocationIntent; applied: AppliedRevocation; riders?: 'opened' | 'closed' }
  | { intent: RevocationIntent; error: unknown; riders?: 'opened' }
  | null
> {
  // Leases run on the wall clock, as acquireLock's do, never on a replay's event clock: otherwise a lease taken
  // here would look long expired to a waiter, and two writers could hold the role at once.
  const lock = {
    key: roleLockKey(request.roleArn),
    legacyKey: legacyRoleLockKey(request.roleArn, deps.accountId) ?? undefined,
    owner: randomUUID(),
    leaseMs: (deps.lock ?? DEFAULT_LOCK).leaseMs,
    at: (deps.lock?.now ?? Date.now)(),
  };
  const begun = await deps.store.begin(
    {
      intentId: request.intentId,
      roleArn: request.roleArn,
      roleName,
      addition: request.addition,
      source: request.source,
      caller: request.caller,
      dryRun: false,
      createdAt: now.toISOString(),
    },
    {
      dueAt: new Date(now.getTime() + SWEEP_GRACE_MS),
      now,
      lock,
      ...(request.kept ? { kept: request.kept } : {}),
      ...(request.riders ? { riders: request.riders.opening } : {}),
    },
  );
  // With riders, nothing may be revoked before they are written: whatever cancelled the transaction (the session
  // recorded already, or a held lock, a conflict, a newer marker), the caller records the session its usual way first
  // (the other copy of a cross-account assume then decides nothing) and revokes step by step.
  if (!begun.begun && (begun.ridersRefused || request.riders)) throw new RidersRefused(begun.reason);
  if (!begun.begun) return null;
  const { intent } = begun;
  const opened = request.riders ? ({ riders: 'opened' } as const) : {};
  let closed = false;
  const held = [lock.key, lock.legacyKey]
    .filter((key): key is string => key !== undefined)
    .map((key) => heldLock(deps.dynamo, deps.store.tableName, key, lock.owner));
  let settled = false;
  try {
    const applied = await applyToRole(deps, intent.roleArn, [intent.addition], now, false, {
      // Read with the event's other reads, and still the same (the opening transaction checked its version).
      ...(request.kept ? { readKept: async () => request.kept!.state } : {}),
      // Given up by the closing transaction when it goes through; otherwise released as usual.
      heldLock: {
        owner: lock.owner,
        leaseUntil: lock.at + lock.leaseMs,
        release: async () => {
          if (!settled) for (const h of held) await h.release();
        },
      },
      whileLocked: async (result) => {
        const track = { roleArn: intent.roleArn, roleName, pruneAt: nextPruneAt(result.state), state: result.state };
        const finished = await deps.store.finish(
          intent.intentId,
          { state: 'applied', at: now, policyDocument: result.policyDocument, fellBack: result.fellBack },
          track,
          lock,
          request.riders?.closing(appliedOutcome(intent.addition, result)),
        );
        settled = finished !== false;
        closed = finished === 'with-riders';
        // The lease ran out meanwhile: track step by step (still in IAM's order as far as this holder can tell).
        if (!settled)
          await deps.store.trackPolicy(track.roleArn, track.roleName, track.pruneAt, track.state, {
            key: lock.key,
            owner: lock.owner,
          });
      },
    });
    // The lease ran out before the closing transaction: another holder may have written meanwhile, so the intent stays
    // pending and the sweep merges it in again (harmless if it is already there).
    if (!settled)
      return {
        intent,
        error: new LeaseLostError(`the lock on ${roleName} ran out of its lease before the revocation was settled`),
        ...opened,
      };
    return { intent, applied, ...(closed ? { riders: 'closed' as const } : opened) };
  } catch (error) {
    return { intent, error, ...opened };
  }
}

/**
 * Carry out one revocation: record the intent, then apply it under the role's lock, then mark it applied. A request
 * already carried out (a redelivered event) is not applied again. When IAM fails after its retries, the intent stays
 * pending and the sweep applies it later; the outcome says so. Nothing that writes is called in a dry run.
 */
export async function revoke(
  deps: RevocationDeps,
  request: RevocationRequest,
  now: Date,
): Promise<RevocationOutcome & { intent: RevocationIntent }> {
  const parts = parseRoleArn(request.roleArn);
  if (!parts) throw new Error(`not a role ARN: ${request.roleArn}`);
  const decided = decisionOf(request.addition);
  const result = (
    applied: boolean,
    fellBack: boolean,
    policyDocument: RevocationIntent['policyDocument'],
    extra: Partial<RevocationOutcome> = {},
  ) => ({
    kind: fellBack || request.addition.role ? ('revoke-role' as const) : ('revoke-session' as const),
    decidedAt: decided,
    policyName: REVOCATION_POLICY_NAME,
    policyDocument,
    applied,
    fellBack,
    ...extra,
  });
  const otherAccount = otherAccountReason(deps, request.roleArn);
  // Live and still worth writing: try the fast path first.
  if (!otherAccount && !request.dryRun && lastPrune(request.addition) > now.getTime()) {
    const fast = await revokeFast(deps, request, parts.roleName, now);
    if (fast && 'applied' in fast) {
      deps.logger.info('revocation applied', {
        intentId: fast.intent.intentId,
        roleArn: fast.intent.roleArn,
        decidedAt: decided,
        fellBack: fast.applied.fellBack,
        written: fast.applied.written,
      });
      return {
        ...appliedOutcome(request.addition, fast.applied),
        ...(fast.riders ? { riders: fast.riders } : {}),
        intent: { ...fast.intent, state: 'applied' },
      };
    }
    const riders = fast?.riders ? { riders: fast.riders } : {};
    if (fast && isFinal(fast.error))
      return { ...(await refuseFinal(deps, fast.intent, fast.error as Error, now, result)), ...riders };
    if (fast) return { ...(await deferred(deps, fast.intent, fast.error, now, result)), ...riders };
  }
  const { intent } = await deps.store.record(
    {
      intentId: request.intentId,
      roleArn: request.roleArn,
      roleName: parts.roleName,
      addition: request.addition,
      source: request.source,
      caller: request.caller,
      dryRun: request.dryRun,
      createdAt: now.toISOString(),
    },
    { dueAt: new Date(now.getTime() + SWEEP_GRACE_MS) },
  );
  const decidedAt = decisionOf(intent.addition);
  if (otherAccount && intent.state === 'pending') return refuseIntent(deps, intent, otherAccount, now, result);
  // The decision is what counts for "the caller came back", whether or not IAM has taken it yet.
  if (intent.caller && !intent.dryRun)
    await deps.store.noteRevokedCaller(intent.roleArn, intent.caller, decidedAt, untilOf(intent.addition));
  const outcome = (
    applied: boolean,
    fellBack: boolean,
    policyDocument: RevocationIntent['policyDocument'],
    extra: Partial<RevocationOutcome> = {},
  ) => ({
    kind: fellBack || intent.addition.role ? ('revoke-role' as const) : ('revoke-session' as const),
    decidedAt,
    policyName: REVOCATION_POLICY_NAME,
    policyDocument,
    applied,
    fellBack,
    ...extra,
  });
  if (intent.state !== 'pending') {
    return {
      ...outcome(intent.state === 'applied', intent.fellBack, intent.policyDocument, {
        alreadyDone: true,
        ...(intent.state === 'refused' ? { refused: intent.lastError ?? 'refused' } : {}),
        ...(intent.state === 'expired' ? { expiredAt: new Date(lastPrune(intent.addition)).toISOString() } : {}),
      }),
      intent,
    };
  }
  // Every session it covers has expired already (a late or replayed event): there is nothing left to deny.
  if (lastPrune(intent.addition) <= now.getTime()) {
    const expiredAt = new Date(lastPrune(intent.addition)).toISOString();
    await deps.store.settle(intent.intentId, {
      state: 'expired',
      at: now,
      policyDocument: null,
      fellBack: false,
      error: `the sessions had expired by ${expiredAt}`,
    });
    deps.logger.info('revocation not needed: the sessions it covers have expired', {
      intentId: intent.intentId,
      roleArn: intent.roleArn,
      expiredAt,
    });
    return { ...outcome(false, false, null, { expiredAt }), intent: { ...intent, state: 'expired' } };
  }
  try {
    const applied = await applyToRole(deps, intent.roleArn, [intent.addition], now, intent.dryRun);
    const state = intent.dryRun ? 'dry-run' : 'applied';
    await deps.store.settle(intent.intentId, {
      state,
      at: now,
      policyDocument: applied.policyDocument,
      fellBack: applied.fellBack,
    });
    deps.logger.info(intent.dryRun ? 'revocation decided (dry run: nothing written)' : 'revocation applied', {
      intentId: intent.intentId,
      roleArn: intent.roleArn,
      decidedAt,
      fellBack: applied.fellBack,
      written: applied.written,
    });
    return { ...outcome(!intent.dryRun, applied.fellBack, applied.policyDocument), intent: { ...intent, state } };
  } catch (error) {
    if (isFinal(error)) return refuseFinal(deps, intent, error as Error, now, outcome);
    return deferred(deps, intent, error, now, outcome);
  }
}

/** The intent can never be applied: settled as refused with its reason (never retried), logged as an error. */
async function refuseIntent(
  deps: RevocationDeps,
  intent: RevocationIntent,
  reason: string,
  now: Date,
  outcome: (
    applied: boolean,
    fellBack: boolean,
    policyDocument: null,
    extra: Partial<RevocationOutcome>,
  ) => RevocationOutcome,
): Promise<RevocationOutcome & { intent: RevocationIntent }> {
  await deps.store.settle(intent.intentId, {
    state: 'refused',
    at: now,
    policyDocument: null,
    fellBack: false,
    error: reason,
  });
  deps.logger.error('revocation refused: it can never be applied', {
    intentId: intent.intentId,
    roleArn: intent.roleArn,
    reason,
  });
  return { ...outcome(false, false, null, { refused: reason }), intent: { ...intent, state: 'refused' } };
}

/** IAM failed after its retries: the intent stays pending, due for the sweep; the outcome says so. */
async function deferred(
  deps: RevocationDeps,
  intent: RevocationIntent,
  error: unknown,
  now: Date,
  outcome: (
    applied: boolean,
    fellBack: boolean,
    policyDocument: null,
    extra: Partial<RevocationOutcome>,
  ) => RevocationOutcome,
): Promise<RevocationOutcome & { intent: RevocationIntent }> {
  const message = `${(error as Error).name}: ${(error as Error).message}`;
  await deps.store.defer(intent.intentId, { error: message, retryAt: new Date(now.getTime() + SWEEP_GRACE_MS) });
  deps.logger.error('revocation not applied yet; it is recorded and the sweep retries it', {
    intentId: intent.intentId,
    roleArn: intent.roleArn,
    decidedAt: decisionOf(intent.addition),
    error: message,
  });
  return { ...outcome(false, false, null, { pendingError: message }), intent };
}

/** What a sweep of the revocations did. */
export interface RevocationSweep {
  /** Intents applied by this sweep (left over by a function that failed or died). */
  applied: number;
  /** Roles whose policy was pruned of statements about expired sessions. */
  pruned: number;
  /** Intents that failed again and stay due. */
  retrying: number;
  /** Intents whose sessions all expired before they could be applied (logged as errors). */
  expired: number;
  /** Intents on a role that has become protected since the decision (logged as errors, never applied). */
  refused?: number;
}

/**
 * The scheduled sweep: apply every intent still pending (all of a role's at once, in one write), and prune
 * statements about sessions that have all expired. Failures stay due, with backoff, until the sessions they cover
 * have expired; an intent that never got applied by then is logged as an error, never dropped silently.
 */
export async function sweepRevocations(
  deps: RevocationDeps,
  now: Date,
  options: {
    protectedReason?: (
      roleArn: string,
    ) => string | null /** DRY_RUN, or the role's dryRun: nothing is written for it (its work stays due). */;
    dryRun?: (roleArn: string) => boolean;
  } = {},
): Promise<RevocationSweep> {
  const result: RevocationSweep = { applied: 0, pruned: 0, retrying: 0, expired: 0 };
  const byRole = new Map<string, { intents: RevocationIntent[]; prune: boolean }>();
  for (const item of await deps.store.due(now)) {
    const roleArn = item.kind === 'intent' ? item.intent.roleArn : item.roleArn;
    const entry = byRole.get(roleArn) ?? { intents: [], prune: false };
    if (item.kind === 'intent') entry.intents.push(item.intent);
    else entry.prune = true;
    byRole.set(roleArn, entry);
  }
  for (const [roleArn, { intents, prune }] of byRole) {
    // The registry may have changed since the decision: a role protected now is never written, not even pruned.
    const refused = options.protectedReason?.(roleArn) ?? otherAccountReason(deps, roleArn);
    if (refused) {
      for (const intent of intents) {
        await deps.store.settle(intent.intentId, {
          state: 'refused',
          at: now,
          policyDocument: null,
          fellBack: false,
          error: refused,
        });
        deps.logger.error('revocation refused by the sweep: the role is protected now', {
          intentId: intent.intentId,
          roleArn,
          reason: refused,
        });
      }
      if (prune) await deps.store.trackPolicy(roleArn, parseRoleArn(roleArn)?.roleName ?? roleArn, null);
      result.refused = (result.refused ?? 0) + intents.length;
      if (intents.length)
        await deps.alert?.({
          roleArn,
          intentIds: intents.map((i) => i.intentId),
          message: `Revocation refused: ${refused}. Nothing was written.`,
        });
      continue;
    }
    // Dry run switched on since (an emergency stop): write nothing; what is due stays due for when it is off.
    if (options.dryRun?.(roleArn)) {
      deps.logger.warn('revocation sweep: dry run, nothing written for this role; its intents and pruning stay due', {
        roleArn,
        intents: intents.map((i) => i.intentId),
        prune,
      });
      continue;
    }
    const live = intents.filter((i) => lastPrune(i.addition) > now.getTime());
    for (const intent of intents.filter((i) => !live.includes(i))) {
      await deps.store.settle(intent.intentId, {
        state: 'expired',
        at: now,
        policyDocument: null,
        fellBack: false,
        error: intent.lastError ?? 'not applied before its sessions expired',
      });
      deps.logger.error('revocation never applied; the sessions it covered have expired', {
        intentId: intent.intentId,
        roleArn,
        attempts: intent.attempts,
        lastError: intent.lastError,
      });
      result.expired++;
    }
    if (live.length === 0 && !prune) continue;
    try {
      const applied = await applyToRole(
        deps,
        roleArn,
        live.map((i) => i.addition),
        now,
        false,
      );
      for (const intent of live) {
        await deps.store.settle(intent.intentId, {
          state: 'applied',
          at: now,
          policyDocument: applied.policyDocument,
          fellBack: applied.fellBack,
        });
        deps.logger.info('revocation applied by the sweep', {
          intentId: intent.intentId,
          roleArn,
          attempts: intent.attempts + 1,
          fellBack: applied.fellBack,
        });
      }
      result.applied += live.length;
      if (live.length === 0 && applied.written) result.pruned++;
    } catch (error) {
      if (error instanceof RoleNoLongerExists) {
        // Final: the intents are refused, the kept state and its prune item are dropped (never due again).
        for (const intent of live) await refuseIntent(deps, intent, ROLE_GONE_REASON, now, refusedOutcome);
        await forgetDeletedRole(deps, roleArn);
        result.refused = (result.refused ?? 0) + live.length;
        continue;
      }
      if (error instanceof RevocationDoesNotFit) {
        for (const intent of live) await refuseIntent(deps, intent, error.message, now, refusedOutcome);
        result.refused = (result.refused ?? 0) + live.length;
        if (live.length)
          await deps.alert?.({
            roleArn,
            intentIds: live.map((i) => i.intentId),
            message: `Revocation not applied: ${error.message}.`,
          });
        continue;
      }
      const message = `${(error as Error).name}: ${(error as Error).message}`;
      for (const intent of live) {
        const retryAt = new Date(now.getTime() + Math.min(MAX_RETRY_MS, SWEEP_GRACE_MS * 2 ** intent.attempts));
        await deps.store.defer(intent.intentId, { error: message, retryAt });
      }
      result.retrying += live.length;
      // The prune item is due again later too: one that keeps failing must not fill every sweep's batch.
      if (prune)
        await deps.store.trackPolicy(
          roleArn,
          parseRoleArn(roleArn)?.roleName ?? roleArn,
          new Date(now.getTime() + SWEEP_GRACE_MS * 5).toISOString(),
        );
      deps.logger.error('revocation sweep could not write a role; it stays due', {
        roleArn,
        intents: live.map((i) => i.intentId),
        error: message,
      });
    }
  }
  return result;
}

// The sweep reports counts, not outcomes.
const refusedOutcome = (): RevocationOutcome => ({
  kind: 'revoke-session',
  decidedAt: '',
  policyName: REVOCATION_POLICY_NAME,
  policyDocument: null,
  applied: false,
  fellBack: false,
});

/** The deployed service's revoker: each revocation is recorded, applied to IAM under the role's lock, and settled. */
export function liveRevoker(deps: RevocationDeps): Revoker {
  return {
    async revokeSession(session) {
      const addition = sessionRevocation(session);
      let done: RevocationOutcome & { intent: RevocationIntent };
      try {
        done = await revoke(
          deps,
          {
            intentId: session.intentId,
            roleArn: session.roleArn,
            addition,
            source: session.source,
            caller: session.caller,
            dryRun: session.dryRun,
            ...(session.kept ? { kept: session.kept } : {}),
            ...(session.riders ? { riders: session.riders } : {}),
          },
          session.now,
        );
      } catch (error) {
        if (!(error instanceof RidersRefused)) throw error;
        // The session is recorded already (a redelivery): nothing was done; the caller takes its usual path.
        return {
          kind: 'revoke-session',
          decidedAt: decisionOf(addition),
          policyName: REVOCATION_POLICY_NAME,
          policyDocument: null,
          applied: false,
          fellBack: false,
          riders: 'refused',
        };
      }
      const { intent, ...outcome } = done;
      void intent;
      const window = addition.sessions[0]!.issuedWindow;
      return window && !outcome.fellBack ? { ...outcome, issuedWindow: window } : outcome;
    },
  };
}

/** The revocations roleguard keeps for a role (DynamoDB, the source of truth) and their policy; null when none. */
export async function keptRevocationPolicy(
  deps: Pick<RevocationDeps, 'store'>,
  roleArn: string,
): Promise<{ state: RevocationState; policyDocument: PolicyDocument | null } | null> {
  const state = await deps.store.keptState(roleArn);
  return state ? { state, policyDocument: renderRevocationPolicy(state) } : null;
}

/**
 * Write a role's kept revocations back to IAM (after someone put or deleted roleguard's policy): merged with what IAM
 * still holds, pruned and fitted, under the role's lock, and written even when IAM's (possibly stale) read already
 * looks right; statements someone else put in roleguard's policy are dropped (and returned). Null when nothing is
 * kept for the role and nothing was dropped. Dry run: decides and writes nothing. Throws RevocationRefused
 * for a role of another account.
 */
export async function reapplyRevocationPolicy(
  deps: RevocationDeps,
  roleArn: string,
  now: Date,
  options: { dryRun?: boolean } = {},
): Promise<AppliedRevocation | null> {
  if (!parseRoleArn(roleArn)) throw new Error(`not a role ARN: ${roleArn}`);
  const otherAccount = otherAccountReason(deps, roleArn);
  if (otherAccount) throw new RevocationRefused(`refused: ${roleArn}: ${otherAccount}`);
  const kept = await deps.store.keptState(roleArn);
  try {
    // Nothing kept: still read roleguard's policy, to drop statements someone else put there (nothing is tracked).
    const applied = await applyToRole(deps, roleArn, [], now, options.dryRun ?? false, {
      force: true,
      ...(kept ? {} : { whileLocked: async () => undefined }),
    });
    return kept || applied.dropped.length ? applied : null;
  } catch (error) {
    // Deleted (its deleter removed roleguard's policy first): final, nothing to put back; callers say so.
    if (error instanceof RoleNoLongerExists && !options.dryRun) await forgetDeletedRole(deps, roleArn);
    throw error;
  }
}
