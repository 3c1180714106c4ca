import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { nextStepFor } from '../../../lib/alert/advice.js';
import { AXIS_END, CHART } from '../../../lib/replay/html/axis.js';
import { RUNBOOK_ANCHOR } from '../../../lib/replay/html/findings.js';
import { esc, type HtmlReportInput, renderHtmlReport } from '../../../lib/replay/html-report.js';
import { emptyReport } from '../../../lib/replay/report.js';
import { idleRotation } from '../../../lib/rotate/store.js';
import type { SessionView } from '../../../lib/sessions/index.js';
import { ROOT } from '../../helpers/fixtures.js';

const ROLE = 'arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit';
const OTHER = 'arn:aws:iam::111122223333:role/AcmeBackup';
const HOSTILE = '<img src=x onerror=alert(1)><!channel>';
const UA = `"><script>alert(2)</script>`;
const session = (over: Partial<SessionView>): SessionView => ({
  eventId: 'e1',
  eventName: 'AssumeRole',
  roleArn: ROLE,
  roleSessionName: HOSTILE,
  assumedRoleId: null,
  accessKeyId: 'ASIAEXAMPLE',
  callerAccountId: '999988887777',
  callerType: 'AWSAccount',
  externalId: 'tenant-4711-secret-id',
  sourceIpAddress: '198.51.100.7',
  issuedAt: '2026-11-02T10:00:00Z',
  expiresAt: '2026-11-02T11:00:00Z',
  outcome: 'success',
  recipientAccountId: '111122223333',
  callerArn: null,
  callerPrincipalId: null,
  sourceIdentity: null,
  userAgent: UA,
  awsRegion: 'us-east-1',
  sharedEventId: null,
  durationSeconds: null,
  errorCode: null,
  ...over,
});

function input(): HtmlReportInput {
  const report = emptyReport();
  report.summary = {
    eventsRead: 4,
    recorded: 3,
    duplicates: 0,
    ignored: 0,
    rejected: 1,
    findings: 1,
    actions: 2,
    trustPolicyChanges: 0,
  };
  report.sessions = [
    session({}),
    session({ eventId: 'e2', issuedAt: '2026-11-02T12:00:00Z', outcome: 'denied', expiresAt: null }),
    session({ eventId: 'e3', roleArn: OTHER, issuedAt: '2025-03-01T08:00:00Z' }),
  ];
  report.findings = [
    {
      kind: 'unexpected-external-id',
      severity: 'critical',
      roleArn: ROLE,
      eventId: 'e1',
      assumedRoleId: 'AROAEXAMPLE:x',
      callerAccountId: '999988887777',
      message: `assumed with ${HOSTILE}`,
      context: {
        recipientAccountId: '111122223333',
        vendor: 'Example Corp',
        at: '2026-11-02T10:00:00Z',
        callerArn: null,
        callerType: 'AWSAccount',
        sourceIpAddress: '198.51.100.7',
        roleSessionName: HOSTILE,
        externalId: 'tena…#75747556',
        userAgent: UA,
      },
    },
  ];
  report.actions = [
    {
      kind: 'alert',
      roleArn: ROLE,
      eventId: 'e1',
      at: '2026-11-02T10:00:03Z',
      policyName: null,
      policyDocument: null,
      applied: false,
    },
    {
      kind: 'revoke-session',
      roleArn: ROLE,
      eventId: 'e1',
      at: '2026-11-02T10:00:03Z',
      policyName: 'roleguard-revocations',
      policyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'S',
            Effect: 'Deny',
            Action: '*',
            Resource: '*',
            Condition: { StringEquals: { 'aws:userid': `AROAEXAMPLE:${HOSTILE}` } },
          },
        ],
      },
      applied: false,
    },
  ];
  report.rejected = [{ source: `bad-${HOSTILE}.json`, reason: `unknown event name "${HOSTILE}"` }];
  const role = (roleArn: string, vendor: string) => ({
    roleArn,
    vendor,
    trustedAccounts: ['999988887777'],
    externalIds: { current: 'ec-7Hq2vN9xK4pL8mR3', pending: null, retired: [] },
    response: 'revoke' as const,
    rotation: { everyDays: 90, graceDays: 7 },
  });
  const registry = {
    serviceRoleArns: [],
    protectedRoleArns: [],
    roles: [
      role(ROLE, 'Example <Corp>'),
      role(OTHER, 'Acme'),
      role('arn:aws:iam::111122223333:role/NewVendor', 'New Vendor'),
    ],
  };
  const inFlight = {
    ...idleRotation(ROLE, '2026-08-01T00:00:00.000Z'),
    version: 2,
    phase: 'notified' as const,
    pendingId: 'Zk3pQ8wE1rT6yU9iO2aS5dF7gH4jK0lM',
    previousId: 'ec-7Hq2vN9xK4pL8mR3',
    startedAt: '2026-11-01T00:00:00.000Z',
    deadlineAt: '2026-11-09T00:00:00.000Z',
  };
  return {
    report,
    registry,
    rotations: [inFlight, idleRotation(OTHER, '2026-07-01T00:00:00.000Z')],
    generatedAt: '2026-11-24T12:00:00.000Z',
  };
}

/** Every tag in the page: any markup that came from an event would show up here as a tag the renderer never writes. */
const tags = (html: string) => new Set([...html.matchAll(/<\/?([!a-zA-Z][\w-]*)/g)].map((m) => m[1]!.toLowerCase()));
const OWN_TAGS = [
  '!doctype',
  'html',
  'head',
  'meta',
  'title',
  'style',
  'body',
  'header',
  'h1',
  'h2',
  'h3',
  'p',
  'main',
  'section',
  'div',
  'span',
  'b',
  'br',
  'table',
  'thead',
  'tbody',
  'tr',
  'th',
  'td',
  'a',
  'details',
  'summary',
  'pre',
  'svg',
  'rect',
  'line',
  'text',
  'tspan',
  'circle',
  'g',
  'dl',
  'dt',
  'dd',
];

describe('the HTML backtest report', () => {
  const html = renderHtmlReport(input());

  it('escapes everything that came from events, in text and attributes: no markup, script or mention survives', () => {
    expect([...tags(html)].filter((t) => !OWN_TAGS.includes(t))).toEqual([]);
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<!channel>');
    expect(html).toContain('&#60;img src=x onerror=alert(1)&#62;&#60;!channel&#62;');
    expect(html).toContain('title="&#34;&#62;&#60;script&#62;alert(2)&#60;/script&#62;"');
    expect(html).toContain('Example &#60;Corp&#62;');
    expect(esc(`<a href="x" onclick='y'>\``)).toBe('&#60;a href=&#34;x&#34; onclick=&#39;y&#39;&#62;&#96;');
    expect(esc('a\u202ebc\u0007')).toBe('a?bc?');
  });

  it('is self-contained: no script, no external resource, a strict content security policy', () => {
    // Inside tags only: the escaped text of an event may well read "src=x". The only links: its own sections, and
    // the runbook (a link to follow, not a resource the page loads).
    expect(html).not.toMatch(/<[^>]*\ssrc=/i);
    expect(html).not.toMatch(/<[^>]*\shref=(?!"#|"docs\/runbook\.md#)/i);
    expect(html).not.toMatch(/<script|@import|url\(|@font-face/i);
    expect(html).toContain(`default-src 'none'`);
  });

  it('has every section: summary with the registry, timeline with markers, findings, revocations with policies, rotations, rejected', () => {
    for (const id of ['summary', 'timeline', 'findings', 'revocations', 'rotations', 'rejected'])
      expect(html).toContain(`<section id="${id}">`);
    expect(html).toContain(
      '2025-03-01 08:00:00 UTC – 2026-11-02 12:00:00 UTC · 3 guarded roles · dry run: nothing written to IAM · generated 2026-11-24 12:00:00 UTC',
    );
    expect(html).toMatch(/<svg [^>]*role="img"/);
    expect(html.match(/class="finding critical"/g)).toHaveLength(1);
    expect(html.match(/class="revocation"/g)).toHaveLength(1);
    expect(html.match(/class="session denied"/g)).toHaveLength(1);
    expect(html).toMatch(/class="cutlabel">1\.7 years idle</);
    expect(html).toContain('<a href="#revocation-1">1 session revoked</a>');
    expect(html).toContain('&#34;aws:userid&#34;');
  });

  it('shows the rotations due (overdue, not yet dated) and those in flight with phase and deadline', () => {
    expect(html).toContain('2026-09-29 00:00:00 UTC · <span class="late">overdue</span>');
    expect(html).toMatch(/New Vendor<\/td>.*?not yet dated/);
    expect(html).toContain('<td><b>notified</b></td><td>2026-11-01 00:00:00 UTC</td>');
    expect(html).toContain('2026-11-09 00:00:00 UTC · <span class="late">passed</span>');
  });

  it('shows external IDs masked only', () => {
    for (const id of ['tenant-4711-secret-id', 'Zk3pQ8wE1rT6yU9iO2aS5dF7gH4jK0lM', 'ec-7Hq2vN9xK4pL8mR3'])
      expect(html).not.toContain(id);
    expect(html).toMatch(/ec-7…#[0-9a-f]{8} → Zk3p…#[0-9a-f]{8}/);
    expect(html).toContain('tena…#75747556');
  });

  it('is deterministic: the same input gives the same page', () => {
    expect(renderHtmlReport(input())).toBe(html);
  });

  it('draws an even sample of a very long backtest, and says so', () => {
    const big = input();
    big.report.sessions = Array.from({ length: 10_000 }, (_, i) =>
      session({ eventId: `b${i}`, issuedAt: new Date(Date.parse('2026-11-01T00:00:00Z') + i * 60_000).toISOString() }),
    );
    const page = renderHtmlReport(big);
    expect(page).toContain('10000 sessions: one in 4 is drawn');
    expect(page.match(/class="session"/g)!.length).toBeLessThanOrEqual(3000);
  });

  it('says so when there is nothing to draw, and marks a partial report by its title', () => {
    const page = renderHtmlReport({
      ...input(),
      report: emptyReport(),
      title: 'roleguard backtest (interrupted: partial)',
    });
    expect(page).toContain('<h1>roleguard backtest (interrupted: partial)</h1>');
    expect(page).toContain('No session or finding to draw.');
    expect(page).toContain('No findings.');
  });
});

describe('the HTML report a CISO reads', () => {
  const UNGUARDED = 'arn:aws:iam::111122223333:role/LegacyPartnerAccess';
  const INTERNAL = 'arn:aws:iam::111122223333:role/CiDeploy';
  /** Two critical findings of one kind on one role from one caller, and roles nobody registered. */
  function ciso(): HtmlReportInput {
    const x = input();
    const first = x.report.findings[0]!;
    x.report.sessions.push(
      session({ eventId: 'e4', issuedAt: '2026-11-02T10:30:00Z' }),
      session({ eventId: 'u1', roleArn: UNGUARDED, callerAccountId: '444455556666', issuedAt: '2026-11-01T09:00:00Z' }),
      session({ eventId: 'u2', roleArn: UNGUARDED, callerAccountId: '555566667777', awsRegion: 'eu-west-1' }),
      session({ eventId: 'u3', roleArn: INTERNAL, callerAccountId: '111122223333' }),
      session({ eventId: 'u4', roleArn: 'arn:aws:iam::111122223333:role/Probed', outcome: 'denied' }),
    );
    x.report.findings.push({ ...first, eventId: 'e4', context: { ...first.context, at: '2026-11-02T10:30:00Z' } });
    return x;
  }
  const verdictOf = (page: string) => page.match(/<p class="verdict" id="verdict">([^<]*)<\/p>/)?.[1];

  it('opens with a one-line verdict: the worst findings, on how many vendors, and what would have been revoked', () => {
    const page = renderHtmlReport(ciso());
    expect(verdictOf(page)).toBe('2 critical on 1 vendor; 1 session would have been revoked');
    expect(page.indexOf('id="verdict"')).toBeLessThan(page.indexOf('<main>'));

    const mixed = ciso();
    mixed.report.findings.push({
      ...mixed.report.findings[0]!,
      kind: 'denied-assume',
      severity: 'medium',
      eventId: 'e9',
    });
    mixed.report.actions = mixed.report.actions.map((a) => ({ ...a, applied: true }));
    expect(verdictOf(renderHtmlReport(mixed))).toBe('2 critical on 1 vendor (and 1 medium); 1 session was revoked');
    expect(verdictOf(renderHtmlReport({ ...input(), report: emptyReport() }))).toBe(
      'No findings in 0 sessions; nothing would have been revoked',
    );
  });

  it('counts the findings per severity', () => {
    const page = renderHtmlReport(ciso());
    const card = (sev: string) =>
      page.match(new RegExp(`<div class="card sev-${sev}[^>]*><b[^>]*>(\\d+)</b><span>${sev}</span>`))?.[1];
    expect(['critical', 'high', 'medium', 'low'].map(card)).toEqual(['2', '0', '0', '0']);
  });

  it('says what the input covered: files, accounts, Regions and time span, as the replay counted them', () => {
    const given = renderHtmlReport({
      ...ciso(),
      coverage: {
        files: 1440,
        accounts: ['111122223333', '222233334444'],
        regions: ['eu-west-1', 'us-east-1', 'us-west-2'],
        from: '2026-10-01T00:00:03Z',
        to: '2026-10-31T23:59:58Z',
      },
    });
    expect(given).toContain(
      '<dt>files</dt><dd>1,440</dd><dt>accounts</dt><dd>2: 111122223333, 222233334444</dd><dt>Regions</dt><dd>3: eu-west-1, us-east-1, us-west-2</dd><dt>time span</dt><dd>2026-10-01 00:00:03 UTC – 2026-10-31 23:59:58 UTC</dd>',
    );
    // Without the replay's counts, the sessions tell it, and the page says so.
    const told = renderHtmlReport(ciso());
    expect(told).toContain(
      '<dt>files</dt><dd>–</dd><dt>accounts</dt><dd>1: 111122223333</dd><dt>Regions</dt><dd>2: eu-west-1, us-east-1</dd>',
    );
    expect(told).toContain('<dt>time span</dt><dd>2025-03-01 08:00:00 UTC – 2026-11-02 12:00:00 UTC</dd>');
    expect(told).toContain('As the recorded sessions tell it');
    // What the replay ignored, by reason and event name, most frequent first.
    const x = ciso();
    x.report.summary.ignored = 1204;
    Object.assign(x.report, {
      ignored: {
        byReason: { 'not an STS event': 1200, 'AWS service assume (not recorded)': 4 },
        byEventName: { GetObject: 1000, PutObject: 150, AssumeRole: 4, ListBuckets: 30, Decrypt: 10, Encrypt: 8, X: 2 },
      },
    });
    expect(renderHtmlReport(x)).toContain(
      '<dt>ignored</dt><dd>1,204: not an STS event (1,200), AWS service assume (not recorded) (4)</dd><dt>ignored events</dt><dd>GetObject (1,000), PutObject (150), ListBuckets (30), Decrypt (10), Encrypt (8) and 2 more</dd>',
    );
  });

  it('groups repeated findings (kind, role, caller) into one row that says how often and from when to when', () => {
    const page = renderHtmlReport(ciso());
    expect(page).toContain('<h2>Findings (2, 1 distinct)</h2>');
    expect(page).toContain('id="finding-1"');
    expect(page).not.toContain('id="finding-2"');
    expect(page).toContain('<b>2×</b> 2026-11-02 10:00:00 UTC<br>to 2026-11-02 10:30:00 UTC');
    expect(page).toContain('<summary>all 2 events</summary>');
  });

  it('gives each finding its next step and a link to its runbook section', () => {
    const x = ciso();
    x.report.findings.push({ ...x.report.findings[0]!, kind: 'denied-assume', severity: 'medium', eventId: 'e9' });
    const page = renderHtmlReport(x);
    for (const f of [x.report.findings[0]!, x.report.findings[2]!]) {
      expect(page).toContain(esc(nextStepFor(f)));
      expect(page).toContain(
        `<a class="runbook" href="docs/runbook.md#${RUNBOOK_ANCHOR[f.kind]}">runbook: ${f.kind}</a>`,
      );
    }
    expect(renderHtmlReport({ ...x, runbook: 'file:///opt/roleguard/docs/runbook.md' })).toContain(
      'href="file:///opt/roleguard/docs/runbook.md#unexpected-external-id-critical"',
    );
  });

  it('links to runbook sections that exist: every anchor is the GitHub anchor of a heading in docs/runbook.md', () => {
    const slug = (heading: string) =>
      heading
        .toLowerCase()
        .replace(/[^\p{L}\p{N} _-]/gu, '')
        .replace(/ /g, '-');
    const anchors = readFileSync(join(ROOT, 'docs', 'runbook.md'), 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('## '))
      .map((line) => slug(line.slice(3)));
    for (const anchor of Object.values(RUNBOOK_ANCHOR)) expect(anchors).toContain(anchor);
  });

  it('calls out the roles assumed from another account that the registry does not guard', () => {
    const page = renderHtmlReport(ciso());
    const section = page.slice(page.indexOf('<section id="unguarded">'), page.indexOf('<section id="findings">'));
    expect(section).toContain('1 role assumed from another account is not in the registry');
    expect(section).toContain(
      `<td>LegacyPartnerAccess</td><td class="wrap">${UNGUARDED}</td><td class="wrap">444455556666, 555566667777</td><td>2</td>`,
    );
    // Not a same-account role, not a denied attempt, not a guarded role.
    for (const name of ['CiDeploy', 'Probed', 'ExampleCorpAudit', 'AcmeBackup']) expect(section).not.toContain(name);
    expect(renderHtmlReport(input())).toContain('Every role assumed from another account is guarded.');
  });

  it('keeps every finding marker on the axis when thousands of findings crowd one lane', () => {
    const x = input();
    const first = x.report.findings[0]!;
    x.report.findings = Array.from({ length: 5000 }, (_, i) => ({
      ...first,
      eventId: `f${i}`,
      context: { ...first.context, at: new Date(Date.parse('2026-11-02T10:00:00Z') + i * 1000).toISOString() },
    }));
    const page = renderHtmlReport(x);
    const cx = [...page.matchAll(/<circle cx="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(cx.length).toBeGreaterThan(0);
    expect(Math.max(...cx)).toBeLessThanOrEqual(AXIS_END);
    expect(Math.min(...cx)).toBeGreaterThanOrEqual(CHART.left);
    expect(page).toMatch(/<text [^>]*class="many">99\+<\/text><title>\d+ findings \(\d+ critical\)/);
  });
});
