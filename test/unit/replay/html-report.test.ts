import { describe, expect, it } from '@jest/globals';
import { esc, renderHtmlReport, type HtmlReportInput } from '../../../lib/replay/html-report.js';
import { emptyReport } from '../../../lib/replay/report.js';
import { idleRotation } from '../../../lib/rotate/store.js';
import type { SessionView } from '../../../lib/sessions/index.js';

const ROLE = 'arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit';
const HOSTILE = '<img src=x onerror=alert(1)><!channel>';
const session = (over: Partial<SessionView>): SessionView => ({
  eventId: 'e1', eventName: 'AssumeRole', roleArn: ROLE, roleSessionName: HOSTILE, assumedRoleId: null, accessKeyId: 'ASIAEXAMPLE', callerAccountId: '999988887777', callerType: 'AWSAccount',
  externalId: 'tenant-4711-secret-id', sourceIpAddress: '198.51.100.7', issuedAt: '2026-11-02T10:00:00Z', expiresAt: '2026-11-02T11:00:00Z', outcome: 'success', recipientAccountId: '111122223333',
  callerArn: null, callerPrincipalId: null, sourceIdentity: null, userAgent: `"><script>alert(2)</script>`, awsRegion: 'us-east-1', sharedEventId: null, durationSeconds: null, errorCode: null, ...over,
});

function input(): HtmlReportInput {
  const report = emptyReport();
  report.summary = { eventsRead: 3, recorded: 2, duplicates: 0, ignored: 0, rejected: 1, findings: 1, actions: 2, trustPolicyChanges: 0 };
  report.sessions = [session({}), session({ eventId: 'e2', issuedAt: '2026-11-02T12:00:00Z', outcome: 'denied', expiresAt: null })];
  report.findings = [{
    kind: 'unexpected-external-id', severity: 'critical', roleArn: ROLE, eventId: 'e1', assumedRoleId: 'AROAEXAMPLE:x', callerAccountId: '999988887777', message: `assumed with ${HOSTILE}`,
    context: { recipientAccountId: '111122223333', vendor: 'Example Corp', at: '2026-11-02T10:00:00Z', callerArn: null, callerType: 'AWSAccount', sourceIpAddress: '198.51.100.7', roleSessionName: HOSTILE, externalId: 'tena…#75747556', userAgent: null },
  }];
  report.actions = [
    { kind: 'alert', roleArn: ROLE, eventId: 'e1', at: '2026-11-02T10:00:03Z', applied: false },
    { kind: 'revoke-session', roleArn: ROLE, eventId: 'e1', at: '2026-11-02T10:00:03Z', policyName: 'roleguard-revocations', policyDocument: { Version: '2012-10-17', Statement: [{ Sid: 'S', Effect: 'Deny', Action: '*', Resource: '*', Condition: { StringEquals: { 'aws:userid': `AROAEXAMPLE:${HOSTILE}` } } }] }, applied: false },
  ] as HtmlReportInput['report']['actions'];
  report.rejected = [{ source: 'bad.json', reason: `unknown event name "${HOSTILE}"` }];
  const registry = { serviceRoleArns: [], protectedRoleArns: [], roles: [{ roleArn: ROLE, vendor: 'Example <Corp>', trustedAccounts: ['999988887777'], externalIds: { current: 'ec-7Hq2vN9xK4pL8mR3', pending: null, retired: [] }, response: 'revoke' as const, rotation: { everyDays: 90, graceDays: 7 } }] };
  const rotation = { ...idleRotation(ROLE, '2026-10-01T00:00:00.000Z'), version: 2, phase: 'notified' as const, pendingId: 'Zk3pQ8wE1rT6yU9iO2aS5dF7gH4jK0lM', previousId: 'ec-7Hq2vN9xK4pL8mR3', deadlineAt: '2026-11-09T00:00:00.000Z' };
  return { report, registry, rotations: [rotation], generatedAt: '2026-11-24T12:00:00.000Z' };
}

describe('the HTML backtest report', () => {
  const html = renderHtmlReport(input());

  it('escapes everything that came from events: no markup, script or mention survives', () => {
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<!channel>');
    expect(html).toContain('&#60;img src=x onerror=alert(1)&#62;');
    expect(html).toContain('Example &#60;Corp&#62;');
    expect(esc(`<a href="x" onclick='y'>\``)).toBe('&#60;a href=&#34;x&#34; onclick=&#39;y&#39;&#62;&#96;');
  });

  it('is self-contained: no script, no external resource, a strict content security policy', () => {
    expect(html).not.toMatch(/<script|src=["']?https?:|href=["']?https?:|@import|url\(/i);
    expect(html).toContain(`default-src 'none'`);
  });

  it('has every section: summary, timeline with markers, findings, revocations with policies, rotations, rejected', () => {
    for (const id of ['timeline', 'findings', 'revocations', 'rotations', 'rejected']) expect(html).toContain(`<section id="${id}">`);
    expect(html).toMatch(/<svg [^>]*role="img"/);
    expect(html.match(/class="finding"/g)).toHaveLength(1);
    expect(html.match(/class="revocation"/g)).toHaveLength(1);
    expect(html).toContain('class="session denied"');
    expect(html).toContain('&#34;aws:userid&#34;');
    expect(html).toContain('notified, new ID Zk3p…#');
  });

  it('shows external IDs masked only', () => {
    expect(html).not.toContain('tenant-4711-secret-id');
    expect(html).not.toContain('Zk3pQ8wE1rT6yU9iO2aS5dF7gH4jK0lM');
    expect(html).not.toContain('ec-7Hq2vN9xK4pL8mR3');
  });

  it('is deterministic: the same input gives the same page', () => {
    expect(renderHtmlReport(input())).toBe(html);
  });

  it('draws an even sample of a very long backtest, and says so', () => {
    const big = input();
    big.report.sessions = Array.from({ length: 10_000 }, (_, i) => session({ eventId: `b${i}`, issuedAt: new Date(Date.parse('2026-11-01T00:00:00Z') + i * 60_000).toISOString() }));
    const page = renderHtmlReport(big);
    expect(page).toContain('10000 sessions: one in 3 is drawn');
    expect(page.match(/class="session"/g)!.length).toBeLessThanOrEqual(4000);
  });
});
