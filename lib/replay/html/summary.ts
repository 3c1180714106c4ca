import type { ReplayReport } from '../report.js';
import { intervals } from './axis.js';
import {
  byText,
  COLOUR,
  count,
  empty,
  esc,
  iso,
  isRevocation,
  plural,
  roleKey,
  SEVERITIES,
  some,
  table,
  time,
} from './format.js';
import type { Coverage, HtmlReportInput } from './types.js';

/** The one line a reader takes away: the worst findings and on how many vendors, and what would have been revoked. */
export function verdict(input: HtmlReportInput): string {
  const { findings, actions } = input.report;
  const revs = actions.filter(isRevocation);
  const sessions = revs.filter((a) => a.kind === 'revoke-session').length;
  const roles = revs.length - sessions;
  const what = [sessions ? plural(sessions, 'session') : '', roles ? plural(roles, 'role') : ''].filter(Boolean);
  const done = revs.length > 0 && revs.every((a) => a.applied);
  const verb = done ? (revs.length === 1 ? 'was' : 'were') : 'would have been';
  const revoked = what.length ? `${what.join(' and ')} ${verb} revoked` : 'nothing would have been revoked';
  if (findings.length === 0) return `No findings in ${plural(input.report.sessions.length, 'session')}; ${revoked}`;
  const counts = SEVERITIES.map((s) => ({ s, list: findings.filter((f) => f.severity === s) })).filter(
    (c) => c.list.length > 0,
  );
  const [worst, ...rest] = counts;
  const vendors = new Set(worst!.list.map((f) => f.context.vendor)).size;
  const others = rest.map((c) => `${c.list.length} ${c.s}`).join(', ');
  return `${worst!.list.length} ${worst!.s} on ${plural(vendors, 'vendor')}${others ? ` (and ${others})` : ''}; ${revoked}`;
}

/** One card per severity, then what was read and done. */
function cards(report: ReplayReport): string {
  const s = report.summary;
  const revs = report.actions.filter(isRevocation).length;
  const bySeverity = SEVERITIES.map((sev) => [sev, report.findings.filter((f) => f.severity === sev).length] as const);
  const severity = bySeverity
    .map(
      ([sev, n]) =>
        `<div class="card sev-${sev}${n > 0 ? ' alarm' : ''}"${n > 0 ? ` style="border-color:${COLOUR[sev]}"` : ''}><b${n > 0 ? ` style="color:${COLOUR[sev]}"` : ''}>${n}</b><span>${sev}</span></div>`,
    )
    .join('');
  const rest: [string, number][] = [
    ['events read', s.eventsRead],
    ['sessions recorded', s.recorded],
    ['revocations', revs],
    ['ignored', s.ignored],
    ['rejected', s.rejected],
  ];
  return `<div class="cards">${severity}${rest.map(([label, n]) => `<div class="card"><b>${count(n)}</b><span>${label}</span></div>`).join('')}</div>`;
}

/** What the input covered: as the replay counted it, or else as the sessions tell it. */
function coverage(input: HtmlReportInput): string {
  const given = input.coverage;
  const told: Coverage = given ?? {
    files: Number.NaN,
    accounts: [...new Set(input.report.sessions.map((s) => s.recipientAccountId))].sort(byText),
    regions: [...new Set(input.report.sessions.map((s) => s.awsRegion).filter((r): r is string => Boolean(r)))].sort(
      byText,
    ),
    from: null,
    to: null,
  };
  const spans = intervals(input.report);
  const from = given ? given.from : spans.length ? iso(spans[0]![0]) : null;
  const to = given ? given.to : spans.length ? iso(spans.reduce((max, s) => Math.max(max, s[1]), 0)) : null;
  const rows: [string, string][] = [
    ['files', Number.isNaN(told.files) ? '–' : count(told.files)],
    ['accounts', `${told.accounts.length}: ${some(told.accounts)}`],
    ['Regions', `${told.regions.length}: ${some(told.regions)}`],
    ['time span', `${time(from)} – ${time(to)}`],
  ];
  // The replay's counts of what it ignored, by reason and event name (when the report has them).
  const ignored = (
    input.report as { ignored?: { byReason: Record<string, number>; byEventName: Record<string, number> } }
  ).ignored;
  const top = (counts: Record<string, number>) =>
    some(
      Object.entries(counts)
        .sort(([a, m], [b, n]) => n - m || byText(a, b))
        .map(([k, n]) => `${k} (${count(n)})`),
    );
  if (ignored && Object.keys(ignored.byReason).length > 0)
    rows.push(
      ['ignored', `${count(input.report.summary.ignored)}: ${top(ignored.byReason)}`],
      ['ignored events', top(ignored.byEventName)],
    );
  const note = given
    ? ''
    : '<p class="muted">As the recorded sessions tell it (the replay gave no count of files).</p>';
  return `<dl class="coverage">${rows.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('')}</dl>${note}`;
}

/** The guarded roles, with what happened to each. */
function registryTable(input: HtmlReportInput): string {
  const { report } = input;
  const tally = (list: { roleArn: string }[]) => {
    const n = new Map<string, number>();
    for (const x of list) n.set(roleKey(x.roleArn), (n.get(roleKey(x.roleArn)) ?? 0) + 1);
    return n;
  };
  const counted = new Map<{ roleArn: string }[], Map<string, number>>();
  const of = (arn: string, list: { roleArn: string }[]) => {
    if (!counted.has(list)) counted.set(list, tally(list));
    return counted.get(list)!.get(roleKey(arn)) ?? 0;
  };
  const revs = report.actions.filter(isRevocation);
  const rows = input.registry.roles.map(
    (r) =>
      `<tr><td>${esc(r.vendor)}</td><td class="wrap">${esc(r.roleArn)}</td><td>${esc(r.response)}${r.dryRun ? ' (dry run)' : ''}</td><td class="wrap">${esc(r.trustedAccounts.join(', '))}</td><td>${of(r.roleArn, report.sessions)}</td><td>${of(r.roleArn, report.findings)}</td><td>${of(r.roleArn, revs)}</td></tr>`,
  );
  return rows.length
    ? table(['vendor', 'guarded role', 'response', 'trusted accounts', 'sessions', 'findings', 'revocations'], rows)
    : empty('No role is registered: sessions were recorded, and nothing was detected.');
}

/** The summary: counts per severity, what the input covered, and the registry. */
export function summary(input: HtmlReportInput): string {
  return `${cards(input.report)}<h3>What the input covered</h3>${coverage(input)}<h3>Registry</h3>${registryTable(input)}`;
}
