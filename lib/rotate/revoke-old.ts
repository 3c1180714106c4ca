import type { RegisteredRole } from '../registry/types.js';
import {
  EMPTY_STATE,
  isAssumedRoleId,
  MAX_SESSION_SECONDS,
  mergeRevocations,
  pruneTime,
  type RevocationState,
  type SessionRevocation,
} from '../revoke/policy.js';
import { type RevocationDeps, revoke } from '../revoke/service.js';
import { intentIdFor } from '../revoke/store.js';
import { issueWindow } from '../revoke/window.js';
import type { SessionStore, SessionView } from '../sessions/index.js';
import type { Rotation } from './store.js';

/**
 * The deny of old-ID sessions that spares every other session of the role, the vendor's new-ID ones above all: per
 * session name, a window around each old-ID session's issue time, windows merged while no spared session of the
 * name falls between them, and no lower bound before the first when no spared session of the name came earlier.
 * Its end is the last old-ID session's issue time plus the margin, never the finish time: a vendor that reuses one
 * name keeps its new-ID sessions, including those CloudTrail has not delivered yet.
 */
export function oldSessionRevocation(revoked: SessionView[], spared: SessionView[]): RevocationState {
  const byId = new Map<string, SessionView[]>();
  for (const s of revoked) byId.set(s.assumedRoleId!, [...(byId.get(s.assumedRoleId!) ?? []), s]);
  const sessions: SessionRevocation[] = [];
  for (const [assumedRoleId, olds] of byId) {
    const others = spared.filter((s) => s.assumedRoleId === assumedRoleId).map((s) => Date.parse(s.issuedAt));
    const windows = olds
      .map((s) => ({ window: issueWindow(s)!, pruneAfter: pruneTime(s.issuedAt, s.expiresAt) }))
      .sort((a, b) => Date.parse(a.window.from) - Date.parse(b.window.from));
    const merged: typeof windows = [];
    for (const w of windows) {
      const last = merged.at(-1);
      const between = (t: number) => last && t >= Date.parse(last.window.from) && t < Date.parse(w.window.until);
      if (last && !others.some(between))
        merged[merged.length - 1] = {
          window: { from: last.window.from, until: [last.window.until, w.window.until].sort().at(-1)! },
          pruneAfter: [last.pruneAfter, w.pruneAfter].sort().at(-1)!,
        };
      else merged.push(w);
    }
    for (const [i, { window, pruneAfter }] of merged.entries()) {
      const open = i === 0 && !others.some((t) => t < Date.parse(window.until));
      sessions.push(
        open
          ? { assumedRoleId, decidedAt: window.until, pruneAfter }
          : { assumedRoleId, decidedAt: window.until, pruneAfter, issuedWindow: window },
      );
    }
  }
  return mergeRevocations(EMPTY_STATE, { role: null, sessions });
}

/**
 * At a rotation's finish, revoke the sessions still alive that were issued with the old ID, in one intent on the
 * role's revocation policy (recorded first, retried by the sweep). The intent id is the rotation's, so a second
 * finish run does not revoke twice.
 */
export function revokeOldSessionsWith(revocation: RevocationDeps, sessions: SessionStore, dryRun: boolean) {
  return async (role: RegisteredRole, rotation: Rotation, now: Date): Promise<string> => {
    const from = new Date(now.getTime() - MAX_SESSION_SECONDS * 1000).toISOString();
    const recorded = (await sessions.byRole(role.roleArn, { from, to: now.toISOString() })).filter(
      (s) => s.outcome === 'success' && s.assumedRoleId !== null && isAssumedRoleId(s.assumedRoleId),
    );
    const alive = recorded.filter(
      (s) =>
        s.externalId === rotation.previousId &&
        !Number.isNaN(Date.parse(s.issuedAt)) &&
        (s.expiresAt === null || s.expiresAt > now.toISOString()),
    );
    if (alive.length === 0) return 'no session issued with the old ID is still alive';
    const addition = oldSessionRevocation(
      alive,
      recorded.filter((s) => s.externalId !== rotation.previousId),
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
    if (outcome.refused) return `${n}: NOT revoked: ${outcome.refused}`;
    if (outcome.pendingError)
      return `${n}: revocation recorded, not applied yet (${outcome.pendingError}); the sweep retries it`;
    return outcome.applied ? `${n} revoked` : `${n}: ${outcome.expiredAt ? 'already expired' : 'dry run, not written'}`;
  };
}
