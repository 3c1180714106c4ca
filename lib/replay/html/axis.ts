import type { ReplayReport } from '../report.js';
import { DAY_MS, duration, iso, num } from './format.js';

/** The chart's geometry, in SVG units. The plot runs from `left` to `width - right`. */
export const CHART = { width: 1240, left: 250, right: 24, top: 34, lane: 44, gap: 30, bottom: 40 };
/** Where the time axis ends: nothing is drawn to the right of it. */
export const AXIS_END = CHART.width - CHART.right;

/** A period of activity and where it sits on the plot. */
export interface Segment {
  from: number;
  to: number;
  x: number;
  width: number;
}

/** STS issues credentials for 12 hours at most: a longer recorded lifetime is drawn to that length. */
const MAX_SESSION_MS = 12 * 3_600_000;
/** Idle gaps shorter than this are never cut out of the axis. */
const MIN_CUT_MS = 6 * 3_600_000;

/** A stretch of the clock something occupies, and how much it matters for the room it gets on the axis. */
export type Span = [from: number, to: number, weight: number];

/** When a session's bar ends: its expiry, within STS's longest lifetime (an unknown expiry draws a sliver). */
export function endOf(s: { issuedAt: string; expiresAt: string | null }): number {
  const start = Date.parse(s.issuedAt);
  const end = s.expiresAt ? Date.parse(s.expiresAt) : NaN;
  return Number.isNaN(end) ? start : Math.max(start, Math.min(end, start + MAX_SESSION_MS));
}

/** What each session, finding and action occupies on the clock, in time order. */
export function intervals(report: ReplayReport): Span[] {
  const sessions = report.sessions.map((s): Span => [Date.parse(s.issuedAt), endOf(s), 1]);
  const points = [...report.findings.map((f) => f.context.at), ...report.actions.map((a) => a.at)].map(
    (at): Span => [Date.parse(at), Date.parse(at), 4],
  );
  return [...sessions, ...points].filter(([a, b]) => !Number.isNaN(a) && !Number.isNaN(b)).sort((a, b) => a[0] - b[0]);
}

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
export function layout(spans: Span[]): Segment[] {
  const found = periods(spans);
  const pad = (p: { from: number; to: number }) => Math.max((p.to - p.from) * 0.03, 60_000);
  const padded = found.map((p) => ({ from: p.from - pad(p), to: p.to + pad(p), items: p.items }));
  const plot = AXIS_END - CHART.left - (padded.length - 1) * CHART.gap;
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

/** The x of an instant: inside its period, or at the end of the period before an idle gap; never past the axis. */
export function xOf(segments: Segment[], t: number): number {
  const s = [...segments].reverse().find((seg) => t >= seg.from) ?? segments[0]!;
  return Math.min(num(s.x + ((Math.min(Math.max(t, s.from), s.to) - s.from) / (s.to - s.from)) * s.width), AXIS_END);
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
export function axis(segments: Segment[], bottom: number): string {
  const out: string[] = [`<line x1="${CHART.left}" y1="${bottom}" x2="${AXIS_END}" y2="${bottom}" class="axis"/>`];
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
