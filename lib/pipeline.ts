import { type Action, respondToFindings } from './alert/index.js';
import { addCallerToDecidedFindings, catchUpCallerArn } from './alert/other-copy.js';
import { classifyRecord } from './cloudtrail/classify.js';
import { jsonBytesWithin } from './cloudtrail/json-size.js';
import type { AssumeEvent, RoleChangeEvent, TrustPolicyChangeEvent } from './cloudtrail/types.js';
import type { Deps } from './deps.js';
import { detectAssume, detectTrustChange, type Finding, roleIdChanged } from './detect/index.js';
import { assumedAfterRevocation, isVendorAssume } from './detect/rules.js';
import { coverageStep } from './org/coverage-events.js';
import { type Prefetched, prefetch, REVOKING_KINDS } from './prefetch.js';
import type { RegistryIndex } from './registry/index.js';
import { roleIdOf } from './registry/role-ids.js';
import { findingRevocation, respondRevoked } from './respond-revoked.js';
import { revocationText } from './revocation-text.js';
import { isAssumedRoleId } from './revoke/policy.js';
import { protectedReason, type RevocationOutcome } from './revoke/respond.js';
import { callerKey } from './revoke/service.js';
import { oldIdUseOf } from './rotate/quiet.js';
import { IN_FLIGHT } from './rotate/store.js';
import { isOwnTrustWrite } from './rotate/writes.js';
import { type OtherCopy, type RecordOutcome, type SessionView, sessionViewOf } from './sessions/index.js';
import { reapplyAfterTamper, roleChangeFindings } from './trust/role-change.js';

/** Largest record processed; CloudTrail events are far smaller, so anything bigger is not a real event. */
export const MAX_RECORD_BYTES = 1024 * 1024;

/** What happened to one record. */
export type ProcessOutcome =
  | {
      status: 'recorded';
      event: AssumeEvent;
      session: SessionView;
      recording: Exclude<RecordOutcome, 'duplicate' | OtherCopy>;
      findings: Finding[];
      actions: Action[];
    }
  // `otherCopy`: the other account's copy of a cross-account assume, decided on the copy recorded first.
  | { status: 'duplicate'; event: AssumeEvent; otherCopy?: true }
  // Every IAM write on a role (trust policy, inline revocation policy, deletion, creation) reports as this status.
  | {
      status: 'trust-policy-change';
      event: TrustPolicyChangeEvent | RoleChangeEvent;
      findings: Finding[];
      actions: Action[];
    }
  | { status: 'ignored'; eventName: string; reason: string }
  | { status: 'rejected'; reason: string };

/** Options of one run through the pipeline. */
export interface ProcessOptions {
  envelopeId?: string | null;
  /** Decide as of this time; replay passes the event's own time. Defaults to `deps.now()`. */
  now?: (event: AssumeEvent | TrustPolicyChangeEvent | RoleChangeEvent) => Date;
  /** Send and write nothing (replay without --apply): alerts are recorded, revocations emulated. */
  dryRun?: boolean;
}

/**
 * parse → record → detect → respond. Bad input becomes a rejected outcome; AWS failures throw, so that Lambda
 * retries the event and finally dead-letters it. A session is marked processed only after its response, so a
 * crash in between makes the redelivery respond again (the outbox keeps that from alerting twice).
 */
export async function processRecord(
  record: unknown,
  deps: Deps,
  options: ProcessOptions = {},
): Promise<ProcessOutcome> {
  const classified = classifyRecord(
    record,
    { recordAwsServiceAssumes: deps.config.recordAwsServiceAssumes },
    options.envelopeId ?? null,
  );
  if (classified.kind === 'rejected') return { status: 'rejected', reason: classified.reason };
  if (classified.kind === 'ignored')
    return { status: 'ignored', eventName: classified.eventName, reason: classified.reason };
  const bytes = jsonBytesWithin(record, MAX_RECORD_BYTES);
  if (bytes === null)
    return { status: 'rejected', reason: 'record cannot be serialised (nested too deeply or cyclic)' };
  if (bytes > MAX_RECORD_BYTES)
    return { status: 'rejected', reason: `record is ${bytes} bytes, over the ${MAX_RECORD_BYTES}-byte record limit` };
  // Coverage (lib/org/coverage-events.ts): the last event seen per account and Region; roleguard's own canary.
  const canary = await coverageStep(classified, deps, options);
  if (canary) return { status: 'ignored', eventName: 'AssumeRole', reason: canary };
  const now = options.now?.(classified) ?? deps.now();
  const index = await deps.registry();

  if (classified.kind === 'trust-policy-change') {
    const findings = await withoutOwnTrustWrites(classified, index, deps, detectTrustChange(classified, index));
    const { kept, actions } = await respond(findings, null, index, deps, now, options);
    return { status: 'trust-policy-change', event: classified, findings: kept, actions };
  }
  if (classified.kind === 'role-change') {
    const findings = await roleChangeFindings(classified, index, deps);
    const { kept, actions } = await respond(findings, null, index, deps, now, options);
    return { status: 'trust-policy-change', event: classified, findings: kept, actions };
  }
  const detected = detectAssume(classified, index);
  // The reads the event needs (rotation, revoked caller, kept revocations), batched when there are several.
  const pre = await prefetch(classified, index.roleFor(classified.roleArn), detected, deps);
  const findings = await rotationAware(
    classified,
    index,
    deps,
    [...detected, ...(await cameBack(classified, index, deps, pre)), ...(await recreated(classified, index, deps))],
    pre,
  );
  // An event whose session is revoked: fewer calls, the session and the alert riding in the revocation's writes.
  const revoked = await respondRevoked(findings, classified, index, deps, now, options, pre);
  if (revoked === 'duplicate') return { status: 'duplicate', event: classified };
  if (revoked) {
    await catchUpCallerArn(classified, revoked.findings, deps, options.dryRun ?? false);
    return { status: 'recorded', event: classified, ...revoked };
  }
  const recording = await deps.sessions.record(classified, { processed: findings.length === 0, now });
  if (recording === 'duplicate') return { status: 'duplicate', event: classified };
  // One decision per sharedEventID: the copy recorded first decides; this one only added what it knows.
  if (typeof recording === 'object') {
    await addCallerToDecidedFindings(classified, recording.decidedBy, findings, deps, options.dryRun ?? false);
    return { status: 'duplicate', event: classified, otherCopy: true };
  }
  const { kept, actions } = await respond(findings, classified, index, deps, now, options);
  await catchUpCallerArn(classified, kept, deps, options.dryRun ?? false);
  if (findings.length > 0 || recording === 'unfinished') await deps.sessions.markProcessed(classified);
  return {
    status: 'recorded',
    event: classified,
    session: sessionViewOf(classified),
    recording,
    findings: kept,
    actions,
  };
}

/**
 * The caller of a successful assume of a registered role came back after roleguard revoked one of its sessions on
 * that role: revocation does not stop a new assume, so say so. One read of the revocations table, and none when the
 * answer is known without it: the vendor's own assume (a trusted account with the current or pending ID) is never
 * this finding (see `assumedAfterRevocation`), whatever marker another instance wrote.
 */
async function cameBack(event: AssumeEvent, index: RegistryIndex, deps: Deps, pre: Prefetched): Promise<Finding[]> {
  const role = index.roleFor(event.roleArn);
  const caller = callerKey(event);
  if (!role || !deps.revocations || event.outcome !== 'success' || !caller) return [];
  if (isVendorAssume(event, role)) return [];
  const revoked =
    'revoked' in pre
      ? pre.revoked
      : await deps.revocations.revokedCaller(role.roleArn, caller, new Date(event.issuedAt));
  return revoked ? assumedAfterRevocation(event, role, revoked.decidedAt) : [];
}

/**
 * The RoleId in a successful assume of a registered role is recorded; a different one than on record means the role
 * was deleted and created again. One conditional write per role and process, none for a benign assume after that.
 */
async function recreated(event: AssumeEvent, index: RegistryIndex, deps: Deps): Promise<Finding[]> {
  const role = index.roleFor(event.roleArn);
  const roleId = roleIdOf(event.assumedRoleId);
  if (!role || event.outcome !== 'success' || !roleId) return [];
  const earlier = await deps.roleIds.note(role.roleArn, roleId, event.issuedAt, event.eventId);
  return earlier ? roleIdChanged(event, role, roleId, earlier) : [];
}

/**
 * An assume with an ID other than the current one, or any while the registry shows a pending ID, is checked against
 * the role's rotation, read afresh (only then, so a benign assume outside a rotation costs nothing more):
 * - the previous ID of a rotation in flight, used by a trusted account, is noted on it by caller and address (its
 *   finish waits until that ID has gone unused for a while) and is no finding, whatever the registry names current:
 *   it may have been re-imported with the new ID mid-rotation while workers still use the old one;
 * - the pending ID of a rotation in flight is expected even when the cached registry does not show it yet, and a
 *   successful assume with it by a trusted account confirms the rotation (its `confirm` step);
 * - an ID roleguard retired or dropped is a finding only for sessions issued after that: an assume made just before
 *   a finish or a rollback, delivered late by CloudTrail, was accepted when it was made.
 */
async function rotationAware(
  event: AssumeEvent,
  index: RegistryIndex,
  deps: Deps,
  findings: Finding[],
  pre: Prefetched,
): Promise<Finding[]> {
  const role = index.roleFor(event.roleArn);
  const id = event.externalId;
  if (!role || event.outcome !== 'success' || id === null) return findings;
  if (id === role.externalIds.current && role.externalIds.pending === null) return findings;
  const rotation = 'rotation' in pre ? pre.rotation : await deps.rotations.get(role.roleArn);
  if (!rotation) return findings;
  const use = oldIdUseOf(event, role, rotation);
  if (use) {
    await deps.rotations.noteOldIdUse(role.roleArn, id, use);
    return findings.filter((f) => f.kind !== 'retired-external-id' && f.kind !== 'unexpected-external-id');
  }
  const retiredAt = rotation.retiredAt?.[id];
  if (retiredAt && Date.parse(event.issuedAt) < Date.parse(retiredAt)) {
    deps.logger.info('assume with an ID retired since it was issued: accepted at the time', {
      roleArn: role.roleArn,
      eventId: event.eventId,
      retiredAt,
    });
    return findings.filter((f) => f.kind !== 'retired-external-id' && f.kind !== 'unexpected-external-id');
  }
  if (!IN_FLIGHT.includes(rotation.phase) || rotation.pendingId !== id) return findings;
  // The vendor with the pending ID the cached registry did not show yet: not back after a revocation either.
  const vendor = isVendorAssume(event, role, id);
  if (event.callerAccountId !== null && role.trustedAccounts.includes(event.callerAccountId)) {
    const confirmed = await deps.rotations.confirm(role.roleArn, id, {
      eventId: event.eventId,
      callerAccountId: event.callerAccountId,
      at: new Date(event.issuedAt).toISOString(),
    });
    if (confirmed)
      deps.logger.info('external-ID rotation confirmed by an assume with the new ID', {
        roleArn: role.roleArn,
        eventId: event.eventId,
      });
  }
  return findings.filter(
    (f) => f.kind !== 'unexpected-external-id' && !(vendor && f.kind === 'assumed-after-revocation'),
  );
}

/**
 * roleguard's own rotation writes (recorded before IAM was called) are not changes "outside roleguard", whoever ran
 * them: the deployed function, or a person with `roleguard rotate`. One read, only for a finding on a registered role.
 */
async function withoutOwnTrustWrites(
  event: TrustPolicyChangeEvent,
  index: RegistryIndex,
  deps: Deps,
  findings: Finding[],
): Promise<Finding[]> {
  if (findings.length === 0 || event.outcome !== 'success') return findings;
  const role = index.roleByName(event.recipientAccountId, event.roleName)!;
  const own = isOwnTrustWrite(await deps.rotations.get(role.roleArn), event.policyDocument, event.eventTime);
  if (!own) return findings;
  deps.logger.info("roleguard's own trust-policy write (rotation step) seen in CloudTrail", {
    roleArn: role.roleArn,
    step: own.step,
    eventId: event.eventId,
  });
  return [];
}

async function respond(
  findings: Finding[],
  event: AssumeEvent | null,
  index: RegistryIndex,
  deps: Deps,
  now: Date,
  options: ProcessOptions,
): Promise<{ kept: Finding[]; actions: Action[] }> {
  if (findings.length === 0) return { kept: [], actions: [] };
  // Replay without --apply sends nothing; DRY_RUN and a role's dryRun only keep revocations from being written.
  const sendNothing = options.dryRun ?? false;
  // Revoke first, so that the alert can say what was done.
  const revocations = new Map<Finding, RevocationOutcome>();
  const withRoles: Parameters<typeof respondToFindings>[0] = [];
  let reapplyFailed: unknown = null;
  for (const finding of findings) {
    const role = index.roleFor(finding.roleArn)!;
    const entry: (typeof withRoles)[number] = { finding, role };
    if (finding.kind === 'revocation-tampered' && finding.severity === 'critical') {
      const reapplied = await reapplyAfterTamper(role, index, deps, now, sendNothing);
      entry.action = reapplied.text;
      if (reapplied.policy) entry.policy = reapplied.policy;
      reapplyFailed ??= reapplied.failed ?? null;
    }
    if (
      deps.revoker &&
      event &&
      finding.severity === 'critical' &&
      REVOKING_KINDS.has(finding.kind) &&
      role.response === 'revoke'
    ) {
      const refused = protectedReason(role.roleArn, index.registry, deps.config.ownRoleArns);
      if (!finding.assumedRoleId || !isAssumedRoleId(finding.assumedRoleId)) {
        // STS always returns one for a session it issued; without it no targeted deny can be written, and the whole
        // role is not revoked on the word of a malformed event. Said in the alert, never dropped silently.
        const key = event.accessKeyId ? `--access-key ${event.accessKeyId}` : '--all';
        entry.action = `Not revoked: the event carries no valid assumed-role id, so no targeted deny can be written. Check the session in CloudTrail and revoke it by hand (roleguard revoke --role ${role.roleArn} ${key}).`;
        deps.logger.warn('revocation not possible: no valid assumed-role id in the event', {
          roleArn: role.roleArn,
          eventId: finding.eventId,
        });
      } else if (refused) {
        entry.action = `Not revoked: ${refused}; roleguard never changes such a role. Alerted only. Revocation would not stop a new assume anyway: rotate or remove the external ID to contain it.`;
        deps.logger.warn('revocation refused: protected role', {
          roleArn: role.roleArn,
          eventId: finding.eventId,
          reason: refused,
        });
      } else {
        const dryRun = deps.config.dryRun || role.dryRun === true;
        const outcome = await deps.revoker.revokeSession({
          ...(await findingRevocation(event, finding, finding.assumedRoleId, role.roleArn, deps, now)),
          dryRun,
        });
        revocations.set(finding, outcome);
        entry.action = revocationText(
          outcome,
          dryRun ? (deps.config.dryRun ? 'global' : 'role') : sendNothing || !outcome.applied ? 'replay' : null,
        );
        if (outcome.policyDocument) entry.policy = { name: outcome.policyName, document: outcome.policyDocument };
      }
    }
    withRoles.push(entry);
  }
  const { actions, duplicates } = await respondToFindings(withRoles, deps.alerts, {
    now,
    windowSeconds: deps.config.alertWindowSeconds,
    channels: deps.alerts.channels,
    dryRun: sendNothing,
  });
  // Alerted first, then retried: the redelivery re-applies, and the outbox keeps it from alerting twice.
  if (reapplyFailed) throw reapplyFailed;
  // A finding the outbox has already admitted came from a redelivered event: it is not a new finding.
  const kept = findings.filter((f) => !duplicates.has(f));
  for (const finding of kept) {
    const outcome = revocations.get(finding);
    if (outcome)
      actions.push({
        kind: outcome.kind,
        roleArn: finding.roleArn,
        eventId: finding.eventId,
        at: new Date(outcome.decidedAt).toISOString(),
        policyName: outcome.policyName,
        policyDocument: outcome.policyDocument,
        applied: outcome.applied,
      });
  }
  return { kept, actions };
}
