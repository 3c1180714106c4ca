import type { Action } from './alert/index.js';
import { unwrapEventBridge } from './cloudtrail/envelope.js';
import type { Deps } from './deps.js';
import type { Finding } from './detect/index.js';
import { type ProcessOutcome, processRecord } from './pipeline.js';
import { maskExternalId } from './redact.js';

/** What the handler returns (and logs) for one EventBridge event. */
export interface HandlerResult {
  status: ProcessOutcome['status'];
  eventId: string | null;
  reason?: string;
  /** Findings raised by this event (present only when there were some). */
  findings?: number;
}

function logFindings(deps: Deps, findings: Finding[], actions: Action[]): void {
  for (const f of findings) {
    // The message and context never hold a full external ID (the rules mask it).
    deps.logger.warn('finding', {
      kind: f.kind,
      severity: f.severity,
      roleArn: f.roleArn,
      eventId: f.eventId,
      assumedRoleId: f.assumedRoleId,
      callerAccountId: f.callerAccountId,
      message: f.message,
      context: f.context,
    });
  }
  for (const a of actions)
    deps.logger.info('action', { kind: a.kind, roleArn: a.roleArn, eventId: a.eventId, applied: a.applied });
}

/**
 * The boundary of the capture Lambda: one EventBridge "AWS API Call via CloudTrail" event in, one log line out.
 * An event that can never succeed is logged and acknowledged; an AWS failure throws so that Lambda retries it and
 * finally sends it to the dead-letter queue.
 */
export async function handleCloudTrailEvent(event: unknown, deps: Deps): Promise<HandlerResult> {
  const item = unwrapEventBridge(event, 'eventbridge');
  const envelopeId =
    typeof event === 'object' && event !== null && typeof (event as { id?: unknown }).id === 'string'
      ? (event as { id: string }).id
      : null;
  if ('rejected' in item) {
    deps.logger.warn('event rejected', { envelopeId, reason: item.rejected });
    return { status: 'rejected', eventId: null, reason: item.rejected };
  }
  const outcome = await processRecord(item.record, deps, { envelopeId: item.envelopeId });
  switch (outcome.status) {
    case 'recorded':
    case 'duplicate': {
      const e = outcome.event;
      const said =
        outcome.status === 'recorded'
          ? 'session recorded'
          : outcome.otherCopy
            ? "the other account's copy of a cross-account assume; decided on the copy recorded first"
            : 'duplicate delivery; already recorded';
      deps.logger.info(said, {
        eventId: e.eventId,
        envelopeId,
        eventName: e.eventName,
        roleArn: e.roleArn,
        outcome: e.outcome,
        callerAccountId: e.callerAccountId,
        callerType: e.callerType,
        roleSessionName: e.roleSessionName,
        externalId: maskExternalId(e.externalId),
        ...(outcome.status === 'recorded' ? { recording: outcome.recording } : {}),
      });
      if (outcome.status === 'duplicate' || outcome.findings.length === 0)
        return { status: outcome.status, eventId: e.eventId };
      logFindings(deps, outcome.findings, outcome.actions);
      return { status: outcome.status, eventId: e.eventId, findings: outcome.findings.length };
    }
    case 'trust-policy-change':
      deps.logger.info('trust policy change seen', {
        eventId: outcome.event.eventId,
        eventName: outcome.event.kind === 'role-change' ? outcome.event.eventName : 'UpdateAssumeRolePolicy',
        roleName: outcome.event.roleName,
        callerArn: outcome.event.callerArn,
      });
      if (outcome.findings.length === 0) return { status: outcome.status, eventId: outcome.event.eventId };
      logFindings(deps, outcome.findings, outcome.actions);
      return { status: outcome.status, eventId: outcome.event.eventId, findings: outcome.findings.length };
    case 'ignored':
      deps.logger.debug('event ignored', { envelopeId, eventName: outcome.eventName, reason: outcome.reason });
      return { status: outcome.status, eventId: null, reason: outcome.reason };
    case 'rejected':
      deps.logger.warn('event rejected', { envelopeId, reason: outcome.reason });
      return { status: outcome.status, eventId: null, reason: outcome.reason };
  }
}
