import { maskExternalId } from '../lib/redact.js';
import type { ReplayReport, ReportFinding } from '../lib/replay/report.js';
import { formatCount, formatTime, plural } from './format.js';
import { renderTable, shortRoleNames } from './table.js';

/** Above this many findings, sessions or rejections, the readable report shows a summary and the top rows, not every row. */
export const LARGE_RUN = 20;
/** Rows shown of each list in a large run. */
const TOP = 10;

/** How the run was made, for the report's first line. */
export interface ReplayTextOptions {
  embedded: boolean;
  endpoint: string;
  apply: boolean;
  guarded: number;
  /** The HTML report written, if any. */
  htmlReport?: string | null;
}

const SEVERITY_RANK: Record<string, number> = { critical: 0, high: 1, medium: 2, low: 3 };

/** The most severe findings first, then the earliest. */
export function topFindings(findings: ReportFinding[], count: number): ReportFinding[] {
  return [...findings]
    .sort((a, b) => (SEVERITY_RANK[a.severity] ?? 9) - (SEVERITY_RANK[b.severity] ?? 9))
    .slice(0, count);
}

/**
 * The readable report: summary, what was ignored, findings, revocations, sessions and rejections. A large run
 * shows the summary and the top findings, then points to --json and --report for everything.
 */
export function formatReplay(report: ReplayReport, options: ReplayTextOptions): string {
  const s = report.summary;
  const large = [report.findings, report.sessions, report.rejected].some((list) => list.length > LARGE_RUN);
  const out: string[] = [];
  const mode = options.apply ? 'applied: alerts sent, revocations written' : 'dry run: nothing sent or written';
  const where = options.embedded
    ? `embedded DynamoDB Local at ${options.endpoint}, stopped when done`
    : options.endpoint;
  out.push(`roleguard replay (${where}; ${mode}; ${plural(options.guarded, 'guarded role')})`, '');
  if (s.eventsRead === 0)
    out.push(
      'WARNING: no events were read: nothing was replayed. See "Rejected" below for what could not be read.',
      '',
    );
  out.push(
    renderTable(
      ['events read', 'recorded', 'duplicates', 'ignored', 'rejected', 'trust changes', 'findings', 'actions'],
      [
        [
          s.eventsRead,
          s.recorded,
          s.duplicates,
          s.ignored,
          s.rejected,
          s.trustPolicyChanges,
          s.findings,
          s.actions,
        ].map(formatCount),
      ],
    ),
  );
  out.push(...ignoredSection(report, large ? TOP : Number.POSITIVE_INFINITY));
  out.push(...findingsSection(report, options, large));
  out.push(...revocationsSection(report, options, large));
  out.push(...sessionsSection(report, large));
  out.push(...rejectedSection(report, large));
  if (large) {
    const html = options.htmlReport
      ? `the HTML report is in ${options.htmlReport}`
      : 'add --report report.html for a page with sessions over time per role';
    out.push(
      '',
      `This is a summary of a large run. Every session, finding, action and rejection is in the JSON document (--json > report.json); ${html}.`,
    );
  }
  return out.join('\n');
}

function ignoredSection(report: ReplayReport, top: number): string[] {
  if (report.summary.ignored === 0) return [];
  const rows = (counts: Record<string, number>) => Object.entries(counts).map(([k, n]) => [k, formatCount(n)]);
  const names = rows(report.ignored.byEventName);
  const out = ['', `Ignored (${formatCount(report.summary.ignored)}) by reason`];
  out.push(renderTable(['reason', 'records'], rows(report.ignored.byReason), 80));
  out.push('', `Ignored by event name${names.length > top ? ` (top ${top} of ${names.length})` : ''}`);
  out.push(renderTable(['event name', 'records'], names.slice(0, top), 80));
  return out;
}

function findingsSection(report: ReplayReport, options: ReplayTextOptions, large: boolean): string[] {
  const all = report.findings;
  const shown = large ? topFindings(all, TOP) : all;
  const title =
    large && all.length > shown.length
      ? `Top findings (${shown.length} of ${formatCount(all.length)}, most severe first)`
      : `Findings (${formatCount(all.length)})`;
  if (!all.length) return ['', title, options.guarded ? 'none' : 'none (no role is registered)'];
  const roles = shortRoleNames(shown.map((f) => f.roleArn));
  return [
    '',
    title,
    // Fitted to the terminal: role names as short as they stay unambiguous, and what happened wrapped, never cut.
    renderTable(
      [
        { header: 'when (UTC)', keep: true },
        { header: 'severity', keep: true },
        { header: 'kind', keep: true },
        { header: 'role', min: 16, optional: true },
        { header: 'caller', optional: true },
        { header: 'what happened', wrap: true, min: 24 },
      ],
      shown.map((f) => [
        formatTime(f.context.at),
        f.severity,
        f.kind,
        roles.get(f.roleArn) ?? f.roleArn,
        f.callerAccountId ?? f.context.callerType,
        f.message,
      ]),
    ),
  ];
}

function revocationsSection(report: ReplayReport, options: ReplayTextOptions, large: boolean): string[] {
  const revocations = report.actions.filter((a) => a.kind !== 'alert');
  if (!revocations.length) return [];
  // The policy itself is in the JSON report (--json): here, what was revoked and how many statements it left.
  const shown = large ? revocations.slice(0, TOP) : revocations;
  const more = shown.length < revocations.length ? `, the first ${shown.length} shown` : '';
  const statements = (doc: unknown) =>
    doc && typeof doc === 'object' && Array.isArray((doc as { Statement?: unknown }).Statement)
      ? (doc as { Statement: unknown[] }).Statement.length
      : 0;
  return [
    '',
    `Revocations (${formatCount(revocations.length)}${more}; ${options.apply ? 'written to IAM where applied' : 'emulated: nothing written'})`,
    renderTable(
      ['decided (UTC)', 'kind', 'role', 'event', 'applied', 'policy statements'],
      shown.map((a) => [
        formatTime(a.at),
        a.kind,
        a.roleArn,
        a.eventId,
        a.applied ? 'yes' : 'no',
        statements(a.policyDocument),
      ]),
      60,
    ),
  ];
}

function sessionsSection(report: ReplayReport, large: boolean): string[] {
  const sessions = report.sessions;
  if (large) {
    // Per role, the busiest first: the rows themselves are in --json and --report.
    const perRole = new Map<string, { success: number; denied: number; callers: Set<string> }>();
    for (const x of sessions) {
      const row = perRole.get(x.roleArn) ?? { success: 0, denied: 0, callers: new Set<string>() };
      row[x.outcome === 'success' ? 'success' : 'denied']++;
      row.callers.add(x.callerAccountId ?? x.callerType);
      perRole.set(x.roleArn, row);
    }
    const roles = [...perRole.entries()].sort(
      ([a, m], [b, n]) => n.success + n.denied - m.success - m.denied || (a < b ? -1 : a > b ? 1 : 0),
    );
    const more = roles.length > TOP ? `, the ${TOP} busiest shown` : '';
    return [
      '',
      `Sessions recorded (${formatCount(sessions.length)}, on ${plural(roles.length, 'role')}${more})`,
      renderTable(
        ['role', 'sessions', 'denied', 'callers'],
        roles
          .slice(0, TOP)
          .map(([arn, r]) => [
            arn,
            formatCount(r.success + r.denied),
            formatCount(r.denied),
            formatCount(r.callers.size),
          ]),
        80,
      ),
    ];
  }
  return [
    '',
    `Sessions recorded (${formatCount(sessions.length)})`,
    renderTable(
      [
        'issued (UTC)',
        'outcome',
        'role',
        'session',
        'caller',
        'caller type',
        'external id',
        'source IP',
        'expires (UTC)',
      ],
      sessions.map((x) => [
        formatTime(x.issuedAt),
        x.outcome,
        x.roleArn,
        x.roleSessionName,
        x.callerAccountId,
        x.callerType,
        maskExternalId(x.externalId),
        x.sourceIpAddress,
        formatTime(x.expiresAt),
      ]),
      44,
    ),
  ];
}

function rejectedSection(report: ReplayReport, large: boolean): string[] {
  const rejected = report.rejected;
  if (!rejected.length) return [];
  const shown = large ? rejected.slice(0, TOP) : rejected;
  const more = shown.length < rejected.length ? `, the first ${shown.length} shown` : '';
  return [
    '',
    `Rejected (${formatCount(rejected.length)}${more})`,
    // Fitted to the terminal, the reason wrapped and never cut: it is what the reader needs.
    renderTable(
      [
        { header: 'source', min: 24 },
        { header: 'reason', wrap: true, min: 40 },
      ],
      shown.map((r) => [r.source, r.reason]),
    ),
  ];
}
