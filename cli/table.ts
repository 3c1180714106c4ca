/** Render rows as a plain aligned text table (no colours, so it pastes cleanly into a ticket). */
export function renderTable(headers: string[], rows: (string | number | null)[][], maxWidth = 48): string {
  const cell = (v: string | number | null): string => {
    // eslint-disable-next-line no-control-regex -- event data must not move the cursor or ring the terminal
    const text = v === null ? '-' : String(v).replace(/[\x00-\x1f\x7f]/g, '?');
    return text.length > maxWidth ? `${text.slice(0, maxWidth - 1)}…` : text;
  };
  const body = rows.map((r) => r.map(cell));
  const widths = headers.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}
