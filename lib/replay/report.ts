import type { Action } from '../alert/index.js';
import type { Finding } from '../detect/index.js';
import type { SessionView } from '../sessions/index.js';

/** Contract §2: the `roleguard replay --json` document. */
export interface ReplayReport {
  summary: {
    eventsRead: number;
    recorded: number;
    duplicates: number;
    ignored: number;
    rejected: number;
    findings: number;
    actions: number;
    /** UpdateAssumeRolePolicy records seen (an extension of the contract). */
    trustPolicyChanges: number;
  };
  sessions: SessionView[];
  findings: ReportFinding[];
  actions: Action[];
  rejected: { source: string; reason: string }[];
}

/** A finding as the report shows it (contract §2), with its context as an extension. */
export type ReportFinding = Pick<
  Finding,
  'kind' | 'severity' | 'roleArn' | 'eventId' | 'assumedRoleId' | 'callerAccountId' | 'message'
> & { context: Finding['context'] };

/** The contract's field order for a finding. */
export function reportFinding(f: Finding): ReportFinding {
  return {
    kind: f.kind,
    severity: f.severity,
    roleArn: f.roleArn,
    eventId: f.eventId,
    assumedRoleId: f.assumedRoleId,
    callerAccountId: f.callerAccountId,
    message: f.message,
    context: f.context,
  };
}

/** An empty report to fill in. */
export function emptyReport(): ReplayReport {
  return {
    summary: {
      eventsRead: 0,
      recorded: 0,
      duplicates: 0,
      ignored: 0,
      rejected: 0,
      findings: 0,
      actions: 0,
      trustPolicyChanges: 0,
    },
    sessions: [],
    findings: [],
    actions: [],
    rejected: [],
  };
}

/** Deterministic order: sessions, findings and actions by time then event id; rejections in input order (already). */
export function sortReport(report: ReplayReport): ReplayReport {
  // Locale-independent: times by their instant, then ids by code unit, so every machine gives the same order.
  const text = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const instant = (a: string, b: string) => Date.parse(a) - Date.parse(b) || text(a, b);
  const byTime = (a: { at: string; eventId: string }, b: { at: string; eventId: string }) =>
    instant(a.at, b.at) || text(a.eventId, b.eventId);
  report.findings.sort(
    (a, b) =>
      byTime({ at: a.context.at, eventId: a.eventId }, { at: b.context.at, eventId: b.eventId }) ||
      text(a.kind, b.kind),
  );
  report.actions.sort((a, b) => byTime(a, b) || text(a.kind, b.kind));
  report.sessions.sort(
    (a, b) =>
      instant(a.issuedAt, b.issuedAt) || text(a.eventId, b.eventId) || text(a.recipientAccountId, b.recipientAccountId),
  );
  return report;
}
