import type { Action } from '../../alert/index.js';
import { parseRoleArn } from '../../cloudtrail/arn.js';
import type { ReportFinding } from '../report.js';

/** A finding's severity, worst first in {@link SEVERITIES}. */
export type Severity = ReportFinding['severity'];
export const SEVERITIES: Severity[] = ['critical', 'high', 'medium', 'low'];
export const COLOUR: Record<Severity, string> = {
  critical: '#c62828',
  high: '#e65100',
  medium: '#b7860b',
  low: '#1565c0',
};
export const DAY_MS = 86_400_000;

/** HTML-escape text and attribute values: everything from events is attacker-chosen. */
export function esc(value: unknown): string {
  return (
    String(value ?? '')
      .replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`)
      // Control characters and bidirectional overrides (which could make text read backwards) are shown as '?'.
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u202a-\u202e\u2066-\u2069]/g, '?')
  );
}

/** A revocation (not a plain alert). */
export const isRevocation = (a: Action): boolean => a.kind !== 'alert';
/** A role's name, without account and path. */
export const shortRole = (arn: string): string => parseRoleArn(arn)?.roleName ?? arn;
/** A role by account and name: a denied assume's ARN (read from its error message) may lack the role's path. */
export const roleKey = (arn: string): string => {
  let key = keys.get(arn);
  if (key === undefined) {
    const parts = parseRoleArn(arn);
    key = parts ? `${parts.accountId}:${parts.roleName}` : arn;
    // A month of sessions names a handful of roles: remembered, each is parsed once (the memory stays bounded).
    if (keys.size > 10_000) keys.clear();
    keys.set(arn, key);
  }
  return key;
};
const keys = new Map<string, string>();
/** Text cut to n characters, with an ellipsis. */
export const clip = (text: string, n: number): string => (text.length > n ? `${text.slice(0, n - 1)}…` : text);
/** A number to one decimal. */
export const num = (n: number): number => Math.round(n * 10) / 10;
/** An ISO instant as "YYYY-MM-DD hh:mm:ss UTC". */
export const time = (iso: string | null): string =>
  iso ? `${iso.replace('T', ' ').replace(/(:\d\d)(\.\d+)?Z$/, '$1')} UTC` : '–';
export const iso = (t: number): string => new Date(t).toISOString();
/** A count with thousands separators, the same on every machine ("2,452,800"). */
export const count = (n: number): string => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
/** "1 vendor", "2 vendors". */
export const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
/** A table of already-escaped cells. */
export const table = (head: string[], rows: string[]): string =>
  `<table><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
/** A line saying there is nothing to show. */
export const empty = (text: string): string => `<p class="empty">${text}</p>`;
/** Locale-independent string order. */
export const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
/** A list shown as its first few items and how many more. */
export const some = (items: string[], n = 5): string =>
  items.length > n ? `${items.slice(0, n).join(', ')} and ${items.length - n} more` : items.join(', ');

/** A duration in the largest unit that reads naturally ("3 h", "41 days", "2.4 years"). */
export function duration(ms: number): string {
  const units: [number, string][] = [
    [365.25 * DAY_MS, 'years'],
    [DAY_MS, 'days'],
    [3_600_000, 'h'],
    [60_000, 'min'],
  ];
  const [size, unit] = units.find(([size], i) => ms >= size * (i === 0 ? 1 : 2)) ?? units[3]!;
  return `${ms / size >= 10 ? Math.round(ms / size) : num(ms / size)} ${unit}`;
}

/** At most this many revocations are listed one by one. */
export const MAX_REVOCATION_ROWS = 200;
/** The anchor of the r-th revocation (from 0): its row, or the section when it is past the listed ones. */
export const revocationAnchor = (r: number): string =>
  r < MAX_REVOCATION_ROWS ? `revocation-${r + 1}` : 'revocations';
