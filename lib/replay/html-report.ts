import type { Action } from '../alert/index.js';
import { parseRoleArn } from '../cloudtrail/arn.js';
import { maskExternalId } from '../redact.js';
import type { RegisteredRole, Registry } from '../registry/types.js';
import { IN_FLIGHT, nextRotationDue, type Rotation } from '../rotate/index.js';
import type { ReplayReport, ReportFinding } from './report.js';

/** What the backtest report is made of. */
export interface HtmlReportInput {
  report: ReplayReport;
  registry: Registry;
  rotations: Rotation[];
  /** When the report was made (shown as given, and the reference for "overdue": the report reads no clock). */
  generatedAt: string;
  title?: string;
}

type Severity = ReportFinding['severity'];
interface Segment {
  from: number;
  to: number;
  x: number;
  width: number;
}
interface Lane {
  key: string;
  label: string;
  note: string;
  guarded: boolean;
}

/** At most this many session bars are drawn, so a month of logs still gives a page a browser opens quickly. */
const MAX_BARS = 4000;
const MAX_LANES = 40;
/** STS issues credentials for 12 hours at most: a longer recorded lifetime is drawn to that length. */
const MAX_SESSION_MS = 12 * 3_600_000;
const DAY_MS = 86_400_000;
const SEVERITIES: Severity[] = ['critical', 'high', 'medium', 'low'];
const COLOUR: Record<Severity, string> = { critical: '#c62828', high: '#e65100', medium: '#b7860b', low: '#1565c0' };
const CHART = { width: 1240, left: 250, right: 24, top: 34, lane: 44, gap: 30, bottom: 40 };

/** HTML-escape text and attribute values: everything from events is attacker-chosen. */
export function esc(value: unknown): string {
  return (
    String(value ?? '')
      .replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`)
      // Control characters and bidirectional overrides (which could make text read backwards) are shown as '?'.
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u202a-\u202e\u2066-\u2069]/g, '?')
  );
}

const isRevocation = (a: Action) => a.kind !== 'alert';
const shortRole = (arn: string) => parseRoleArn(arn)?.roleName ?? arn;
/** A role by account and name: a denied assume's ARN (read from its error message) may lack the role's path. */
const roleKey = (arn: string) => {
  const parts = parseRoleArn(arn);
  return parts ? `${parts.accountId}:${parts.roleName}` : arn;
};
const clip = (text: string, n: number) => (text.length > n ? `${text.slice(0, n - 1)}…` : text);
const num = (n: number) => Math.round(n * 10) / 10;
const time = (iso: string | null) => (iso ? `${iso.replace('T', ' ').replace(/(:\d\d)(\.\d+)?Z$/, '$1')} UTC` : '–');
const iso = (t: number) => new Date(t).toISOString();
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const table = (head: string[], rows: string[]) =>
  `<table><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
const empty = (text: string) => `<p class="empty">${text}</p>`;

/** A duration in the largest unit that reads naturally ("3 h", "41 days", "2.4 years"). */
function duration(ms: number): string {
  const units: [number, string][] = [
    [365.25 * 86_400_000, 'years'],
    [86_400_000, 'days'],
    [3_600_000, 'h'],
    [60_000, 'min'],
  ];
  const [size, unit] = units.find(([size], i) => ms >= size * (i === 0 ? 1 : 2)) ?? units[3]!;
  return `${ms / size >= 10 ? Math.round(ms / size) : num(ms / size)} ${unit}`;
}

/** A stretch of the clock something occupies, and how much it matters for the room it gets on the axis. */
type Span = [from: number, to: number, weight: number];

/** When a session's bar ends: its expiry, within STS's longest lifetime (an unknown expiry draws a sliver). */
function endOf(s: { issuedAt: string; expiresAt: string | null }): number {
  const start = Date.parse(s.issuedAt);
  const end = s.expiresAt ? Date.parse(s.expiresAt) : NaN;
  return Number.isNaN(end) ? start : Math.max(start, Math.min(end, start + MAX_SESSION_MS));
}

/** What each session, finding and action occupies on the clock. */
function intervals(report: ReplayReport): Span[] {
  const sessions = report.sessions.map((s): Span => [Date.parse(s.issuedAt), endOf(s), 1]);
  const points = [...report.findings.map((f) => f.context.at), ...report.actions.map((a) => a.at)].map(
    (at): Span => [Date.parse(at), Date.parse(at), 4],
  );
  return [...sessions, ...points].filter(([a, b]) => !Number.isNaN(a) && !Number.isNaN(b)).sort((a, b) => a[0] - b[0]);
}

/** Idle gaps shorter than this are never cut out of the axis. */
const MIN_CUT_MS = 6 * 3_600_000;

/**
 * Periods of activity, with how many things happened in each: the largest idle gaps (at most six) longer than a
 * twentieth of the whole span and six hours are cut out of the axis, so that years of silence do not squash a busy day.
 */
function periods(spans: Span[]): { from: number; to: number; items: number }[] {
  const runs: { from: number; to: number; items: number }[] = [];
  for (const [from, to, weight] of spans) {
    const last = runs[runs.length - 1];
    if (last && from <= last.to) Object.assign(last, { to: Math.max(last.to, to), items: last.items + weight });
    else runs.push({ from, to, items: weight });
  }
  const total = runs[runs.length - 1]!.to - runs[0]!.from;
  const gaps = runs.slice(1).map((r, i) => ({ at: i + 1, size: r.from - runs[i]!.to }));
  const cuts = new Set(
    gaps
      .filter((g) => g.size > Math.max(total / 20, MIN_CUT_MS))
      .sort((a, b) => b.size - a.size)
      .slice(0, 6)
      .map((g) => g.at),
  );
  const out: typeof runs = [];
  for (const [i, run] of runs.entries()) {
    const last = out[out.length - 1];
    if (!last || cuts.has(i)) out.push({ ...run });
    else Object.assign(last, { to: Math.max(last.to, run.to), items: last.items + run.items });
  }
  return out;
}

/** Lay the periods out along the plot: a minimum width each, the rest shared by how long they last and (more) how busy they are. */
function layout(spans: Span[]): Segment[] {
  const found = periods(spans);
  const pad = (p: { from: number; to: number }) => Math.max((p.to - p.from) * 0.03, 60_000);
  const padded = found.map((p) => ({ from: p.from - pad(p), to: p.to + pad(p), items: p.items }));
  const plot = CHART.width - CHART.left - CHART.right - (padded.length - 1) * CHART.gap;
  const least = Math.min(plot / padded.length, 100);
  const totalMs = padded.reduce((sum, p) => sum + (p.to - p.from), 0);
  const items = padded.reduce((sum, p) => sum + p.items, 0);
  let x = CHART.left;
  return padded.map(({ from, to, items: n }) => {
    const width = least + (plot - least * padded.length) * ((to - from) / totalMs / 3 + (n / items) * (2 / 3));
    const segment = { from, to, x, width };
    x += width + CHART.gap;
    return segment;
  });
}

/** The x of an instant: inside its period, or at the end of the period before an idle gap. */
function xOf(segments: Segment[], t: number): number {
  const s = [...segments].reverse().find((seg) => t >= seg.from) ?? segments[0]!;
  return num(s.x + ((Math.min(Math.max(t, s.from), s.to) - s.from) / (s.to - s.from)) * s.width);
}

/** Round steps for the ticks, in minutes up to two weeks, then in calendar months. */
const STEPS = [1, 5, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10_080, 20_160]
  .map((m) => ({ ms: m * 60_000, months: 0 }))
  .concat([1, 3, 6, 12, 24, 60].map((months) => ({ ms: months * 30.44 * DAY_MS, months })));

/** Ticks at round times inside a period (whole months for long ones), as many as fit; a narrow period gets its middle. */
function ticks(s: Segment): { at: number; step: number }[] {
  const room = Math.max(1, Math.floor(s.width / 80));
  const step = STEPS.find((st) => (s.to - s.from) / st.ms <= room) ?? STEPS[STEPS.length - 1]!;
  const out: number[] = [];
  if (step.months) {
    const start = new Date(s.from);
    const first = Math.ceil((start.getUTCFullYear() * 12 + start.getUTCMonth() + 1) / step.months) * step.months;
    for (let m = first; Date.UTC(Math.floor(m / 12), m % 12) <= s.to; m += step.months)
      out.push(Date.UTC(Math.floor(m / 12), m % 12));
  } else {
    for (let t = Math.ceil(s.from / step.ms) * step.ms; t <= s.to; t += step.ms) out.push(t);
  }
  if (out.length === 0) return [{ at: Math.round((s.from + s.to) / 120_000) * 60_000, step: s.to - s.from }];
  return out.map((at) => ({ at, step: step.ms }));
}

/** Ticks under each period (a date when it changes, else a time) and a marked cut, labelled with its length, between periods. */
function axis(segments: Segment[], bottom: number): string {
  const out: string[] = [];
  let day = '';
  for (const [i, s] of segments.entries()) {
    for (const { at: t, step } of ticks(s)) {
      const at = iso(t);
      const x = xOf(segments, t);
      // Steps of a day or more show dates only; shorter ones show times, and the date under the first of each day.
      const label =
        step >= DAY_MS
          ? `<tspan class="date">${at.slice(0, 10)}</tspan>`
          : `${at.slice(11, 16)}${at.slice(0, 10) === day ? '' : `<tspan x="${x}" dy="14" class="date">${at.slice(0, 10)}</tspan>`}`;
      day = at.slice(0, 10);
      out.push(
        `<line x1="${x}" y1="${CHART.top - 4}" x2="${x}" y2="${bottom}" class="grid"/><text x="${x}" y="${bottom + 14}" text-anchor="${x > CHART.width - 40 ? 'end' : 'middle'}">${label}</text>`,
      );
    }
    const next = segments[i + 1];
    if (!next) continue;
    const mid = num(s.x + s.width + CHART.gap / 2);
    day = '';
    out.push(
      `<rect x="${num(s.x + s.width + 6)}" y="${CHART.top}" width="${CHART.gap - 12}" height="${bottom - CHART.top}" class="cut"/><text x="${mid}" y="${CHART.top - 10}" text-anchor="middle" class="cutlabel">${duration(next.from - s.to)} idle</text>`,
    );
  }
  return out.join('');
}

/** The lanes: guarded roles first, then the others seen in the events. */
function lanes(input: HtmlReportInput): Lane[] {
  const registered = new Map(input.registry.roles.map((r) => [roleKey(r.roleArn), r]));
  const seen = new Map(
    [...input.report.findings, ...input.report.sessions].map((x) => [roleKey(x.roleArn), x.roleArn]),
  );
  const keys = [...new Set([...registered.keys(), ...seen.keys()])];
  return keys
    .map((key) => {
      const role = shortRole(registered.get(key)?.roleArn ?? seen.get(key) ?? key);
      return {
        key,
        label: clip(role, 30),
        note: registered.get(key)?.vendor ?? `not guarded · ${key.split(':')[0]}`,
        guarded: registered.has(key),
      };
    })
    .sort((a, b) => Number(b.guarded) - Number(a.guarded) || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0))
    .slice(0, MAX_LANES);
}

function laneRows(all: Lane[]): string {
  return all
    .map((l, i) => {
      const y = CHART.top + i * CHART.lane;
      return `<rect x="0" y="${y}" width="${CHART.width}" height="${CHART.lane}" class="${i % 2 ? 'lane odd' : 'lane'}"/><text x="10" y="${y + 19}" class="role${l.guarded ? ' guarded' : ''}">${esc(l.label)}</text><text x="10" y="${y + 34}" class="note">${esc(clip(l.note, 36))}</text>`;
    })
    .join('');
}

function sessionBars(report: ReplayReport, segments: Segment[], laneY: (arn: string) => number | null): string {
  const step = Math.max(1, Math.ceil(report.sessions.length / MAX_BARS));
  return report.sessions
    .filter((_, i) => i % step === 0)
    .map((s) => {
      const y = laneY(s.roleArn);
      if (y === null || Number.isNaN(Date.parse(s.issuedAt))) return '';
      const x1 = xOf(segments, Date.parse(s.issuedAt));
      const x2 = Math.max(xOf(segments, endOf(s)), x1 + 4);
      const tip = `${s.outcome === 'denied' ? 'DENIED ' : ''}${s.roleSessionName ?? '(no session name)'} · ${s.callerAccountId ?? s.callerType} · ${time(s.issuedAt)} → ${time(s.expiresAt)}`;
      return `<rect x="${x1}" y="${y + 24}" width="${num(x2 - x1)}" height="12" rx="2" class="${s.outcome === 'denied' ? 'session denied' : 'session'}"><title>${esc(tip)}</title></rect>`;
    })
    .join('');
}

function revocationLines(actions: Action[], segments: Segment[], laneY: (arn: string) => number | null): string {
  return actions
    .filter(isRevocation)
    .map((a, i) => {
      const y = laneY(a.roleArn);
      if (y === null || Number.isNaN(Date.parse(a.at))) return '';
      const x = xOf(segments, Date.parse(a.at));
      return `<a href="#revocation-${i + 1}"><line x1="${x}" y1="${y + 3}" x2="${x}" y2="${y + CHART.lane - 3}" class="revocation"><title>${esc(`${a.kind} at ${time(a.at)}`)}</title></line></a>`;
    })
    .join('');
}

/** Findings as markers coloured and lettered by severity, above the sessions; markers that would overlap move aside. */
function findingMarkers(findings: ReportFinding[], segments: Segment[], laneY: (arn: string) => number | null): string {
  const last = new Map<number, number>();
  return findings
    .map((f, i) => {
      const y = laneY(f.roleArn);
      if (y === null || Number.isNaN(Date.parse(f.context.at))) return '';
      const x = Math.max(xOf(segments, Date.parse(f.context.at)), (last.get(y) ?? -Infinity) + 15);
      last.set(y, x);
      return `<a href="#finding-${i + 1}"><g class="finding ${esc(f.severity)}"><circle cx="${x}" cy="${y + 13}" r="8" fill="${COLOUR[f.severity]}"/><text x="${x}" y="${y + 17}" text-anchor="middle">${esc(f.severity.slice(0, 1).toUpperCase())}</text><title>${esc(`${f.severity} ${f.kind} at ${time(f.context.at)}: ${f.message}`)}</title></g></a>`;
    })
    .join('');
}

function legend(): string {
  return `<div class="legend"><span class="key"><span class="swatch session"></span>session (issued → expiry)</span><span class="key"><span class="swatch denied"></span>denied attempt</span>${SEVERITIES.map((s) => `<span class="key"><span class="dot" style="background:${COLOUR[s]}">${s[0]!.toUpperCase()}</span>${s} finding</span>`).join('')}<span class="key"><span class="swatch revoke"></span>revocation</span><span class="key"><span class="swatch cut"></span>idle time cut out</span></div>`;
}

/** Swimlanes per role: sessions as bars, findings as markers, revocations as lines, on an axis with idle time cut. */
function timeline(input: HtmlReportInput): string {
  const spans = intervals(input.report);
  if (spans.length === 0) return empty('No session or finding to draw.');
  const all = lanes(input);
  const index = new Map(all.map((l, i) => [l.key, CHART.top + i * CHART.lane]));
  const laneY = (arn: string) => index.get(roleKey(arn)) ?? null;
  const segments = layout(spans);
  const bottom = CHART.top + all.length * CHART.lane;
  const step = Math.ceil(input.report.sessions.length / MAX_BARS);
  const notes = [
    step > 1
      ? `${input.report.sessions.length} sessions: one in ${step} is drawn; every finding and revocation is.`
      : '',
    all.length === MAX_LANES ? `Only the first ${MAX_LANES} roles are drawn.` : '',
  ].filter(Boolean);
  const chart = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${CHART.width} ${bottom + CHART.bottom}" width="100%" role="img" aria-label="Sessions over time per role">${laneRows(all)}${axis(segments, bottom)}${sessionBars(input.report, segments, laneY)}${revocationLines(input.report.actions, segments, laneY)}${findingMarkers(input.report.findings, segments, laneY)}</svg>`;
  return `${legend()}${notes.map(empty).join('')}${chart}`;
}

function summary(input: HtmlReportInput): string {
  const { report } = input;
  const s = report.summary;
  const critical = report.findings.filter((f) => f.severity === 'critical').length;
  const revs = report.actions.filter(isRevocation).length;
  const cards: [string, number, boolean][] = [
    ['events read', s.eventsRead, false],
    ['sessions recorded', s.recorded, false],
    ['findings', s.findings, s.findings > 0],
    ['critical', critical, critical > 0],
    ['revocations', revs, revs > 0],
    ['duplicates', s.duplicates, false],
    ['ignored', s.ignored, false],
    ['rejected', s.rejected, s.rejected > 0],
  ];
  const count = (arn: string, list: { roleArn: string }[]) =>
    list.filter((x) => roleKey(x.roleArn) === roleKey(arn)).length;
  const rows = input.registry.roles.map(
    (r) =>
      `<tr><td>${esc(r.vendor)}</td><td class="wrap">${esc(r.roleArn)}</td><td>${esc(r.response)}${r.dryRun ? ' (dry run)' : ''}</td><td class="wrap">${esc(r.trustedAccounts.join(', '))}</td><td>${count(r.roleArn, report.sessions)}</td><td>${count(r.roleArn, report.findings)}</td><td>${count(r.roleArn, report.actions.filter(isRevocation))}</td></tr>`,
  );
  const registry = rows.length
    ? table(['vendor', 'guarded role', 'response', 'trusted accounts', 'sessions', 'findings', 'revocations'], rows)
    : empty('No role is registered: sessions were recorded, and nothing was detected.');
  return `<div class="cards">${cards.map(([label, n, alarm]) => `<div class="card${alarm ? ' alarm' : ''}"><b>${n}</b><span>${label}</span></div>`).join('')}</div><h3>Registry</h3>${registry}`;
}

function findingsTable(report: ReplayReport): string {
  if (report.findings.length === 0) return empty('No findings.');
  const revs = report.actions.filter(isRevocation);
  const rows = report.findings.map((f, i) => {
    const r = revs.findIndex((a) => a.eventId === f.eventId);
    const response =
      r >= 0
        ? `<a href="#revocation-${r + 1}">${revs[r]!.kind === 'revoke-role' ? 'role revoked' : 'session revoked'}</a>`
        : 'alerted';
    return `<tr id="finding-${i + 1}"><td>${esc(time(f.context.at))}</td><td><span class="sev" style="background:${COLOUR[f.severity]}">${esc(f.severity)}</span></td><td class="wrap msg"><b>${esc(f.kind)}</b><br>${esc(f.message)}</td><td>${esc(shortRole(f.roleArn))}</td><td title="${esc([f.context.callerArn, f.context.userAgent].filter(Boolean).join('\n'))}">${esc(f.callerAccountId ?? f.context.callerType)}<br><span class="muted">${esc(f.context.sourceIpAddress ?? '–')}</span></td><td class="wrap">${esc(clip(f.context.roleSessionName ?? '–', 64))}</td><td>${esc(f.context.externalId ?? '–')}</td><td>${response}</td></tr>`;
  });
  return table(
    ['when', 'severity', 'what happened', 'role', 'caller, source IP', 'session', 'external ID', 'response'],
    rows,
  );
}

function revocations(report: ReplayReport): string {
  const revs = report.actions.filter(isRevocation);
  if (revs.length === 0) return empty('No revocation would have happened.');
  const statements = (doc: unknown) =>
    Array.isArray((doc as { Statement?: unknown } | null)?.Statement)
      ? (doc as { Statement: unknown[] }).Statement.length
      : 0;
  // The first ones are open: the policy is what a reader came for.
  return revs
    .map((a, i) => {
      const f = report.findings.findIndex((x) => x.eventId === a.eventId);
      const cause = f >= 0 ? ` after <a href="#finding-${f + 1}">${esc(report.findings[f]!.kind)}</a>` : '';
      return `<details id="revocation-${i + 1}"${i < 5 ? ' open' : ''}><summary><b>${esc(a.kind)}</b> of ${esc(shortRole(a.roleArn))} at ${esc(time(a.at))}${cause} · <span class="${a.applied ? 'applied' : 'dry'}">${a.applied ? 'written to IAM' : 'not written (dry run)'}</span></summary><p class="muted">Event ${esc(a.eventId)}. The role's whole inline policy ${esc(a.policyName ?? 'roleguard-revocations')} after this revocation (${plural(statements(a.policyDocument), 'statement')}):</p><pre>${esc(JSON.stringify(a.policyDocument ?? null, null, 2))}</pre></details>`;
    })
    .join('');
}

/** When a role's next rotation is due, or why there is no date, as HTML (escaped here). */
function due(role: RegisteredRole, r: Rotation | null, now: string): string {
  if (!role.rotation) return 'no schedule';
  if (!r) return 'not yet dated';
  if (IN_FLIGHT.includes(r.phase)) return `in flight (deadline ${esc(time(r.deadlineAt))})`;
  const at = nextRotationDue(role, r);
  return at ? `${esc(time(at))}${at < now ? ' · <span class="late">overdue</span>' : ''}` : '–';
}

function rotationsTable(input: HtmlReportInput): string {
  const byRole = new Map(input.rotations.map((r) => [r.roleArn, r]));
  const rows = input.registry.roles
    .filter((role) => role.rotation || byRole.has(role.roleArn))
    .map((role) => {
      const r = byRole.get(role.roleArn) ?? null;
      const state = !r
        ? 'no rotation recorded yet (the first scheduled run dates it)'
        : `${r.phase} since ${time(r.startedAt && IN_FLIGHT.includes(r.phase) ? r.startedAt : r.since)}`;
      return `<tr><td>${esc(role.vendor)}</td><td>${esc(shortRole(role.roleArn))}</td><td>${role.rotation ? `every ${role.rotation.everyDays} days, ${role.rotation.graceDays} days' grace` : 'by hand'}</td><td class="wrap">${esc(state)}</td><td>${due(role, r, input.generatedAt)}</td></tr>`;
    });
  const schedule = rows.length
    ? table(['vendor', 'role', 'schedule', 'state', 'next due'], rows)
    : empty('No role has a rotation schedule.');
  const flying = input.rotations
    .filter((r) => IN_FLIGHT.includes(r.phase))
    .map((r) => {
      const late = r.deadlineAt && r.deadlineAt < input.generatedAt ? ' · <span class="late">passed</span>' : '';
      return `<tr><td>${esc(shortRole(r.roleArn))}</td><td><b>${esc(r.phase)}</b></td><td>${esc(time(r.startedAt))}</td><td>${esc(maskExternalId(r.previousId) ?? '–')} → ${esc(maskExternalId(r.pendingId) ?? '–')}</td><td>${esc(time(r.deadlineAt))}${late}</td></tr>`;
    });
  const inFlight = flying.length
    ? table(['role', 'phase', 'started', 'external ID (old → new)', 'vendor must switch by'], flying)
    : empty('No rotation in flight.');
  return `<h3>Schedule</h3>${schedule}<h3>In flight</h3>${inFlight}`;
}

function rejectedTable(report: ReplayReport): string {
  if (report.rejected.length === 0) return empty('Nothing was rejected.');
  const rows = report.rejected
    .slice(0, 500)
    .map((r) => `<tr><td class="wrap">${esc(r.source)}</td><td class="wrap">${esc(r.reason)}</td></tr>`);
  const more = report.rejected.length > 500 ? `<p>… and ${report.rejected.length - 500} more (see --json).</p>` : '';
  return `${table(['source', 'reason'], rows)}${more}`;
}

const STYLE = `
body{font:14px/1.45 system-ui,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0;color:#1c2330;background:#f2f4f8}
header{background:#1c2330;color:#fff;padding:18px 32px}header h1{margin:0 0 4px;font-size:24px}header p{margin:0;color:#c5cbd6}
main{padding:8px 32px 40px;max-width:1400px}a{color:#1857b8}
section{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.12);padding:14px 20px;margin:16px 0;overflow-x:auto}
h2{font-size:18px;margin:0 0 10px}h3{font-size:14px;margin:14px 0 6px;color:#3b4556}
.cards{display:flex;gap:10px}.card{flex:1 1 0;background:#f6f8fb;border:1px solid #e3e7ee;border-radius:8px;padding:8px 14px}
.card b{display:block;font-size:26px}.card span{color:#5b6577;white-space:nowrap}.card.alarm b{color:#c62828}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border-bottom:1px solid #e3e7ee;padding:6px 8px;text-align:left;vertical-align:top;white-space:nowrap}
td.wrap{white-space:normal;overflow-wrap:anywhere;min-width:120px}td.msg{min-width:300px}th{background:#eef1f6}
.sev{color:#fff;border-radius:3px;padding:1px 6px;font-weight:600}.applied{color:#c62828;font-weight:600}.dry{color:#5b6577}
pre{background:#f1f3f7;padding:10px;border-radius:6px;overflow:auto;font-size:12px;margin:4px 0 12px}details{margin:6px 0}summary{cursor:pointer}
.legend{display:flex;flex-wrap:wrap;gap:18px;margin-bottom:6px;color:#3b4556}.key{display:inline-flex;align-items:center;gap:6px}
.swatch{display:inline-block;width:22px;height:12px;border-radius:2px}.swatch.session{background:#7b8aa3}.swatch.denied{box-sizing:border-box;border:2px solid #c62828}
.swatch.revoke{width:3px;height:18px;background:#6a1b9a}.swatch.cut{background:repeating-linear-gradient(135deg,#d5dae3 0 3px,#fff 3px 6px)}
.dot{display:inline-block;width:16px;height:16px;border-radius:50%;color:#fff;font:700 10px/16px sans-serif;text-align:center}
svg text{font-size:12px;fill:#5b6577}svg .lane{fill:#fff}svg .lane.odd{fill:#f6f8fb}svg .grid{stroke:#e1e5ec}svg .date{font-weight:700;fill:#3b4556}
svg .role{font-size:13px;fill:#5b6577}svg .role.guarded{font-weight:700;fill:#1c2330}svg .note{font-size:11px;fill:#8a93a3}
svg .cut{fill:#eceff4;stroke:#c5cbd6;stroke-dasharray:3 3}svg .cutlabel{font-size:11px;font-style:italic}
svg .session{fill:#7b8aa3}svg .session.denied{fill:#fff;stroke:#c62828;stroke-width:2}
svg .finding circle{stroke:#fff;stroke-width:1.5}svg .finding text{fill:#fff;font:700 10px sans-serif}svg .revocation{stroke:#6a1b9a;stroke-width:3}
.late{color:#c62828;font-weight:600}.empty,.muted{color:#5b6577}.empty{font-style:italic}`;

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
 * The backtest report as one self-contained HTML page: no script, font, image or request outside it. Everything
 * from events is escaped; external IDs are shown masked. Pure: the same input gives the same page.
 */
export function renderHtmlReport(input: HtmlReportInput): string {
  const { report } = input;
  const title = esc(input.title ?? 'roleguard backtest');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${title}</title><style>${STYLE}</style></head>
<body><header><h1>${title}</h1><p>${subtitle(input)}</p></header>
<main>
<section id="summary"><h2>Summary</h2>${summary(input)}</section>
<section id="timeline"><h2>Sessions over time, per role</h2>${timeline(input)}</section>
<section id="findings"><h2>Findings (${report.findings.length})</h2>${findingsTable(report)}</section>
<section id="revocations"><h2>Revocations that would have happened (${report.actions.filter(isRevocation).length})</h2>${revocations(report)}</section>
<section id="rotations"><h2>External-ID rotations</h2>${rotationsTable(input)}</section>
<section id="rejected"><h2>Rejected inputs (${report.rejected.length})</h2>${rejectedTable(report)}</section>
</main></body></html>
`;
}
