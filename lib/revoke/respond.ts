import { parseRoleArn } from '../cloudtrail/arn.js';
import { arnMatches, type Registry } from '../registry/index.js';
import { fitToBudget, isAssumedRoleId, mergeRevocations, policyTime, pruneRevocations, pruneTime, renderRevocationPolicy, REVOCATION_POLICY_NAME, type PolicyDocument, type RevocationState } from './policy.js';

/** A session to revoke, as a finding and its event describe it. */
export interface SessionToRevoke {
  roleArn: string;
  assumedRoleId: string;
  issuedAt: string;
  expiresAt: string | null;
  now: Date;
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
}

/** Revokes sessions; the replay uses an emulation, the deployed service (with the revocation issue) IAM. */
export interface Revoker {
  revokeSession(session: SessionToRevoke): Promise<RevocationOutcome>;
}

/** Why a role must never be touched, or null when it may be. */
export function protectedReason(roleArn: string, registry: Pick<Registry, 'protectedRoleArns' | 'serviceRoleArns'>): string | null {
  const parts = parseRoleArn(roleArn);
  if (!parts) return 'its ARN is not a valid role ARN';
  if (parts.path.startsWith('/aws-service-role/')) return 'it is a service-linked role';
  if (parts.roleName.startsWith('AWSReservedSSO_')) return 'it is an IAM Identity Center role (AWSReservedSSO_*), which IAM does not let anyone edit';
  if (registry.serviceRoleArns.some((p) => arnMatches(p, roleArn))) return "it is one of roleguard's own roles";
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
export function emulatedRevoker(otherInlineChars = 0): Revoker {
  const policies = new Map<string, RevocationState>();
  return {
    async revokeSession({ roleArn, assumedRoleId, issuedAt, expiresAt, now }) {
      if (!isAssumedRoleId(assumedRoleId)) throw new Error(`not an assumed-role id: ${JSON.stringify(assumedRoleId)}`);
      const decidedAt = decisionTime(issuedAt, now);
      const addition: RevocationState = { role: null, sessions: [{ assumedRoleId, decidedAt, pruneAfter: pruneTime(issuedAt, expiresAt) }] };
      const merged = pruneRevocations(mergeRevocations(policies.get(roleArn) ?? { role: null, sessions: [] }, addition), now);
      const { state, fellBack } = fitToBudget(merged, otherInlineChars);
      policies.set(roleArn, state);
      return { kind: fellBack ? 'revoke-role' : 'revoke-session', decidedAt, policyName: REVOCATION_POLICY_NAME, policyDocument: renderRevocationPolicy(state), applied: false, fellBack };
    },
  };
}
