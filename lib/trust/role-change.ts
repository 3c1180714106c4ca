import type { RoleChangeEvent } from '../cloudtrail/types.js';
import type { Deps } from '../deps.js';
import { type Finding, revocationTampered, roleRecreated } from '../detect/index.js';
import type { RegisteredRole, RegistryIndex } from '../registry/index.js';
import { REVOCATION_POLICY_NAME } from '../revoke/policy.js';
import { protectedReason } from '../revoke/respond.js';

/**
 * The findings of an IAM write on a registered role: roleguard's revocation policy put or deleted by someone else,
 * or the role deleted or created. A CreateRole's RoleId is recorded as the role's own from now on.
 */
export async function roleChangeFindings(e: RoleChangeEvent, index: RegistryIndex, deps: Deps): Promise<Finding[]> {
  const role = index.roleByName(e.recipientAccountId, e.roleName);
  if (!role) return [];
  if (e.eventName === 'PutRolePolicy' || e.eventName === 'DeleteRolePolicy') return revocationTampered(e, role, index);
  const earlier = await deps.roleIds.get(role.roleArn);
  if (e.eventName === 'CreateRole' && e.outcome === 'success' && e.roleId)
    await deps.roleIds.note(role.roleArn, e.roleId, e.eventTime, e.eventId);
  return roleRecreated(e, role, earlier && earlier.roleId !== e.roleId ? earlier : null);
}

/** What re-applying after a tamper did, in words for the alert; `failed` when IAM or the table failed. */
export interface ReapplyReport {
  text: string;
  policy?: { name: string; document: unknown };
  failed?: unknown;
}

/**
 * Put roleguard's revocation policy back on a role someone else changed, from the revocations roleguard keeps:
 * never on a protected role, nothing written in a dry run (global or the role's) or a replay without --apply.
 */
export async function reapplyAfterTamper(
  role: RegisteredRole,
  index: RegistryIndex,
  deps: Deps,
  now: Date,
  sendNothing: boolean,
): Promise<ReapplyReport> {
  const refused = protectedReason(role.roleArn, index.registry, deps.config.ownRoleArns);
  if (refused) return { text: `Not re-applied: ${refused}; roleguard never changes such a role. Alerted only.` };
  if (!deps.reapply || sendNothing)
    return {
      text: `Would re-apply roleguard's ${REVOCATION_POLICY_NAME} policy from the revocations it keeps (replay: nothing was written).`,
    };
  const dryRun = deps.config.dryRun || role.dryRun === true;
  try {
    const outcome = await deps.reapply(role.roleArn, now, { dryRun });
    const policy = outcome.policyDocument
      ? { policy: { name: REVOCATION_POLICY_NAME, document: outcome.policyDocument } }
      : {};
    const count = `${outcome.revocations} ${outcome.revocations === 1 ? 'revocation' : 'revocations'}`;
    const dropped = droppedText(outcome.dropped ?? [], dryRun);
    if (outcome.roleGone)
      return {
        text: `Not re-applied: the role no longer exists (it was deleted), so its sessions cannot be used and there is nothing to revoke; ${dryRun ? 'dry run: nothing was changed' : 'roleguard forgot the revocations it kept for it'}.`,
      };
    if (outcome.revocations === 0)
      return {
        text: `Nothing to re-apply: roleguard keeps no revocation of this role that still matters.${dropped}`,
      };
    if (dryRun)
      return {
        text: `Dry run (${deps.config.dryRun ? "roleguard's global dry run is on" : "this role's dryRun is set"}): would re-apply the revocations roleguard keeps (${count}) with the ${REVOCATION_POLICY_NAME} policy below; nothing was written to IAM.${dropped}`,
        ...policy,
      };
    return {
      text: outcome.written
        ? `Re-applied the revocations roleguard keeps (${count}) with the ${REVOCATION_POLICY_NAME} policy below (IAM applies it within seconds to minutes).${dropped}`
        : `The ${REVOCATION_POLICY_NAME} policy already holds the revocations roleguard keeps (${count}); nothing to write.`,
      ...policy,
    };
  } catch (error) {
    const message = `${(error as Error).name}: ${(error as Error).message}`;
    deps.logger.error('re-applying the revocation policy failed; the event is retried', {
      roleArn: role.roleArn,
      error: message,
    });
    return {
      text: `Re-applying roleguard's revocation policy failed (${message}); the event is retried. If it keeps failing, check the role's policies by hand and who holds IAM write access on it.`,
      failed: error,
    };
  }
}

// Statements someone else put in roleguard's policy: removed by the re-apply, and shown (cut short) in the alert.
function droppedText(dropped: unknown[], dryRun: boolean): string {
  if (!dropped.length) return '';
  const shown = JSON.stringify(dropped);
  const n = `${dropped.length} ${dropped.length === 1 ? 'statement' : 'statements'}`;
  return ` ${dryRun ? 'Would remove' : 'Removed'} ${n} that roleguard did not write from ${REVOCATION_POLICY_NAME}: ${shown.length > 600 ? `${shown.slice(0, 600)}…` : shown}`;
}
