import {
  type Action,
  type Alert,
  admissionWrites,
  deliverAlert,
  nextStepFor,
  respondToFindings,
  type StoredAlert,
} from './alert/index.js';
import type { AssumeEvent } from './cloudtrail/types.js';
import type { Deps } from './deps.js';
import type { Finding } from './detect/index.js';
import { type Prefetched, REVOKING_KINDS } from './prefetch.js';
import type { RegistryIndex } from './registry/index.js';
import { revocationText } from './revocation-text.js';
import { isAssumedRoleId } from './revoke/policy.js';
import { protectedReason, type RevocationOutcome, type SessionToRevoke, sessionNameShared } from './revoke/respond.js';
import { callerKey } from './revoke/service.js';
import { intentIdFor } from './revoke/store.js';
import { type SessionView, sessionViewOf } from './sessions/index.js';

/** What answering an event whose session is revoked did (see `respondRevoked`). */
export interface RevokedResponse {
  recording: 'new' | 'unfinished';
  session: SessionView;
  findings: Finding[];
  actions: Action[];
}

/**
 * The common case of an event whose session is revoked, live, in fewer AWS calls: the event's one finding is a
 * critical one that revokes the session of a role that may be written. The session's conditional put rides in the
 * revocation's opening transaction (with the intent, the caller's marker and the role's lock), and the alert's
 * admission and the session marked processed ride in its closing one (with the intent's settlement, the kept state
 * and the lock's release); the alert is then delivered as usual. The guarantees are the usual path's: the session
 * is recorded, unprocessed, before IAM is written, so a crash makes the redelivery answer again, and the intent is
 * due for the sweep; the alert is admitted before the session is marked processed. Whatever the transactions could
 * not take is done step by step. `null`: not this case, or the session was recorded already (a redelivery); the
 * caller takes the usual path. `'duplicate'`: the session is recorded and was processed already.
 */
export async function respondRevoked(
  findings: Finding[],
  event: AssumeEvent,
  index: RegistryIndex,
  deps: Deps,
  now: Date,
  options: { dryRun?: boolean },
  pre: Prefetched,
): Promise<RevokedResponse | 'duplicate' | null> {
  const finding = findings.length === 1 ? findings[0]! : null;
  const role = finding ? index.roleFor(finding.roleArn) : null;
  if (
    !finding ||
    !role ||
    !deps.revoker ||
    options.dryRun ||
    deps.config.dryRun ||
    role.dryRun === true ||
    role.response !== 'revoke' ||
    finding.severity !== 'critical' ||
    !REVOKING_KINDS.has(finding.kind) ||
    !finding.assumedRoleId ||
    !isAssumedRoleId(finding.assumedRoleId) ||
    protectedReason(role.roleArn, index.registry, deps.config.ownRoleArns)
  )
    return null;
  const text = (outcome: RevocationOutcome): Pick<Alert, 'action' | 'nextStep' | 'policy'> => ({
    action: revocationText(outcome, outcome.applied ? null : 'replay'),
    nextStep: nextStepFor(finding),
    ...(outcome.policyDocument ? { policy: { name: outcome.policyName, document: outcome.policyDocument } } : {}),
  });
  const admission = { now, windowSeconds: deps.config.alertWindowSeconds, channels: deps.alerts.channels };
  let admitted: StoredAlert | null = null;
  const outcome = await deps.revoker.revokeSession({
    ...(await findingRevocation(event, finding, finding.assumedRoleId, role.roleArn, deps, now)),
    dryRun: false,
    ...(pre.kept ? { kept: pre.kept } : {}),
    riders: {
      opening: [deps.sessions.writes.record(event, { processed: false, now })],
      closing: (applied) => {
        const writes = admissionWrites(deps.config.alertsTable, finding, text(applied), admission);
        admitted = writes.alert;
        return [...writes.items, deps.sessions.writes.processed(event)];
      },
    },
  });
  if (outcome.riders === 'refused') return null;
  let recording: RevokedResponse['recording'] = 'new';
  // No rider was written, the fast path not being taken (the role is another account's, or the session has ended
  // already): the revocation went step by step without IAM being written. Record now.
  if (outcome.riders === undefined) {
    const recorded = await deps.sessions.record(event, { processed: false, now });
    // The other copy of a cross-account assume decided already (one decision per sharedEventID): no second alert.
    if (recorded === 'duplicate' || typeof recorded === 'object') return 'duplicate';
    recording = recorded;
  }
  let actions: Action[];
  let kept = findings;
  const closed: StoredAlert | null = outcome.riders === 'closed' ? admitted : null;
  if (closed) {
    const { delivered } = await deliverAlert(closed, deps.alerts, now);
    actions = [alertAction(finding, now, delivered)];
  } else {
    const answered = await respondToFindings([{ finding, role, ...text(outcome) }], deps.alerts, {
      ...admission,
      dryRun: false,
    });
    actions = answered.actions;
    kept = findings.filter((f) => !answered.duplicates.has(f));
    await deps.sessions.markProcessed(event);
  }
  if (kept.length)
    actions.push({
      kind: outcome.kind,
      roleArn: finding.roleArn,
      eventId: finding.eventId,
      at: new Date(outcome.decidedAt).toISOString(),
      policyName: outcome.policyName,
      policyDocument: outcome.policyDocument,
      applied: outcome.applied,
    });
  return { recording, session: sessionViewOf(event), findings: kept, actions };
}

const alertAction = (finding: Finding, now: Date, delivered: boolean): Action => ({
  kind: 'alert',
  roleArn: finding.roleArn,
  eventId: finding.eventId,
  at: now.toISOString(),
  policyName: null,
  policyDocument: null,
  applied: delivered,
});

/**
 * The session a critical finding revokes, as both paths ask for it: the event's own session, denied as narrowly as
 * its name allows (whether the vendor's other sessions share it: one query), one revocation per event however many
 * critical findings it raised (the first one decides it).
 */
export async function findingRevocation(
  event: AssumeEvent,
  finding: Finding,
  assumedRoleId: string,
  roleArn: string,
  deps: Pick<Deps, 'sessions' | 'logger'>,
  now: Date,
): Promise<Omit<SessionToRevoke, 'dryRun'>> {
  return {
    roleArn,
    assumedRoleId,
    issuedAt: event.issuedAt,
    expiresAt: event.expiresAt,
    durationSeconds: event.durationSeconds,
    nameShared: await nameSharedOnce(event, assumedRoleId, deps, now),
    now,
    intentId: intentIdFor(event.recipientAccountId, event.eventId, 'revoke-session'),
    source: { kind: 'finding', eventId: finding.eventId, findingKind: finding.kind },
    caller: callerKey(event),
  };
}

// The name check of an event's session, asked once per event: when the fast path's transaction is refused, the step
// by step path revokes the same session as of the same time, and the answer (one query) holds for both.
const nameChecks = new WeakMap<AssumeEvent, Map<string, Promise<boolean>>>();
function nameSharedOnce(
  event: AssumeEvent,
  assumedRoleId: string,
  deps: Pick<Deps, 'sessions' | 'logger'>,
  now: Date,
): Promise<boolean> {
  let byId = nameChecks.get(event);
  if (!byId) {
    byId = new Map();
    nameChecks.set(event, byId);
  }
  let answer = byId.get(assumedRoleId);
  if (!answer) {
    answer = sessionNameShared(deps.sessions, { ...event, assumedRoleId }, now, deps.logger);
    byId.set(assumedRoleId, answer);
  }
  return answer;
}
