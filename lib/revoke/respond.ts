import { parseRoleArn } from '../cloudtrail/arn.js';
import { arnMatches, type Registry } from '../registry/index.js';
import { ownRoleMatches } from '../registry/match.js';
import type { SessionStore } from '../sessions/index.js';
import {
  doesNotFitReason,
  fitToBudget,
  isAssumedRoleId,
  MAX_SESSION_SECONDS,
  mergeRevocations,
  type PolicyDocument,
  policyTime,
  pruneRevocations,
  pruneTime,
  REVOCATION_POLICY_NAME,
  type RevocationState,
  renderRevocationPolicy,
} from './policy.js';
import type { Riders } from './service.js';
import type { KeptRead, RevocationStore } from './store.js';
import { appliedUntil, issueWindow, usedOnceUntil } from './window.js';

/** A session to revoke, as a finding and its event describe it. */
export interface SessionToRevoke {
  roleArn: string;
  assumedRoleId: string;
  issuedAt: string;
  expiresAt: string | null;
  /** The event's `durationSeconds`: with `expiresAt`, it can confirm the issue time. */
  durationSeconds?: number | null;
  /**
   * Whether other sessions of the role carry the same name (see `sessionNameShared`). False: no earlier session
   * shares it, so the deny needs no lower bound (its upper bound is the issue time + margin, to the next minute). True or absent (cannot tell): the deny is bounded around the
   * session's own issue time, so the vendor's other sessions of that name stay allowed.
   */
  nameShared?: boolean;
  now: Date;
  /** Identifies the decision (the finding of one event), so a redelivery maps to the same revocation. */
  intentId: string;
  /** The finding that asked for it. */
  source: { kind: 'finding'; eventId: string; findingKind: string };
  /** Who held the session (see `callerKey`). */
  caller: string | null;
  /** Decide and record, write nothing (the global or the role's dry-run setting). */
  dryRun: boolean;
  /** The role's kept revocations, read with the event's other reads (the live revoker then reads them no more). */
  kept?: KeptRead;
  /** Writes of the caller's that ride in the live revoker's transactions (see `Riders` in service.ts). */
  riders?: Riders;
}

/** What a revoker did, or would do. */
export interface RevocationOutcome {
  kind: 'revoke-session' | 'revoke-role';
  /**
   * Tokens issued before it are denied: the decision time, or for a name used once the end of its deny (its issue
   * time + margin, rounded up to the next minute), which is what the alert and the action report.
   */
  decidedAt: string;
  policyName: string;
  /** The role's whole revocation policy after this revocation. */
  policyDocument: PolicyDocument | null;
  applied: boolean;
  fellBack: boolean;
  /** This revocation was already carried out for an earlier delivery of the same event. */
  alreadyDone?: boolean;
  /** IAM failed after retries: the revocation is recorded and the sweep applies it later. */
  pendingError?: string;
  /** Every session it covers had expired by then: nothing was written, nothing needed to be. */
  expiredAt?: string;
  /** It can never be applied (another account's role, no room even for the whole role): why. Nothing was written. */
  refused?: string;
  /** The session's name is or may be shared: only its tokens issued in `[from, until)` are denied. */
  issuedWindow?: { from: string; until: string };
  /**
   * What became of the riders, when some were given: `closed` (both transactions took them), `opened` (the
   * opening one only), `refused` (an opening rider's condition did not hold: nothing at all was done).
   */
  riders?: 'closed' | 'opened' | 'refused';
}

/** Revokes sessions; the replay uses an emulation, the deployed service IAM (`liveRevoker`). */
export interface Revoker {
  revokeSession(session: SessionToRevoke): Promise<RevocationOutcome>;
}

/** Why a role must never be touched, or null when it may be. */
export function protectedReason(
  roleArn: string,
  registry: Pick<Registry, 'protectedRoleArns' | 'serviceRoleArns'>,
  ownRoleArns: string[] = [],
): string | null {
  const parts = parseRoleArn(roleArn);
  if (!parts) return 'its ARN is not a valid role ARN';
  if (parts.path.startsWith('/aws-service-role/')) return 'it is a service-linked role';
  if (parts.roleName.startsWith('AWSReservedSSO_'))
    return 'it is an IAM Identity Center role (AWSReservedSSO_*), which IAM does not let anyone edit';
  const own = ownRoleArns.some((p) => ownRoleMatches(p, roleArn));
  if (own || registry.serviceRoleArns.some((p) => arnMatches(p, roleArn))) return "it is one of roleguard's own roles";
  if (registry.protectedRoleArns.some((p) => arnMatches(p, roleArn))) return 'it is listed in protectedRoleArns';
  return null;
}

/**
 * The decision time of a revocation: now, but always after the session's issue time, so that its own token
 * (issued at that second) is denied while a session issued a second after the decision is not.
 */
export function decisionTime(issuedAt: string, now: Date): string {
  return policyTime(new Date(Math.max(now.getTime(), Math.floor(Date.parse(issuedAt) / 1000) * 1000 + 1000)));
}

/**
 * The addition that revokes one session, until it has surely expired. A name no earlier session of the role carries
 * is denied for every token issued before its own issue time + margin, rounded up to the next whole minute (compact:
 * names issued in the same minute share a statement; a later session of that name, even one issued during
 * CloudTrail's delivery delay, stays allowed); its `decidedAt` is that end. A name that is or may be shared is denied
 * only for tokens issued within a few seconds of the session's own (see window.ts).
 */
export function sessionRevocation(
  session: Pick<SessionToRevoke, 'assumedRoleId' | 'issuedAt' | 'expiresAt' | 'now' | 'durationSeconds' | 'nameShared'>,
): RevocationState {
  if (!isAssumedRoleId(session.assumedRoleId))
    throw new Error(`not an assumed-role id: ${JSON.stringify(session.assumedRoleId)}`);
  const window = session.nameShared === false ? null : issueWindow(session);
  const usedOnce = session.nameShared === false ? usedOnceUntil(session) : null;
  return {
    role: null,
    sessions: [
      {
        assumedRoleId: session.assumedRoleId,
        decidedAt: usedOnce ?? decisionTime(session.issuedAt, session.now),
        pruneAfter: pruneTime(session.issuedAt, session.expiresAt),
        ...(window ? { issuedWindow: window } : {}),
      },
    ],
  };
}

/** How many of a role's recent sessions the name check looks at; past that, it cannot tell (and bounds the deny). */
export const NAME_CHECK_LIMIT = 200;

/**
 * Whether another recorded session of the role, still possibly alive or issued since, carries this session's name
 * (every session of one role with one name has the same `aws:userid`). One query, bounded: on a role busier than
 * NAME_CHECK_LIMIT sessions in that time it cannot tell, and answers true (the narrow deny is the safe one).
 */
export async function sessionNameShared(
  sessions: Pick<SessionStore, 'withAssumedRoleId'>,
  session: { roleArn: string; assumedRoleId: string; issuedAt: string; eventId: string; accessKeyId: string | null },
  now: Date,
  logger?: { warn(message: string, details: Record<string, unknown>): void },
): Promise<boolean> {
  const issued = Date.parse(session.issuedAt);
  if (Number.isNaN(issued)) return true;
  const from = new Date(issued - MAX_SESSION_SECONDS * 1000).toISOString();
  const to = new Date(Math.max(now.getTime(), issued)).toISOString();
  let found: Awaited<ReturnType<SessionStore['withAssumedRoleId']>>;
  try {
    found = await sessions.withAssumedRoleId(session.roleArn, session.assumedRoleId, { from, to }, NAME_CHECK_LIMIT);
  } catch (error) {
    // The check only narrows the deny: when it fails, the revocation goes ahead, bounded as for a shared name.
    logger?.warn('could not tell whether the session name is shared; denying only around its issue time', {
      roleArn: session.roleArn,
      eventId: session.eventId,
      error: `${(error as Error).name}: ${(error as Error).message}`,
    });
    return true;
  }
  const other = found.sessions.some(
    (s) =>
      s.outcome === 'success' &&
      s.eventId !== session.eventId &&
      // The other account's copy of the same cross-account assume is the same session: the same access key.
      !(session.accessKeyId && s.accessKeyId === session.accessKeyId),
  );
  return other || !found.complete;
}

// The outcome of a revocation that can never be written (see `RevocationOutcome.refused`).
const REFUSED = {
  kind: 'revoke-session' as const,
  policyName: REVOCATION_POLICY_NAME,
  policyDocument: null,
  applied: false,
  fellBack: false,
};

/**
 * A revoker that writes nothing: it keeps each role's revocation policy in memory, so a replay (a backtest) shows
 * the policy every revocation would have produced, merged, pruned and fitted exactly as the live service does.
 */
export function emulatedRevoker(
  options: { otherInlineChars?: number; store?: Pick<RevocationStore, 'noteRevokedCaller'> } = {},
): Revoker {
  const policies = new Map<string, RevocationState>();
  const done = new Map<string, RevocationOutcome>();
  return {
    async revokeSession(session) {
      const { roleArn, now } = session;
      // The same decision (a redelivered event) is carried out once, as the live revoker's intents ensure.
      const earlier = done.get(session.intentId);
      if (earlier) return { ...earlier, alreadyDone: true };
      const addition = sessionRevocation(session);
      const decidedAt = addition.sessions[0]!.decidedAt;
      const merged = pruneRevocations(
        mergeRevocations(policies.get(roleArn) ?? { role: null, sessions: [] }, addition),
        now,
      );
      const { state, fellBack, fits } = fitToBudget(merged, options.otherInlineChars ?? 0);
      if (!fits) {
        const roleName = parseRoleArn(roleArn)?.roleName ?? roleArn;
        const refused = { ...REFUSED, decidedAt, refused: doesNotFitReason(roleName, options.otherInlineChars ?? 0) };
        done.set(session.intentId, refused);
        return refused;
      }
      // A dry-run role's policy is shown as it would be, but (as in IAM) it is not kept.
      if (!session.dryRun) {
        policies.set(roleArn, state);
        if (session.caller && options.store)
          await options.store.noteRevokedCaller(roleArn, session.caller, decidedAt, addition.sessions[0]!.pruneAfter);
      }
      const window = addition.sessions[0]!.issuedWindow;
      const outcome: RevocationOutcome = {
        ...(window && !fellBack ? { issuedWindow: window } : {}),
        kind: fellBack ? 'revoke-role' : 'revoke-session',
        // A used-once end coarsened to fit the budget: the later end it got.
        decidedAt: fellBack ? decidedAt : (appliedUntil(state, addition) ?? decidedAt),
        policyName: REVOCATION_POLICY_NAME,
        policyDocument: renderRevocationPolicy(state),
        applied: false,
        fellBack,
      };
      done.set(session.intentId, outcome);
      return outcome;
    },
  };
}
