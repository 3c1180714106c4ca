import type { RegisteredRole } from '../registry/types.js';
import { EMPTY_STATE, isAssumedRoleId, MAX_SESSION_SECONDS, mergeRevocations } from '../revoke/policy.js';
import { sessionRevocation } from '../revoke/respond.js';
import { type RevocationDeps, revoke } from '../revoke/service.js';
import { intentIdFor } from '../revoke/store.js';
import type { SessionStore } from '../sessions/index.js';
import type { Rotation } from './store.js';

/**
 * At a rotation's finish, revoke the sessions still alive that were issued with the old ID, in one intent on the
 * role's revocation policy (recorded first, retried by the sweep). The intent id is the rotation's, so a second
 * finish run does not revoke twice.
 */
export function revokeOldSessionsWith(revocation: RevocationDeps, sessions: SessionStore, dryRun: boolean) {
  return async (role: RegisteredRole, rotation: Rotation, now: Date): Promise<string> => {
    const from = new Date(now.getTime() - MAX_SESSION_SECONDS * 1000).toISOString();
    const alive = (await sessions.byRole(role.roleArn, { from, to: now.toISOString() })).filter(
      (s) =>
        s.outcome === 'success' &&
        s.externalId === rotation.previousId &&
        s.assumedRoleId !== null &&
        isAssumedRoleId(s.assumedRoleId) &&
        (s.expiresAt === null || s.expiresAt > now.toISOString()),
    );
    if (alive.length === 0) return 'no session issued with the old ID is still alive';
    const addition = mergeRevocations(
      EMPTY_STATE,
      ...alive.map((s) =>
        sessionRevocation({ assumedRoleId: s.assumedRoleId!, issuedAt: s.issuedAt, expiresAt: s.expiresAt, now }),
      ),
    );
    const outcome = await revoke(
      revocation,
      {
        intentId: intentIdFor('rotation', rotation.rotationId ?? rotation.roleArn),
        roleArn: role.roleArn,
        addition,
        source: {
          kind: 'manual',
          requestedBy: 'roleguard rotation',
          reason: `external-ID rotation ${rotation.rotationId} finished: sessions issued with the old ID`,
        },
        caller: null,
        dryRun: dryRun || role.dryRun === true,
      },
      now,
    );
    const n = `${alive.length} session${alive.length === 1 ? '' : 's'} issued with the old ID`;
    if (outcome.pendingError)
      return `${n}: revocation recorded, not applied yet (${outcome.pendingError}); the sweep retries it`;
    return outcome.applied ? `${n} revoked` : `${n}: ${outcome.expiredAt ? 'already expired' : 'dry run, not written'}`;
  };
}
