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
  findings: unknown[];
  actions: unknown[];
  rejected: { source: string; reason: string }[];
}

/** An empty report to fill in. */
export function emptyReport(): ReplayReport {
  return {
    summary: { eventsRead: 0, recorded: 0, duplicates: 0, ignored: 0, rejected: 0, findings: 0, actions: 0, trustPolicyChanges: 0 },
    sessions: [],
    findings: [],
    actions: [],
    rejected: [],
  };
}

/** Deterministic order: sessions by time then event id; rejections in input order (already). */
export function sortReport(report: ReplayReport): ReplayReport {
  report.sessions.sort((a, b) => a.issuedAt.localeCompare(b.issuedAt) || a.eventId.localeCompare(b.eventId) || a.recipientAccountId.localeCompare(b.recipientAccountId));
  return report;
}
