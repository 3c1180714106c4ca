import { nextStepFor } from '../../alert/advice.js';
import type { FindingKind } from '../../detect/index.js';
import type { ReplayReport, ReportFinding } from '../report.js';
import {
  COLOUR,
  clip,
  esc,
  isRevocation,
  plural,
  revocationAnchor,
  roleKey,
  SEVERITIES,
  type Severity,
  shortRole,
  table,
  time,
} from './format.js';

/** The runbook section of each finding kind (GitHub's anchor for its heading in docs/runbook.md). */
export const RUNBOOK_ANCHOR: Record<FindingKind, string> = {
  'unexpected-external-id': 'unexpected-external-id-critical',
  'retired-external-id': 'retired-external-id-critical',
  'missing-external-id': 'missing-external-id-critical',
  'untrusted-account': 'untrusted-account-critical',
  'assumed-after-revocation': 'assumed-after-revocation-high',
  'denied-assume': 'denied-assume-medium',
  'trust-policy-changed':
    'trust-policy-changed-high-critical-when-the-new-policy-opens-the-door-medium-when-the-change-was-denied',
  'revocation-tampered': 'revocation-tampered-critical-medium-when-the-attempt-was-denied',
  'role-recreated': 'role-recreated-critical-medium-when-the-attempt-was-denied',
  'coverage-gap': 'coverage-gap-high',
};

/** Findings of one kind, on one role, from one caller: a repeated finding is one row. */
export interface FindingGroup {
  kind: FindingKind;
  severity: Severity;
  roleArn: string;
  vendor: string;
  caller: string;
  /** Indexes into the report's findings, in time order. */
  members: number[];
}

/** At most this many occurrences of a group are listed; the JSON report has them all. */
const MAX_OCCURRENCES = 20;
const rank = (s: Severity) => SEVERITIES.indexOf(s);

/** Group repeated findings (same kind, role and caller): worst first, then by first occurrence. */
export function groupFindings(findings: ReportFinding[]): { groups: FindingGroup[]; groupOf: number[] } {
  const byKey = new Map<string, FindingGroup>();
  const at = (i: number) => Date.parse(findings[i]!.context.at);
  const order = findings.map((_, i) => i).sort((a, b) => at(a) - at(b) || a - b);
  for (const i of order) {
    const f = findings[i]!;
    const caller = f.callerAccountId ?? f.context.callerArn ?? f.context.callerType;
    const key = `${f.kind}\n${roleKey(f.roleArn)}\n${caller}`;
    const group = byKey.get(key);
    if (group) {
      group.members.push(i);
      if (rank(f.severity) < rank(group.severity)) group.severity = f.severity;
    } else
      byKey.set(key, {
        kind: f.kind,
        severity: f.severity,
        roleArn: f.roleArn,
        vendor: f.context.vendor,
        caller,
        members: [i],
      });
  }
  const groups = [...byKey.values()].sort(
    (a, b) => rank(a.severity) - rank(b.severity) || a.members[0]! - b.members[0]!,
  );
  const groupOf: number[] = [];
  for (const [g, group] of groups.entries()) for (const i of group.members) groupOf[i] = g;
  return { groups, groupOf };
}

/** What roleguard did about a group: the revocations that followed its findings, linked, or "alerted". */
function response(report: ReplayReport, group: FindingGroup): string {
  const events = new Set(group.members.map((i) => report.findings[i]!.eventId));
  const revs = report.actions.filter(isRevocation);
  const mine = revs.map((a, r) => ({ a, r })).filter(({ a }) => events.has(a.eventId));
  if (mine.length === 0) return 'alerted';
  const sessions = mine.filter(({ a }) => a.kind === 'revoke-session').length;
  const roles = mine.length - sessions;
  const text = [sessions ? plural(sessions, 'session') : '', roles ? plural(roles, 'role') : ''].filter(Boolean);
  return `<a href="#${revocationAnchor(mine[0]!.r)}">${text.join(' and ')} revoked</a>`;
}

/** Where one finding came from, on one muted line (the caller's ARN and user agent on hover). */
function origin(f: ReportFinding): string {
  const parts = [
    `session ${clip(f.context.roleSessionName ?? '–', 64)}`,
    `source IP ${f.context.sourceIpAddress ?? '–'}`,
    `external ID ${f.context.externalId ?? '–'}`,
  ];
  return `<br><span class="muted" title="${esc([f.context.callerArn, f.context.userAgent].filter(Boolean).join('\n'))}">${esc(parts.join(' · '))}</span>`;
}

/** The events of a repeated finding, folded, in a row of their own under it. */
function occurrences(report: ReplayReport, group: FindingGroup): string {
  const rows = group.members.slice(0, MAX_OCCURRENCES).map((i) => {
    const f = report.findings[i]!;
    return `<tr><td>${esc(time(f.context.at))}</td><td class="wrap">${esc(clip(f.context.roleSessionName ?? '–', 64))}</td><td title="${esc([f.context.callerArn, f.context.userAgent].filter(Boolean).join('\n'))}">${esc(f.context.sourceIpAddress ?? '–')}</td><td>${esc(f.context.externalId ?? '–')}</td><td class="wrap msg">${esc(f.message)}</td></tr>`;
  });
  const more = group.members.length - rows.length;
  const tail = more > 0 ? `<p class="muted">… and ${more} more (all are in --json).</p>` : '';
  return `<tr class="occurrences"><td></td><td colspan="6"><details><summary>all ${group.members.length} events</summary>${table(['when', 'session', 'source IP', 'external ID', 'what happened'], rows)}${tail}</details></td></tr>`;
}

/** The findings, repeated ones grouped, each with when, who, what roleguard did, the next step and its runbook section. */
export function findingsTable(report: ReplayReport, groups: FindingGroup[], runbook: string): string {
  const rows = groups.map((g, n) => {
    const first = report.findings[g.members[0]!]!;
    const last = report.findings[g.members[g.members.length - 1]!]!;
    const when =
      g.members.length === 1
        ? esc(time(first.context.at))
        : `<b>${g.members.length}×</b> ${esc(time(first.context.at))}<br>to ${esc(time(last.context.at))}`;
    const link = `<a class="runbook" href="${esc(runbook)}#${RUNBOOK_ANCHOR[g.kind]}">runbook: ${esc(g.kind)}</a>`;
    return `<tr id="finding-${n + 1}"><td><span class="sev" style="background:${COLOUR[g.severity]}">${esc(g.severity)}</span></td><td class="wrap msg"><b>${esc(g.kind)}</b><br>${esc(last.message)}${g.members.length === 1 ? origin(first) : ''}</td><td>${esc(shortRole(g.roleArn))}<br><span class="muted">${esc(g.vendor)}</span></td><td class="wrap">${esc(g.caller)}</td><td class="when">${when}</td><td>${response(report, g)}</td><td class="wrap next">${esc(nextStepFor(first))}<br>${link}</td></tr>${g.members.length > 1 ? occurrences(report, g) : ''}`;
  });
  return table(['severity', 'what happened', 'role', 'caller', 'when', 'response', 'next step'], rows);
}
