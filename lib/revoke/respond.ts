import { parseRoleArn } from '../cloudtrail/arn.js';
import { arnMatches, type Registry } from '../registry/index.js';
import {
  fitToBudget,
  isAssumedRoleId,
  mergeRevocations,
  type PolicyDocument,
  policyTime,
  pruneRevocations,
  pruneTime,
  REVOCATION_POLICY_NAME,
  type RevocationState,
  renderRevocationPolicy,
} from './policy.js';
import type { RevocationStore } from './store.js';

/** A session to revoke, as a finding and its event describe it. */
export interface SessionToRevoke {
  roleArn: string;
  assumedRoleId: string;
  issuedAt: string;
  expiresAt: string | null;
  now: Date;
  /** Identifies the decision (the finding of one event), so a redelivery maps to the same revocation. */
  intentId: string;
  /** The finding that asked for it. */
  source: { kind: 'finding'; eventId: string; findingKind: string };
  /** Who held the session (see `callerKey`). */
  caller: string | null;
  /** Decide and record, write nothing (the global or the role's dry-run setting). */
  dryRun: boolean;
}

/** What a revoker did, or would do. */
export interface RevocationOutcome {
  kind: 'revoke-session' | 'revoke-role';
  /** The decision time: tokens issued before it are denied. */
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
  if ([...ownRoleArns, ...registry.serviceRoleArns].some((p) => arnMatches(p, roleArn)))
    return "it is one of roleguard's own roles";
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
 * A revoker that writes nothing: it keeps each role's revocation policy in memory, so a replay (a backtest) shows
 * the policy every revocation would have produced, merged, pruned and fitted exactly as the live service does.
 */
/** The addition that revokes one session: its tokens issued before the decision time, until it has surely expired. */
export function sessionRevocation(
  session: Pick<SessionToRevoke, 'assumedRoleId' | 'issuedAt' | 'expiresAt' | 'now'>,
): RevocationState {
  if (!isAssumedRoleId(session.assumedRoleId))
    throw new Error(`not an assumed-role id: ${JSON.stringify(session.assumedRoleId)}`);
  return {
    role: null,
    sessions: [
      {
        assumedRoleId: session.assumedRoleId,
        decidedAt: decisionTime(session.issuedAt, session.now),
        pruneAfter: pruneTime(session.issuedAt, session.expiresAt),
      },
    ],
  };
}

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
      const { state, fellBack } = fitToBudget(merged, options.otherInlineChars ?? 0);
      // A dry-run role's policy is shown as it would be, but (as in IAM) it is not kept.
      if (!session.dryRun) {
        policies.set(roleArn, state);
        if (session.caller && options.store)
          await options.store.noteRevokedCaller(roleArn, session.caller, decidedAt, addition.sessions[0]!.pruneAfter);
      }
      const outcome: RevocationOutcome = {
        kind: fellBack ? 'revoke-role' : 'revoke-session',
        decidedAt,
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
