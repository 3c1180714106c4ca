import { parseRoleArn } from '../cloudtrail/arn.js';
import type { Registry } from '../registry/types.js';
import { maskExternalId } from '../redact.js';
import { IN_FLIGHT, type Rotation } from '../rotate/store.js';
import type { ReplayReport, ReportFinding } from './report.js';

/** What the backtest report is made of. */
export interface HtmlReportInput {
  report: ReplayReport;
  registry: Registry;
  rotations: Rotation[];
  /** When the report was made (shown as given: the report itself reads no clock). */
  generatedAt: string;
  title?: string;
}

const DAY_MS = 86_400_000;
/** At most this many session bars are drawn, so a month of logs still gives a page a browser opens quickly. */
const MAX_BARS = 4000;
const SEVERITY_COLOUR = { critical: '#c62828', high: '#ef6c00', medium: '#f9a825', low: '#1565c0' } as const;

/** HTML-escape text and attribute values: everything from events is attacker-chosen. */
export function esc(value: unknown): string {
  // eslint-disable-next-line no-control-regex -- control characters from events are shown as '?'
  return String(value ?? '').replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '?');
}

const shortRole = (arn: string) => parseRoleArn(arn)?.roleName ?? arn;
const time = (iso: string | null) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC') : '–');

/** The time span the report covers: from the first session or finding to the last. */
function span(report: ReplayReport): { from: number; to: number } | null {
  const times = [...report.sessions.map((s) => Date.parse(s.issuedAt)), ...report.findings.map((f) => Date.parse(f.context.at))].filter((t) => !Number.isNaN(t));
  if (times.length === 0) return null;
  const from = Math.min(...times);
  const to = Math.max(...times);
  return to > from ? { from, to } : { from: from - 60_000, to: to + 60_000 };
}

/** Swimlanes per role: sessions as bars (issue to expiry), findings as markers by severity, revocations as lines. */
function timeline(input: HtmlReportInput): string {
  const { report } = input;
  const range = span(report);
  if (!range) return '<p class="empty">No session or finding to draw.</p>';
  const registered = new Set(input.registry.roles.map((r) => shortRole(r.roleArn)));
  const roles = [...new Set([...report.findings.map((f) => f.roleArn), ...report.sessions.map((s) => s.roleArn)].map(shortRole))]
    .sort((a, b) => Number(registered.has(b)) - Number(registered.has(a)) || a.localeCompare(b, 'en'))
    .slice(0, 40);
  const left = 190;
  const width = 1100;
  const lane = 34;
  const top = 28;
  const height = top + roles.length * lane + 30;
  const x = (t: number) => left + ((Math.min(Math.max(t, range.from), range.to) - range.from) / (range.to - range.from)) * (width - left - 20);
  const y = (role: string) => top + roles.indexOf(role) * lane;
  const parts: string[] = [];
  // Time axis: five ticks.
  for (let i = 0; i <= 4; i++) {
    const t = range.from + ((range.to - range.from) * i) / 4;
    parts.push(`<line x1="${x(t)}" y1="${top - 6}" x2="${x(t)}" y2="${height - 24}" class="grid"/><text x="${x(t)}" y="${height - 8}" class="tick" text-anchor="${i === 0 ? 'start' : i === 4 ? 'end' : 'middle'}">${esc(time(new Date(t).toISOString()))}</text>`);
  }
  roles.forEach((role, i) => {
    parts.push(`<rect x="0" y="${y(role)}" width="${width}" height="${lane}" class="${i % 2 ? 'lane odd' : 'lane'}"/><text x="8" y="${y(role) + lane / 2 + 4}" class="role${registered.has(role) ? ' guarded' : ''}">${esc(role.slice(0, 26))}</text>`);
  });
  // A very long backtest draws an even sample of its sessions, and says so.
  const step = Math.max(1, Math.ceil(report.sessions.length / MAX_BARS));
  for (const s of report.sessions.filter((_, i) => i % step === 0)) {
    const role = shortRole(s.roleArn);
    if (!roles.includes(role)) continue;
    const start = Date.parse(s.issuedAt);
    const end = s.expiresAt ? Date.parse(s.expiresAt) : start;
    const x1 = x(start);
    const x2 = Math.max(x(end), x1 + 3);
    parts.push(`<rect x="${x1}" y="${y(role) + 12}" width="${x2 - x1}" height="10" rx="2" class="${s.outcome === 'denied' ? 'session denied' : 'session'}"><title>${esc(`${s.roleSessionName ?? '(no session name)'} · ${s.callerAccountId ?? s.callerType} · ${time(s.issuedAt)}`)}</title></rect>`);
  }
  for (const a of report.actions) {
    if (a.kind === 'alert') continue;
    const role = shortRole(a.roleArn);
    if (!roles.includes(role)) continue;
    const ax = x(Date.parse(a.at));
    parts.push(`<line x1="${ax}" y1="${y(role) + 2}" x2="${ax}" y2="${y(role) + lane - 2}" class="revocation"><title>${esc(`${a.kind} at ${time(a.at)}`)}</title></line>`);
  }
  for (const f of report.findings) {
    const role = shortRole(f.roleArn);
    if (!roles.includes(role)) continue;
    parts.push(`<circle cx="${x(Date.parse(f.context.at))}" cy="${y(role) + 17}" r="6" fill="${SEVERITY_COLOUR[f.severity]}" class="finding"><title>${esc(`${f.severity} ${f.kind}: ${f.message}`)}</title></circle>`);
  }
  const legend = [
    '<span class="key"><span class="swatch session"></span>session (issue → expiry)</span>',
    '<span class="key"><span class="swatch denied"></span>denied attempt</span>',
    ...Object.entries(SEVERITY_COLOUR).map(([sev, colour]) => `<span class="key"><span class="dot" style="background:${colour}"></span>${sev} finding</span>`),
    '<span class="key"><span class="swatch revoke"></span>revocation</span>',
  ].join('');
  const sampled = step > 1 ? `<p class="empty">${report.sessions.length} sessions: one in ${step} is drawn; every finding and revocation is.</p>` : '';
  return `<div class="legend">${legend}</div>${sampled}<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="Sessions over time per role">${parts.join('')}</svg>`;
}

function findingsTable(findings: ReportFinding[]): string {
  if (findings.length === 0) return '<p class="empty">No findings.</p>';
  const rows = findings.map((f) => `<tr><td>${esc(time(f.context.at))}</td><td><span class="sev" style="background:${SEVERITY_COLOUR[f.severity]}">${esc(f.severity)}</span></td><td class="wrap"><b>${esc(f.kind)}</b><br>${esc(f.message)}</td><td>${esc(shortRole(f.roleArn))}</td><td>${esc(f.callerAccountId ?? f.context.callerType)}</td><td class="wrap">${esc((f.context.roleSessionName ?? '').slice(0, 64))}</td><td>${esc(f.context.externalId)}</td></tr>`);
  return `<table><thead><tr><th>when</th><th>severity</th><th>what happened</th><th>role</th><th>caller</th><th>session</th><th>external ID</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function revocations(report: ReplayReport): string {
  const revs = report.actions.filter((a) => a.kind !== 'alert');
  if (revs.length === 0) return '<p class="empty">No revocation would have happened.</p>';
  return revs
    // The first ones open: the policy is what a reader came for.
    .map((a, i) => `<details${i < 5 ? ' open' : ''}><summary><b>${esc(a.kind)}</b> on ${esc(shortRole(a.roleArn))} at ${esc(time(a.at))} · event ${esc(a.eventId)} · ${a.applied ? 'written to IAM' : 'not written (backtest)'}</summary><p>${esc(a.policyName ?? 'roleguard-revocations')} after this revocation:</p><pre>${esc(JSON.stringify(a.policyDocument ?? null, null, 2))}</pre></details>`)
    .join('');
}

function rotationsTable(input: HtmlReportInput): string {
  const byRole = new Map(input.rotations.map((r) => [r.roleArn, r]));
  const rows = input.registry.roles
    .filter((role) => role.rotation || byRole.has(role.roleArn))
    .map((role) => {
      const r = byRole.get(role.roleArn) ?? null;
      const inFlight = r && IN_FLIGHT.includes(r.phase);
      const due = role.rotation && r && !inFlight ? new Date(Date.parse(r.since) + role.rotation.everyDays * DAY_MS).toISOString() : null;
      const state = inFlight ? `${r!.phase}, new ID ${maskExternalId(r!.pendingId)}, deadline ${time(r!.deadlineAt)}` : r ? `${r.phase} since ${time(r.since)}` : 'not yet dated (the first scheduled run dates it)';
      return `<tr><td>${esc(role.vendor)}</td><td>${esc(shortRole(role.roleArn))}</td><td>${role.rotation ? `every ${role.rotation.everyDays} days, ${role.rotation.graceDays} days' grace` : 'by hand'}</td><td class="wrap">${esc(state)}</td><td>${esc(due ? time(due) : inFlight ? 'in flight' : '–')}</td></tr>`;
    });
  if (rows.length === 0) return '<p class="empty">No role has a rotation schedule.</p>';
  return `<table><thead><tr><th>vendor</th><th>role</th><th>schedule</th><th>state</th><th>next due</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function rejectedTable(report: ReplayReport): string {
  if (report.rejected.length === 0) return '<p class="empty">Nothing was rejected.</p>';
  const rows = report.rejected.slice(0, 500).map((r) => `<tr><td class="wrap">${esc(r.source)}</td><td class="wrap">${esc(r.reason)}</td></tr>`);
  const more = report.rejected.length > 500 ? `<p>… and ${report.rejected.length - 500} more (see --json).</p>` : '';
  return `<table><thead><tr><th>source</th><th>reason</th></tr></thead><tbody>${rows.join('')}</tbody></table>${more}`;
}

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0;color:#1c2330;background:#f4f6f9}
header{background:#1c2330;color:#fff;padding:20px 32px}header h1{margin:0 0 4px;font-size:24px}header p{margin:0;color:#c5cbd6}
main{padding:16px 32px 40px;max-width:1320px}
section{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.12);padding:16px 20px;margin:16px 0;overflow-x:auto}
h2{font-size:18px;margin:0 0 12px}
.cards{display:flex;flex-wrap:wrap;gap:12px}.card{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.12);padding:12px 18px;min-width:120px}
.card b{display:block;font-size:26px}.card span{color:#5b6577}.card.alarm b{color:#c62828}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border-bottom:1px solid #e3e7ee;padding:6px 8px;text-align:left;vertical-align:top;white-space:nowrap}
td.wrap{white-space:normal;overflow-wrap:anywhere;min-width:160px}
th{background:#eef1f6}.sev{color:#fff;border-radius:3px;padding:1px 6px;font-weight:600}
pre{background:#f1f3f7;padding:10px;border-radius:6px;overflow:auto;font-size:12px}details{margin:6px 0}summary{cursor:pointer}
.legend{display:flex;flex-wrap:wrap;gap:16px;margin-bottom:8px;color:#3b4556}.key{display:inline-flex;align-items:center;gap:6px}
.swatch{display:inline-block;width:22px;height:10px;border-radius:2px}.swatch.session{background:#7b8aa3}.swatch.denied{background:#fff;border:2px solid #c62828}.swatch.revoke{width:3px;height:16px;background:#6a1b9a}
.dot{display:inline-block;width:12px;height:12px;border-radius:50%}
svg .lane{fill:#fff}svg .lane.odd{fill:#f6f8fb}svg .grid{stroke:#dde2ea}svg .tick{font-size:11px;fill:#5b6577}
svg .role{font-size:12px;fill:#5b6577}svg .role.guarded{font-weight:700;fill:#1c2330}
svg .session{fill:#7b8aa3;opacity:.8}svg .session.denied{fill:#fff;stroke:#c62828;stroke-width:2}
svg .finding{stroke:#fff;stroke-width:1.5}svg .revocation{stroke:#6a1b9a;stroke-width:3}
.empty{color:#5b6577;font-style:italic}`;

/**
 * The backtest report as one self-contained HTML page: no script, font, image or request outside it. Everything
 * from events is escaped; external IDs are shown masked. Pure: the same input gives the same page.
 */
export function renderHtmlReport(input: HtmlReportInput): string {
  const { report } = input;
  const s = report.summary;
  const range = span(report);
  const critical = report.findings.filter((f) => f.severity === 'critical').length;
  const revs = report.actions.filter((a) => a.kind !== 'alert').length;
  const cards = [
    ['events read', s.eventsRead, false], ['sessions recorded', s.recorded, false], ['findings', s.findings, s.findings > 0], ['critical', critical, critical > 0],
    ['revocations', revs, revs > 0], ['duplicates', s.duplicates, false], ['ignored', s.ignored, false], ['rejected', s.rejected, s.rejected > 0],
  ] as const;
  const title = input.title ?? 'roleguard backtest';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${esc(title)}</title><style>${STYLE}</style></head>
<body><header><h1>${esc(title)}</h1><p>${range ? `${esc(time(new Date(range.from).toISOString()))} – ${esc(time(new Date(range.to).toISOString()))}` : 'no events'} · ${input.registry.roles.length} guarded roles · generated ${esc(time(input.generatedAt))} · a backtest: nothing was sent or written unless --apply</p></header>
<main>
<div class="cards">${cards.map(([label, n, alarm]) => `<div class="card${alarm ? ' alarm' : ''}"><b>${n}</b><span>${label}</span></div>`).join('')}</div>
<section id="timeline"><h2>Sessions over time, per role</h2>${timeline(input)}</section>
<section id="findings"><h2>Findings (${report.findings.length})</h2>${findingsTable(report.findings)}</section>
<section id="revocations"><h2>Revocations that would have happened (${revs})</h2>${revocations(report)}</section>
<section id="rotations"><h2>External-ID rotations</h2>${rotationsTable(input)}</section>
<section id="rejected"><h2>Rejected inputs (${report.rejected.length})</h2>${rejectedTable(report)}</section>
</main></body></html>
`;
}
