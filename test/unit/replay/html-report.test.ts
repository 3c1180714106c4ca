import { describe, expect, it } from '@jest/globals';
import { esc, type HtmlReportInput, renderHtmlReport } from '../../../lib/replay/html-report.js';
import { emptyReport } from '../../../lib/replay/report.js';
import { idleRotation } from '../../../lib/rotate/store.js';
import type { SessionView } from '../../../lib/sessions/index.js';

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
