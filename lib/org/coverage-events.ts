import type { AssumeEvent, RoleChangeEvent, TrustPolicyChangeEvent } from '../cloudtrail/types.js';
import type { Deps } from '../deps.js';
import { canaryIdOf, isSpokeRoleName } from './coverage-finding.js';
import { createCoverageStore } from './coverage-store.js';
import { spokeTamperStep } from './spoke-tamper.js';

/** A warm function notes the last event of an account × Region at most this often. */
export const NOTE_EVENT_EVERY_MS = 60_000;
/** Cells a warm function remembers noting; past this the memory starts again (one more write per cell). */
const MAX_REMEMBERED = 20_000;
const noted = new Map<string, number>();

type CoverageEvent = AssumeEvent | TrustPolicyChangeEvent | RoleChangeEvent;

const eventNameOf = (event: CoverageEvent) =>
  event.kind === 'trust-policy-change' ? 'UpdateAssumeRolePolicy' : event.eventName;
const eventTimeOf = (event: CoverageEvent) => (event.kind === 'assume' ? event.issuedAt : event.eventTime);

/**
 * The coverage step of the pipeline, before detection: notes that an event of the account and Region reached the
 * hub (at most one conditional write per cell and minute per warm function; a failure is logged, never the event's),
 * alerts an IAM write on roleguard's own spoke roles outside their StackSet, and recognises roleguard's own canary.
 * Returns the reason when the event is the canary: it is no finding.
 * - The owner's copy (the spoke role's own account) marks the canary arrived and closes a canary gap.
 * - The caller's copy (the hub account, when it is another) only proves the hub account's own path: it is roleguard's
 *   own too, and marks nothing.
 * A session name of the canary's shape counts only when its id is one the canary sent to that account and Region.
 * In a dry run (replay) nothing is written and the shape alone decides.
 */
export async function coverageStep(
  event: CoverageEvent,
  deps: Deps,
  options: { dryRun?: boolean } = {},
): Promise<string | null> {
  const region = event.awsRegion;
  const store = createCoverageStore(deps.clients.dynamo, deps.config.registryTable);
  if (region && !options.dryRun) {
    const cell = `${deps.config.registryTable}|${event.recipientAccountId}|${region}`;
    const last = noted.get(cell) ?? Number.NEGATIVE_INFINITY;
    const now = deps.now().getTime();
    if (now - last >= NOTE_EVENT_EVERY_MS) {
      if (noted.size >= MAX_REMEMBERED) noted.clear();
      noted.set(cell, now);
      try {
        await store.noteEvent(event.recipientAccountId, region, eventTimeOf(event), eventNameOf(event));
      } catch (error) {
        noted.delete(cell);
        deps.logger.warn('could not note the last event seen (coverage); the event goes on', {
          account: event.recipientAccountId,
          region,
          error: error as Error,
        });
      }
    }
  }
  // An IAM write on roleguard's own spoke or forwarder role by anyone but its StackSet (lib/org/spoke-tamper.ts).
  if (event.kind !== 'assume') await spokeTamperStep(event, deps, options);
  if (event.kind !== 'assume' || event.outcome !== 'success' || !region) return null;
  const id = canaryIdOf(event.roleSessionName);
  const roleName = event.roleArn.split('/').at(-1) ?? '';
  if (!id || !isSpokeRoleName(roleName)) return null;
  const reason = `roleguard's own coverage canary (account ${event.roleAccountId}, Region ${region})`;
  if (options.dryRun) return reason;
  if (event.recipientAccountId !== event.roleAccountId) {
    const cell = await store.get(event.roleAccountId, region);
    return cell?.canaryIds.includes(id) ? reason : null;
  }
  const back = await store.canaryBack(event.roleAccountId, region, id, event.issuedAt);
  if (!back.matched) return null;
  if (back.closed)
    deps.logger.info('coverage gap closed: the canary came back', {
      account: event.roleAccountId,
      region,
      canaryId: id,
      openedAt: back.closed.openedAt,
    });
  return reason;
}

/** Forget what this process noted (tests). */
export function forgetNotedEvents(): void {
  noted.clear();
}
