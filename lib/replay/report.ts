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
  /** The records counted in `summary.ignored`, by reason and by event name, most frequent first (an extension). */
  ignored: IgnoredSummary;
}

/** Counts of ignored records; keys are ordered by count, then by name, so the document is the same on every run. */
export interface IgnoredSummary {
  byReason: Record<string, number>;
  byEventName: Record<string, number>;
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
    ignored: { byReason: {}, byEventName: {} },
  };
}

/** Count one ignored record. */
export function countIgnored(report: ReplayReport, reason: string, eventName: string): void {
  report.summary.ignored++;
  const { byReason, byEventName } = report.ignored;
  // Own keys only: an event could be named `constructor` or `toString`.
  byReason[reason] = (Object.hasOwn(byReason, reason) ? byReason[reason]! : 0) + 1;
  byEventName[eventName] = (Object.hasOwn(byEventName, eventName) ? byEventName[eventName]! : 0) + 1;
}

// Locale-independent: by code unit, so every machine gives the same order.
const text = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

// The counts with their keys most frequent first, then by name.
const byCount = (counts: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.entries(counts).sort(([a, m], [b, n]) => n - m || text(a, b)));

/**
 * Deterministic order: sessions, findings and actions by time then event id; ignored counts by count then name;
 * rejections in input order (already).
 */
export function sortReport(report: ReplayReport): ReplayReport {
  // Times by their instant, then ids by code unit.
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
  report.ignored = { byReason: byCount(report.ignored.byReason), byEventName: byCount(report.ignored.byEventName) };
  return report;
}
