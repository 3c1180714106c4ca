import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { formatReplay } from '../../../cli/replay-text.js';
import { emptyReport } from '../../../lib/replay/report.js';

const OPTIONS = { embedded: true, endpoint: 'http://127.0.0.1:1', apply: false, guarded: 1 };
let columns: string | undefined;

beforeEach(() => {
  columns = process.env.COLUMNS;
  process.env.COLUMNS = '80';
});
afterEach(() => {
  if (columns === undefined) delete process.env.COLUMNS;
  else process.env.COLUMNS = columns;
});

/** The text of a wrapped column, joined back: what a reader can still read. */
const unwrapped = (text: string) => text.replace(/\s+/g, ' ');

describe('the replay text on an 80-column terminal', () => {
  it('wraps a finding and a rejection reason instead of cutting them', () => {
    const report = emptyReport();
    const message =
      "999988887777 assumed Example Corp's role with an unknown external ID ec-7…#75747556: the trust policy did not enforce the registered ID";
    report.findings.push({
      kind: 'unexpected-external-id',
      severity: 'critical',
      roleArn: 'arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit',
      eventId: 'e-1',
      assumedRoleId: null,
      callerAccountId: '999988887777',
      message,
      context: { at: '2026-11-02T10:00:00Z' },
    } as never);
    const reason =
      'AssumeRoleWithWebIdentity record is invalid: eventID: missing; eventTime: missing; eventSource: expected "sts.amazonaws.com"';
    report.rejected.push({ source: 'logs/a-rather-long-directory-name/and-a-long-file-name.json:3', reason });
    const text = formatReplay(report, OPTIONS);
    expect(unwrapped(text)).toContain(unwrapped(message));
    expect(unwrapped(text)).toContain(unwrapped(reason));
    // The findings and the rejections fit the terminal.
    const section = (title: string) => text.slice(text.indexOf(title)).split('\n\n')[0]!.split('\n');
    for (const line of [...section('Findings ('), ...section('Rejected (')])
      expect(line.length).toBeLessThanOrEqual(80);
    // Columns that cannot fit are left out and named; --json has them all.
    expect(text).toMatch(/left out to fit 80 columns: .*caller/);
    // On a wider terminal, the role's short name, unambiguous here, instead of its whole ARN.
    process.env.COLUMNS = '140';
    const wide = formatReplay(report, OPTIONS);
    expect(wide).toMatch(/ExampleCorpAudit/);
    expect(wide).not.toContain('arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit');
  });
});
