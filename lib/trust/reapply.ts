import { RoleNoLongerExists } from '../revoke/apply.js';
import type { PolicyDocument } from '../revoke/policy.js';
import { type RevocationDeps, reapplyRevocationPolicy } from '../revoke/service.js';

/** What re-applying a role's revocation policy did (or would do, in a dry run). */
export interface ReapplyOutcome {
  /** The role's revocation policy after it; null when roleguard keeps nothing that still matters for the role. */
  policyDocument: PolicyDocument | null;
  /** IAM was written (false in a dry run, or when IAM already held every kept revocation). */
  written: boolean;
  /** How many revocations (sessions, and the whole role) the policy holds after it. */
  revocations: number;
  /** Statements someone else put in roleguard's policy, removed by the re-apply (a dry run removes nothing). */
  dropped?: unknown[];
  /** The role no longer exists (deleted): nothing was written, and roleguard forgot what it kept for it. */
  roleGone?: boolean;
}

/** Re-applies the revocation policy roleguard keeps for a role (after someone else rewrote or deleted it). */
export type Reapplier = (roleArn: string, now: Date, options: { dryRun: boolean }) => Promise<ReapplyOutcome>;

/** The deployed re-applier: IAM and the revocations table, under the role's lock. */
export function liveReapplier(deps: RevocationDeps): Reapplier {
  return async (roleArn, now, { dryRun }) => {
    // The state roleguard keeps in `policy#<roleArn>` is the source of truth; IAM's read may be stale right after
    // the tamperer's write, so the kept state is written back whatever IAM shows.
    let applied: Awaited<ReturnType<typeof reapplyRevocationPolicy>>;
    try {
      applied = await reapplyRevocationPolicy(deps, roleArn, now, { dryRun });
    } catch (error) {
      if (error instanceof RoleNoLongerExists)
        return { policyDocument: null, written: false, revocations: 0, roleGone: true };
      throw error;
    }
    if (!applied) return { policyDocument: null, written: false, revocations: 0, dropped: [] };
    const revocations = applied.state.sessions.length + (applied.state.role ? 1 : 0);
    return { policyDocument: applied.policyDocument, written: applied.written, revocations, dropped: applied.dropped };
  };
}
