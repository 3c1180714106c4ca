import type { AssumeEvent } from '../cloudtrail/types.js';
import type { RegisteredRole } from '../registry/types.js';
import { IN_FLIGHT, type OldIdCaller, type Rotation } from './store.js';

/**
 * How long the old ID must have gone unused, after the confirmation, before a rotation finishes by itself: one assume
 * with the new ID does not show that every worker of the vendor switched. A role's `rotation.quietHours` overrides it.
 */
export const DEFAULT_QUIET_HOURS = 24;

/**
 * How long after the IAM write that removed an ID it counts as retired. IAM is eventually consistent: for a short
 * while after `UpdateAssumeRolePolicy` STS may still accept the removed ID, and such an assume is not the vendor (or
 * anyone) using a retired ID. Changes usually propagate within seconds; five minutes leaves a wide margin.
 */
export const RETIRE_GRACE_MS = 5 * 60_000;

/**
 * How late CloudTrail may deliver an assume, added to the quiet period: a rotation becomes finishable only once a
 * whole quiet period, ending this long before, has been seen without old-ID use. CloudTrail delivers most events
 * within about 15 minutes (not guaranteed); one hour leaves a wide margin, so that an old-ID assume delivered late is
 * seen before the finish.
 */
export const DELIVERY_MARGIN_MS = 60 * 60_000;

const HOUR_MS = 3_600_000;

/** The role's quiet period in hours (its `rotation.quietHours`, else the default). */
export function quietHoursOf(role: RegisteredRole): number {
  return role.rotation?.quietHours ?? DEFAULT_QUIET_HOURS;
}

/**
 * When a confirmed rotation may finish without --force: the quiet period after both the confirmation and the last
 * assume with the old ID, plus {@link DELIVERY_MARGIN_MS} for CloudTrail's delivery delay. Null while it is not
 * confirmed.
 */
export function finishableAt(rotation: Rotation, role: RegisteredRole): string | null {
  if (rotation.phase !== 'confirmed') return null;
  const from = [rotation.confirmedAt ?? rotation.setAt ?? rotation.startedAt, rotation.oldIdUse?.lastAt ?? null]
    .filter((t): t is string => t !== null)
    .map(Date.parse);
  return new Date(Math.max(0, ...from) + quietHoursOf(role) * HOUR_MS + DELIVERY_MARGIN_MS).toISOString();
}

/** The callers seen with the old ID at or after `since` (all of them when null), most recent first. */
export function oldIdCallersSince(rotation: Rotation, since: string | null): OldIdCaller[] {
  return (rotation.oldIdUse?.callers ?? []).filter((c) => since === null || c.lastAt >= since);
}

/** The callers, one per line part, for alerts and the CLI: who, from where, when last. */
export function describeOldIdCallers(callers: OldIdCaller[]): string {
  return callers.map((c) => `${c.caller} from ${c.sourceIp ?? 'an unknown address'} (last ${c.lastAt})`).join('; ');
}

/**
 * The old-ID use an assume shows, to be noted on the rotation: a successful assume with the rotation's previous ID by
 * a trusted account while it is in flight, whatever the registry names current (it may have been re-imported with
 * the new ID mid-rotation). Null otherwise.
 */
export function oldIdUseOf(
  event: AssumeEvent,
  role: RegisteredRole,
  rotation: Rotation,
): { caller: string; sourceIp: string | null; at: string } | null {
  if (
    event.outcome !== 'success' ||
    !IN_FLIGHT.includes(rotation.phase) ||
    rotation.previousId === null ||
    event.externalId !== rotation.previousId ||
    event.callerAccountId === null ||
    !role.trustedAccounts.includes(event.callerAccountId)
  )
    return null;
  return {
    caller: event.callerArn ?? `${event.callerAccountId}/${event.callerPrincipalId ?? 'unknown principal'}`,
    sourceIp: event.sourceIpAddress,
    at: new Date(event.issuedAt).toISOString(),
  };
}
