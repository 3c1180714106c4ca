import { intervals } from './html/axis.js';
import { findingsTable, groupFindings } from './html/findings.js';
import { empty, esc, iso, isRevocation, plural, time } from './html/format.js';
import { rejectedTable, revocations, rotationsTable } from './html/sections.js';
import { STYLE } from './html/style.js';
import { summary, verdict } from './html/summary.js';
import { timeline } from './html/timeline.js';
import type { HtmlReportInput } from './html/types.js';
import { unguarded } from './html/unguarded.js';

export { esc } from './html/format.js';
export type { Coverage, HtmlReportInput } from './html/types.js';

/** The line under the title: the time range, the registry, when, and whether anything was written. */
function subtitle(input: HtmlReportInput): string {
  const spans = intervals(input.report);
  const range = spans.length
    ? `${time(iso(spans[0]![0]))} – ${time(iso(spans.reduce((max, s) => Math.max(max, s[1]), 0)))}`
    : 'no events';
  const revs = input.report.actions.filter(isRevocation);
  const applied = revs.filter((a) => a.applied).length;
  const mode = applied
    ? `${applied} of ${plural(revs.length, 'revocation')} written to IAM`
    : 'dry run: nothing written to IAM';
  return `${esc(range)} · ${plural(input.registry.roles.length, 'guarded role')} · ${mode} · generated ${esc(time(input.generatedAt))}`;
}

/**
 * The backtest report as one self-contained HTML page: no script, font, image or request outside it (its only
 * links are to its own sections and to the runbook). Everything from events is escaped; external IDs are shown
 * masked. Pure: the same input gives the same page.
 */
export function renderHtmlReport(input: HtmlReportInput): string {
  const { report } = input;
  const title = esc(input.title ?? 'roleguard backtest');
  const { groups, groupOf } = groupFindings(report.findings);
  const findingAnchor = (i: number) => `finding-${groupOf[i]! + 1}`;
  const byEvent = new Map(report.findings.map((f, i) => [f.eventId, findingAnchor(i)]));
  const findings = groups.length
    ? findingsTable(report, groups, input.runbook ?? 'docs/runbook.md')
    : empty('No findings.');
  const repeated = report.findings.length > groups.length ? `, ${groups.length} distinct` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${title}</title><style>${STYLE}</style></head>
<body><header><h1>${title}</h1><p>${subtitle(input)}</p><p class="verdict" id="verdict">${esc(verdict(input))}</p></header>
<main>
<section id="summary"><h2>Summary</h2>${summary(input)}</section>
<section id="unguarded"><h2>Cross-account roles you don't guard</h2>${unguarded(input)}</section>
<section id="findings"><h2>Findings (${report.findings.length}${repeated})</h2>${findings}</section>
<section id="timeline"><h2>Sessions over time, per role</h2>${timeline(input, findingAnchor)}</section>
<section id="revocations"><h2>Revocations that would have happened (${report.actions.filter(isRevocation).length})</h2>${revocations(report, (id) => byEvent.get(id) ?? null)}</section>
<section id="rotations"><h2>External-ID rotations</h2>${rotationsTable(input)}</section>
<section id="rejected"><h2>Rejected inputs (${report.rejected.length})</h2>${rejectedTable(report)}</section>
</main></body></html>
`;
}
