import type { Action } from '../../alert/index.js';
import type { ReplayReport, ReportFinding } from '../report.js';
import { AXIS_END, axis, CHART, endOf, intervals, layout, type Segment, xOf } from './axis.js';
import {
  byText,
  COLOUR,
  clip,
  empty,
  esc,
  isRevocation,
  num,
  revocationAnchor,
  roleKey,
  SEVERITIES,
  shortRole,
  time,
} from './format.js';
import type { HtmlReportInput } from './types.js';

interface Lane {
  key: string;
  label: string;
  note: string;
  guarded: boolean;
}
type LaneY = (arn: string) => number | null;

/** At most this many session bars are drawn, so a month of logs still gives a page a browser opens quickly. */
const MAX_BARS = 3000;
const MAX_LANES = 40;
/** Markers closer than this on one lane are drawn as one, with their count. */
const MARKER_ROOM = 18;

/** The lanes: guarded roles first, then the others seen in the events. */
function lanes(input: HtmlReportInput): Lane[] {
  const registered = new Map(input.registry.roles.map((r) => [roleKey(r.roleArn), r]));
  const seen = new Map(
    [...input.report.findings, ...input.report.sessions].map((x) => [roleKey(x.roleArn), x.roleArn]),
  );
  return [...new Set([...registered.keys(), ...seen.keys()])]
    .map((key) => ({
      key,
      label: clip(shortRole(registered.get(key)?.roleArn ?? seen.get(key) ?? key), 30),
      note: registered.get(key)?.vendor ?? `not guarded · ${key.split(':')[0]}`,
      guarded: registered.has(key),
    }))
    .sort((a, b) => Number(b.guarded) - Number(a.guarded) || byText(a.label, b.label))
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

function sessionBars(report: ReplayReport, segments: Segment[], laneY: LaneY): string {
  const step = Math.max(1, Math.ceil(report.sessions.length / MAX_BARS));
  return report.sessions
    .filter((_, i) => i % step === 0)
    .map((s) => {
      const y = laneY(s.roleArn);
      if (y === null || Number.isNaN(Date.parse(s.issuedAt))) return '';
      const x1 = xOf(segments, Date.parse(s.issuedAt));
      const x2 = Math.min(Math.max(xOf(segments, endOf(s)), x1 + 3), AXIS_END);
      const tip = `${s.outcome === 'denied' ? 'DENIED ' : ''}${s.roleSessionName ?? '(no session name)'} · ${s.callerAccountId ?? s.callerType} · ${time(s.issuedAt)}`;
      return `<rect x="${num(Math.min(x1, x2 - 3))}" y="${y + 24}" width="${num(Math.max(x2 - x1, 3))}" height="12" rx="2" class="${s.outcome === 'denied' ? 'session denied' : 'session'}"><title>${esc(tip)}</title></rect>`;
    })
    .join('');
}

function revocationLines(actions: Action[], segments: Segment[], laneY: LaneY): string {
  return actions
    .filter(isRevocation)
    .map((a, i) => {
      const y = laneY(a.roleArn);
      if (y === null || Number.isNaN(Date.parse(a.at))) return '';
      const x = xOf(segments, Date.parse(a.at));
      return `<a href="#${revocationAnchor(i)}"><line x1="${x}" y1="${y + 3}" x2="${x}" y2="${y + CHART.lane - 3}" class="revocation"><title>${esc(`${a.kind} at ${time(a.at)}`)}</title></line></a>`;
    })
    .join('');
}

/**
 * Findings as markers coloured by severity, above the sessions. Markers that would overlap on a lane become one,
 * coloured by the worst and showing how many it holds: thousands of findings never push a marker past the axis.
 */
function findingMarkers(
  findings: ReportFinding[],
  segments: Segment[],
  laneY: LaneY,
  anchor: (finding: number) => string,
): string {
  const placed = findings
    .map((f, i) => ({ f, i, y: laneY(f.roleArn), t: Date.parse(f.context.at) }))
    .filter((m): m is typeof m & { y: number } => m.y !== null && !Number.isNaN(m.t))
    .map((m) => ({ ...m, x: xOf(segments, m.t) }))
    .sort((a, b) => a.y - b.y || a.x - b.x || a.i - b.i);
  const clusters: { x: number; y: number; members: typeof placed }[] = [];
  for (const m of placed) {
    const last = clusters[clusters.length - 1];
    if (last && last.y === m.y && m.x - last.x < MARKER_ROOM) last.members.push(m);
    else clusters.push({ x: m.x, y: m.y, members: [m] });
  }
  return clusters
    .map(({ x, y, members }) => {
      const first = members[0]!;
      const worst = SEVERITIES.find((s) => members.some((m) => m.f.severity === s)) ?? first.f.severity;
      const label =
        members.length === 1 ? worst[0]!.toUpperCase() : members.length > 99 ? '99+' : String(members.length);
      const tip =
        members.length === 1
          ? `${worst} ${first.f.kind} at ${time(first.f.context.at)}: ${first.f.message}`
          : `${members.length} findings (${SEVERITIES.map(
              (s) => [s, members.filter((m) => m.f.severity === s).length] as const,
            )
              .filter(([, n]) => n > 0)
              .map(([s, n]) => `${n} ${s}`)
              .join(', ')}) from ${time(first.f.context.at)} to ${time(members[members.length - 1]!.f.context.at)}`;
      const r = members.length === 1 ? 8 : 9;
      return `<a href="#${anchor(first.i)}"><g class="finding ${esc(worst)}"><circle cx="${x}" cy="${y + 13}" r="${r}" fill="${COLOUR[worst]}"/><text x="${x}" y="${y + 17}" text-anchor="middle"${label.length > 2 ? ' class="many"' : ''}>${label}</text><title>${esc(tip)}</title></g></a>`;
    })
    .join('');
}

function legend(): string {
  return `<div class="legend"><span class="key"><span class="swatch session"></span>session (issued → expiry)</span><span class="key"><span class="swatch denied"></span>denied attempt</span>${SEVERITIES.map((s) => `<span class="key"><span class="dot" style="background:${COLOUR[s]}">${s[0]!.toUpperCase()}</span>${s} finding</span>`).join('')}<span class="key"><span class="dot" style="background:#5b6577">7</span>findings too close to draw apart, by count</span><span class="key"><span class="swatch revoke"></span>revocation</span><span class="key"><span class="swatch cut"></span>idle time cut out</span></div>`;
}

/** Swimlanes per role: sessions as bars, findings as markers, revocations as lines, on an axis with idle time cut. */
export function timeline(input: HtmlReportInput, anchor: (finding: number) => string): string {
  const spans = intervals(input.report);
  if (spans.length === 0) return empty('No session or finding to draw.');
  const all = lanes(input);
  const index = new Map(all.map((l, i) => [l.key, CHART.top + i * CHART.lane]));
  const laneY = (arn: string) => index.get(roleKey(arn)) ?? null;
  const segments = layout(spans);
  const bottom = CHART.top + all.length * CHART.lane;
  const { sessions, findings, actions } = input.report;
  const step = Math.ceil(sessions.length / MAX_BARS);
  const notes = [
    step > 1 ? `${sessions.length} sessions: one in ${step} is drawn; every finding and revocation is.` : '',
    all.length === MAX_LANES ? `Only the first ${MAX_LANES} roles are drawn.` : '',
  ].filter(Boolean);
  const chart = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${CHART.width} ${bottom + CHART.bottom}" width="100%" role="img" aria-label="Sessions over time per role">${laneRows(all)}${axis(segments, bottom)}${sessionBars(input.report, segments, laneY)}${revocationLines(actions, segments, laneY)}${findingMarkers(findings, segments, laneY, anchor)}</svg>`;
  return `${legend()}${notes.map(empty).join('')}${chart}`;
}
