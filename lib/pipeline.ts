import { respondToFindings, type Action } from './alert/index.js';
import { classifyRecord } from './cloudtrail/classify.js';
import type { AssumeEvent, TrustPolicyChangeEvent } from './cloudtrail/types.js';
import type { Deps } from './deps.js';
import { detectAssume, detectTrustChange, type Finding } from './detect/index.js';
import type { RegisteredRole, RegistryIndex } from './registry/index.js';
import { protectedReason, type RevocationOutcome } from './revoke/respond.js';
import { sessionViewOf, type RecordOutcome, type SessionView } from './sessions/index.js';

/** Largest record processed; CloudTrail events are far smaller, so anything bigger is not a real event. */
export const MAX_RECORD_BYTES = 1024 * 1024;

/** What happened to one record. */
export type ProcessOutcome =
  | { status: 'recorded'; event: AssumeEvent; session: SessionView; recording: Exclude<RecordOutcome, 'duplicate'>; findings: Finding[]; actions: Action[] }
  | { status: 'duplicate'; event: AssumeEvent }
  | { status: 'trust-policy-change'; event: TrustPolicyChangeEvent; findings: Finding[]; actions: Action[] }
  | { status: 'ignored'; eventName: string; reason: string }
  | { status: 'rejected'; reason: string };

/** Options of one run through the pipeline. */
export interface ProcessOptions {
  envelopeId?: string | null;
  /** Decide as of this time; replay passes the event's own time. Defaults to `deps.now()`. */
  now?: (event: AssumeEvent | TrustPolicyChangeEvent) => Date;
  /** Send nothing (replay without --apply); the global DRY_RUN setting also applies. */
  dryRun?: boolean;
}

/**
 * parse → record → detect → respond. Bad input becomes a rejected outcome; AWS failures throw, so that Lambda
 * retries the event and finally dead-letters it. A session is marked processed only after its response, so a
 * crash in between makes the redelivery respond again (the outbox keeps that from alerting twice).
 */
export async function processRecord(record: unknown, deps: Deps, options: ProcessOptions = {}): Promise<ProcessOutcome> {
  const classified = classifyRecord(record, { recordAwsServiceAssumes: deps.config.recordAwsServiceAssumes }, options.envelopeId ?? null);
  if (classified.kind === 'rejected') return { status: 'rejected', reason: classified.reason };
  if (classified.kind === 'ignored') return { status: 'ignored', eventName: classified.eventName, reason: classified.reason };
  const bytes = recordBytes(record);
  if (bytes === null) return { status: 'rejected', reason: 'record cannot be serialised (nested too deeply or cyclic)' };
  if (bytes > MAX_RECORD_BYTES) return { status: 'rejected', reason: `record is ${bytes} bytes, over the ${MAX_RECORD_BYTES}-byte record limit` };
  const now = options.now?.(classified) ?? deps.now();
  const index = await deps.registry();

  if (classified.kind === 'trust-policy-change') {
    const findings = detectTrustChange(classified, index);
    const { kept, actions } = await respond(findings, null, index, deps, now, options);
    return { status: 'trust-policy-change', event: classified, findings: kept, actions };
  }
  const findings = detectAssume(classified, index);
  const recording = await deps.sessions.record(classified, { processed: findings.length === 0, now });
  if (recording === 'duplicate') return { status: 'duplicate', event: classified };
  const { kept, actions } = await respond(findings, classified, index, deps, now, options);
  if (findings.length > 0 || recording === 'unfinished') await deps.sessions.markProcessed(classified);
  return { status: 'recorded', event: classified, session: sessionViewOf(classified), recording, findings: kept, actions };
}

async function respond(findings: Finding[], event: AssumeEvent | null, index: RegistryIndex, deps: Deps, now: Date, options: ProcessOptions): Promise<{ kept: Finding[]; actions: Action[] }> {
  if (findings.length === 0) return { kept: [], actions: [] };
  const dryRun = deps.config.dryRun || (options.dryRun ?? false);
  // Revoke first, so that the alert can say what was done.
  const revocations = new Map<Finding, RevocationOutcome>();
  const withRoles: { finding: Finding; role: RegisteredRole; action?: string }[] = [];
  for (const finding of findings) {
    const role = index.roleFor(finding.roleArn)!;
    const entry: (typeof withRoles)[number] = { finding, role };
    if (deps.revoker && event && finding.severity === 'critical' && role.response === 'revoke' && finding.assumedRoleId) {
      const refused = protectedReason(role.roleArn, index.registry);
      if (refused) {
        entry.action = `Not revoked: ${refused}; roleguard never changes such a role. Alerted only.`;
      } else {
        const outcome = await deps.revoker.revokeSession({ roleArn: role.roleArn, assumedRoleId: finding.assumedRoleId, issuedAt: event.issuedAt, expiresAt: event.expiresAt, now });
        revocations.set(finding, outcome);
        entry.action = revocationText(outcome, dryRun || !outcome.applied);
      }
    }
    withRoles.push(entry);
  }
  const { actions, duplicates } = await respondToFindings(withRoles, deps.alerts, { now, windowSeconds: deps.config.alertWindowSeconds, channels: deps.alerts.channels, dryRun });
  // A finding the outbox has already admitted came from a redelivered event: it is not a new finding.
  const kept = findings.filter((f) => !duplicates.has(f));
  for (const finding of kept) {
    const outcome = revocations.get(finding);
    if (outcome) actions.push({ kind: outcome.kind, roleArn: finding.roleArn, eventId: finding.eventId, at: new Date(outcome.decidedAt).toISOString(), policyName: outcome.policyName, policyDocument: outcome.policyDocument, applied: outcome.applied });
  }
  return { kept, actions };
}

function revocationText(outcome: RevocationOutcome, dryRun: boolean): string {
  const what = outcome.fellBack
    ? `the whole role (every session issued before ${outcome.decidedAt}), because targeted revocations no longer fit the role's inline policy budget`
    : `this session (its tokens issued before ${outcome.decidedAt}; a new session of the same name is not affected)`;
  const done = dryRun ? `Dry run: would revoke ${what} with the ${outcome.policyName} policy.` : `Revoked ${what} with the ${outcome.policyName} policy.`;
  return `${done} Revocation does not stop a new assume: rotate or remove the external ID to contain it.`;
}

// The record's size as JSON; null when it cannot be serialised (V8 throws RangeError on very deep nesting).
function recordBytes(record: unknown): number | null {
  try {
    return Buffer.byteLength(JSON.stringify(record));
  } catch {
    return null;
  }
}
