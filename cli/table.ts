import { parseRoleArn } from '../lib/cloudtrail/arn.js';

/**
 * A column: `keep` is never cut (a masked ID, a state), `wrap` folds onto more lines instead of being cut (a reason),
 * any other column is cut with `…` down to `min` characters when the table is wider than the terminal.
 */
export interface Column {
  header: string;
  keep?: boolean;
  wrap?: boolean;
  min?: number;
  /** Left out (and named under the table) when the table cannot fit otherwise; later optional columns go first. */
  optional?: boolean;
}

type Cell = string | number | null;

/** The width tables are fitted to: the terminal's, else $COLUMNS, else 100. */
export function terminalWidth(): number {
  if (process.stdout.isTTY && process.stdout.columns > 0) return process.stdout.columns;
  const env = Number(process.env.COLUMNS);
  return Number.isInteger(env) && env >= 20 ? env : 100;
}

/** The shortest unambiguous form of each role ARN in a list: the name, else account/name, else the ARN. */
export function shortRoleNames(arns: string[]): Map<string, string> {
  const unique = [...new Set(arns)];
  const out = new Map<string, string>();
  const forms = [
    (a: string) => parseRoleArn(a)?.roleName ?? a,
    (a: string) => {
      const p = parseRoleArn(a);
      return p ? `${p.accountId}/${p.roleName}` : a;
    },
  ];
  for (const arn of unique) {
    const form = forms.find((f) => unique.filter((other) => f(other) === f(arn)).length === 1);
    out.set(arn, form ? form(arn) : arn);
  }
  return out;
}

// Event data must not move the cursor or ring the terminal.
const clean = (v: Cell): string => (v === null ? '-' : String(v).replace(/[\x00-\x1f\x7f]/g, '?'));

function wrapText(text: string, width: number): string[] {
  // Break at spaces, and after a hyphen inside a long word (a finding kind); a piece after a hyphen is glued on.
  const pieces = text
    .split(' ')
    .flatMap((w) =>
      w.length > width ? w.split(/(?<=-)/).map((p, i) => ({ p, glue: i > 0 })) : [{ p: w, glue: false }],
    );
  const lines: string[] = [];
  let line = '';
  for (const { p, glue } of pieces) {
    const sep = line && !glue ? ' ' : '';
    if (line && line.length + sep.length + p.length > width) {
      lines.push(line);
      line = '';
    }
    let rest = line ? `${line}${sep}${p}` : p;
    while (rest.length > width) {
      lines.push(rest.slice(0, width));
      rest = rest.slice(width);
    }
    line = rest;
  }
  if (line || lines.length === 0) lines.push(line);
  return lines;
}

/**
 * Render rows as a plain aligned text table (no colours, so it pastes cleanly into a ticket), fitted to `width`
 * (default: the terminal's): wrap columns fold, ordinary ones are cut from the widest down, kept ones never change.
 * A number instead of options is the older per-cell limit (cells longer than it are cut), and no fitting.
 */
export function renderTable(
  columns: (string | Column)[],
  rows: Cell[][],
  options: number | { width?: number } = {},
): string {
  // The older form (a per-cell limit) keeps its old layout: its callers chose their limits for it.
  const width = typeof options === 'number' ? Number.POSITIVE_INFINITY : (options.width ?? terminalWidth());
  const cellMax = typeof options === 'number' ? options : Number.POSITIVE_INFINITY;
  let cols: Column[] = columns.map((c) => (typeof c === 'string' ? { header: c } : c));
  let body = rows.map((r) =>
    cols.map((_, i) => {
      const text = clean(r[i] ?? null);
      return text.length > cellMax ? `${text.slice(0, cellMax - 1)}…` : text;
    }),
  );
  let natural = cols.map((c, i) => Math.max(c.header.length, ...body.map((r) => r[i]!.length)));
  const floorOf = (c: Column, i: number) =>
    c.keep ? natural[i]! : Math.min(natural[i]!, Math.max(c.min ?? (c.wrap ? 20 : 8), c.header.length));
  const dropped: string[] = [];
  // Leave out optional columns, the last first, while even the narrowest table would not fit.
  for (;;) {
    const narrowest = cols.reduce((sum, c, i) => sum + floorOf(c, i), 0) + 2 * (cols.length - 1);
    const last = cols.map((c) => c.optional === true).lastIndexOf(true);
    if (narrowest <= width || last < 0) break;
    dropped.unshift(cols[last]!.header);
    const keep = (_: unknown, i: number) => i !== last;
    cols = cols.filter(keep);
    body = body.map((r) => r.filter(keep));
    natural = natural.filter(keep);
  }
  const widths = [...natural];
  const floor = (i: number) => floorOf(cols[i]!, i);
  let excess = widths.reduce((a, b) => a + b, 0) + 2 * (cols.length - 1) - width;
  while (excess > 0) {
    // Take one character at a time from the widest column that can still give one up.
    let pick = -1;
    for (let i = 0; i < cols.length; i++)
      if (widths[i]! > floor(i) && (pick < 0 || widths[i]! > widths[pick]!)) pick = i;
    if (pick < 0) break;
    widths[pick]!--;
    excess--;
  }
  const lines: string[] = [];
  const line = (cells: string[]) =>
    lines.push(
      cells
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    );
  line(cols.map((c) => c.header));
  line(widths.map((w) => '-'.repeat(w)));
  for (const r of body) {
    const parts = r.map((text, i) => {
      const w = widths[i]!;
      if (text.length <= w) return [text];
      if (cols[i]!.wrap) return wrapText(text, w);
      return [`${text.slice(0, w - 1)}…`];
    });
    const height = Math.max(...parts.map((p) => p.length));
    for (let k = 0; k < height; k++) line(parts.map((p) => p[k] ?? ''));
  }
  if (dropped.length) lines.push(`(left out to fit ${width} columns: ${dropped.join(', ')}; --json has every field)`);
  return lines.join('\n');
}
