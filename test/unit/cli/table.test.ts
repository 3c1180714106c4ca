import { describe, expect, it } from '@jest/globals';
import { renderTable, shortRoleNames, terminalWidth } from '../../../cli/table.js';

const widest = (table: string) => Math.max(...table.split('\n').map((l) => l.length));

describe('renderTable', () => {
  const reason =
    'Statement[1] lets account 222233334444 assume the role without an external ID, bypassing the condition that other statements require';
  const rows = [['CostToolReadOnly', 'CostTool, a vendor with a long name', 'critical', 'ct-o…#6e220b6a', reason]];
  const columns = [
    { header: 'role', keep: true },
    { header: 'vendor', min: 10 },
    { header: 'severity', keep: true },
    { header: 'id', keep: true },
    { header: 'detail', wrap: true, min: 20 },
  ];

  it('fits the width: folds the reason whole, cuts an ordinary column, never touches a kept one', () => {
    const table = renderTable(columns, rows, { width: 80 });
    expect(widest(table)).toBeLessThanOrEqual(80);
    expect(table).toMatch(/^CostToolReadOnly {2}CostTool, a v… {2}critical {2}ct-o…#6e220b6a {2}Statement/m);
    const lines = table.split('\n');
    const at = lines[0]!.indexOf('detail');
    expect(
      lines
        .slice(2)
        .map((l) => l.slice(at).trim())
        .join(' '),
    ).toBe(reason);
  });

  it('leaves a table that fits as it is, and leaves out optional columns (saying so) when it cannot fit', () => {
    expect(renderTable(['a', 'b'], [['x', 'y']], { width: 80 })).toBe('a  b\n-  -\nx  y');
    const table = renderTable(
      [...columns, { header: 'source IP', keep: true, optional: true }],
      [[...rows[0]!, '203.0.113.10']],
      { width: 80 },
    );
    expect(widest(table)).toBeLessThanOrEqual(80);
    expect(table).not.toContain('203.0.113.10');
    expect(table.split('\n').at(-1)).toBe('(left out to fit 80 columns: source IP; --json has every field)');
    expect(
      renderTable([...columns, { header: 'source IP', optional: true }], [[...rows[0]!, '1.2.3.4']], { width: 300 }),
    ).toContain('1.2.3.4');
  });

  it('breaks a long kind after a hyphen and glues it back, and replaces control characters', () => {
    const table = renderTable(
      [{ header: 'kind', wrap: true, min: 14 }, 'x'],
      [['weak-external-id-condition', '\u001b[2J']],
      {
        width: 20,
      },
    );
    expect(table).toMatch(/^weak-external- {2}\?\[2J\nid-condition$/m);
    expect(table).not.toContain('weak- external');
  });

  it('uses short role names where they are unambiguous, and the terminal width, $COLUMNS, else 100', () => {
    const names = shortRoleNames([
      'arn:aws:iam::111122223333:role/vendors/A',
      'arn:aws:iam::111122223333:role/B',
      'arn:aws:iam::444455556666:role/B',
    ]);
    expect([...names.values()]).toEqual(['A', '111122223333/B', '444455556666/B']);
    const saved = process.env.COLUMNS;
    try {
      process.env.COLUMNS = '132';
      expect(terminalWidth()).toBe(process.stdout.isTTY ? process.stdout.columns : 132);
      delete process.env.COLUMNS;
      if (!process.stdout.isTTY) expect(terminalWidth()).toBe(100);
    } finally {
      if (saved === undefined) delete process.env.COLUMNS;
      else process.env.COLUMNS = saved;
    }
  });
});
