import type { StoredAlert } from '../alert/outbox.js';
import type { RegisteredRole, RegistryIndex } from '../registry/index.js';
import { type ManualOutcome, RevocationRefused } from '../revoke/manual.js';
import type { RevocationOutcome } from '../revoke/respond.js';
import { callerKey } from '../revoke/service.js';
import { intentIdFor } from '../revoke/store.js';
import { RotationRefused, type RotationResult } from '../rotate/machine.js';
import type { ActionDeps } from './act.js';
import type { Decision, SlackActionRequest } from './types.js';

type Result = Pick<Decision, 'status' | 'outcome' | 'policy' | 'dryRun'>;

/**
 * Do what the click asked, through roleguard's own entry points: manual revocation (intents, per-role lock, the
 * policy code), the rotation state machine, the outbox. The global dry run and the role's own are respected. A
 * refusal from those (nothing to revoke, a rotation in flight) is an outcome; an AWS failure is thrown.
 */
export async function carryOut(
  request: SlackActionRequest,
  alert: StoredAlert,
  role: RegisteredRole,
  index: RegistryIndex,
  deps: Pick<ActionDeps, 'revoke' | 'revokeSession' | 'sessions' | 'rotate' | 'outbox' | 'config' | 'now'>,
): Promise<Result> {
  const dryRun = deps.config.dryRun || role.dryRun === true;
  const by = `slack:${request.userId}`;
  try {
    switch (request.action) {
      case 'acknowledge': {
        await deps.outbox.acknowledge(alert.alertId, by, deps.now());
        return { status: 'done', outcome: 'Acknowledged: no more repeat summaries for this finding.' };
      }
      case 'revoke-session': {
        const precise = await revokeRecordedSession(alert, role, dryRun, deps);
        if (precise) return precise;
        // The session is not in the session store any more (or never was): revoke its assumed-role id by hand.
        return revokeByHand(request, alert, role, dryRun, by, deps);
      }
      case 'revoke-role':
        return revokeByHand(request, alert, role, dryRun, by, deps);
      case 'start-rotation': {
        const result = await deps.rotate(role, index.registry, by, deps.now());
        return rotationResult(result, dryRun);
      }
    }
  } catch (error) {
    if (error instanceof RevocationRefused || error instanceof RotationRefused)
      return { status: 'refused', outcome: `not done: ${error.message}`, dryRun };
    throw error;
  }
}

type Deps = Pick<ActionDeps, 'revoke' | 'revokeSession' | 'sessions' | 'now'>;

/**
 * The session of the finding's event, as the session store recorded it, revoked as automatic revocation revokes a
 * session (the same revoker, its window bounded by that session). Null when the store does not have it.
 */
async function revokeRecordedSession(
  alert: StoredAlert,
  role: RegisteredRole,
  dryRun: boolean,
  deps: Deps,
): Promise<Result | null> {
  const f = alert.finding;
  const at = { from: f.context.at, to: f.context.at };
  const session = (await deps.sessions.byRole(role.roleArn, at)).find(
    (s) => s.eventId === f.eventId && s.assumedRoleId === f.assumedRoleId && s.outcome === 'success',
  );
  if (!session) return null;
  const outcome = await deps.revokeSession({
    roleArn: role.roleArn,
    assumedRoleId: session.assumedRoleId!,
    issuedAt: session.issuedAt,
    expiresAt: session.expiresAt,
    now: deps.now(),
    // One intent per finding: a retry or a second click writes nothing more.
    intentId: intentIdFor('slack', alert.alertId, 'revoke-session'),
    source: { kind: 'finding', eventId: f.eventId, findingKind: f.kind },
    caller: callerKey(session),
    dryRun,
  });
  if (outcome.expiredAt)
    return { status: 'refused', outcome: `nothing to revoke: the session expired by ${outcome.expiredAt}.`, dryRun };
  return revocationResult({ ...outcome, revoked: session.assumedRoleId }, dryRun);
}

/** A revocation through the manual path: a whole role, or an assumed-role id the session store does not know. */
async function revokeByHand(
  request: SlackActionRequest,
  alert: StoredAlert,
  role: RegisteredRole,
  dryRun: boolean,
  by: string,
  deps: Deps,
): Promise<Result> {
  const outcome = await deps.revoke({
    roleArn: role.roleArn,
    target: request.action === 'revoke-role' ? { all: true } : { assumedRoleId: alert.finding.assumedRoleId! },
    dryRun,
    requestedBy: by,
    reason: `from Slack, on the ${alert.finding.kind} finding of event ${alert.finding.eventId}`,
    // The same finding and action make the same intent: a retry or a second click writes nothing more.
    requestId: `slack#${alert.alertId}#${request.action}`,
  });
  return revocationResult(outcome, dryRun);
}

function revocationResult(outcome: RevocationOutcome & Pick<ManualOutcome, 'revoked'>, dryRun: boolean): Result {
  const what = outcome.revoked
    ? `session ${outcome.revoked} (its tokens issued before ${outcome.decidedAt})`
    : `every session of the role issued before ${outcome.decidedAt}`;
  const policy = outcome.policyDocument ? { name: outcome.policyName, document: outcome.policyDocument } : null;
  let text: string;
  if (dryRun) text = `Dry run: would revoke ${what} with the ${outcome.policyName} policy; nothing was written to IAM.`;
  else if (outcome.pendingError)
    text = `Revocation of ${what} is recorded but not applied yet: IAM failed (${outcome.pendingError}). The sweep retries it.`;
  else text = `Revoked ${what} with the ${outcome.policyName} policy (IAM applies it within seconds to minutes).`;
  if (outcome.fellBack) text += ' Targeted revocations no longer fit the policy budget: the whole role was revoked.';
  return { status: 'done', outcome: text, policy, dryRun };
}

function rotationResult(result: RotationResult, dryRun: boolean): Result {
  if (dryRun) return { status: 'done', outcome: 'Dry run: a rotation would start; nothing was written.', dryRun };
  const steps = result.done.length ? result.done.join(', ') : 'nothing yet';
  const waiting = result.waiting ? ` Waiting: ${result.waiting}.` : '';
  return { status: 'done', outcome: `Rotation started (phase ${result.phase}; steps: ${steps}).${waiting}`, dryRun };
}
