import type { Action } from '../../lib/alert/index.js';
import type { HtmlReportInput } from '../../lib/replay/html-report.js';
import { emptyReport, type ReportFinding } from '../../lib/replay/report.js';
import type { SessionView } from '../../lib/sessions/index.js';
import { prng } from './prng.js';

const ACCOUNT = '111122223333';
const VENDOR_ACCOUNT = '999988887777';
const START = Date.parse('2026-10-01T00:00:00Z');
const DAY = 86_400_000;
export const GUARDED = ['Audit', 'Backup', 'Monitoring'].map((n) => `arn:aws:iam::${ACCOUNT}:role/vendors/${n}`);
export const UNGUARDED = `arn:aws:iam::${ACCOUNT}:role/LegacyPartnerAccess`;

const session = (i: number, roleArn: string, at: number, over: Partial<SessionView> = {}): SessionView => ({
  eventId: `s${i}`,
  eventName: 'AssumeRole',
  roleArn,
  roleSessionName: `job-${i}`,
  assumedRoleId: null,
  accessKeyId: `ASIA${String(i).padStart(12, '0')}`,
  callerAccountId: VENDOR_ACCOUNT,
  callerType: 'AWSAccount',
  externalId: null,
  sourceIpAddress: '198.51.100.7',
  issuedAt: new Date(at).toISOString(),
  expiresAt: new Date(at + 3_600_000).toISOString(),
  outcome: 'success',
  recipientAccountId: ACCOUNT,
  callerArn: null,
  callerPrincipalId: null,
  sourceIdentity: null,
  userAgent: 'aws-sdk-go/1.44',
  awsRegion: ['us-east-1', 'eu-west-1'][i % 2]!,
  sharedEventId: null,
  durationSeconds: 3600,
  errorCode: null,
  ...over,
});

const finding = (
  i: number,
  kind: ReportFinding['kind'],
  severity: ReportFinding['severity'],
  roleArn: string,
  at: number,
): ReportFinding => ({
  kind,
  severity,
  roleArn,
  eventId: `s${i}`,
  assumedRoleId: `AROAEXAMPLE:job-${i}`,
  callerAccountId: VENDOR_ACCOUNT,
  message: `${kind} on ${roleArn} (event s${i})`,
  context: {
    recipientAccountId: ACCOUNT,
    vendor: 'Example Corp',
    at: new Date(at).toISOString(),
    callerArn: null,
    callerType: 'AWSAccount',
    sourceIpAddress: '203.0.113.9',
    roleSessionName: `job-${i}`,
    externalId: 'tena…#75747556',
    userAgent: 'aws-cli/2',
  },
});

/**
 * A month of a busy account: `perDay` sessions a day on three guarded roles and one unguarded, a denied assume every
 * hour, and two bursts of hundreds of critical findings, each revoked (the policy growing to IAM's size limit).
 */
export function busyMonth(perDay = 2000): HtmlReportInput {
  const random = prng(30);
  const report = emptyReport();
  let i = 0;
  for (let day = 0; day < 30; day++)
    for (let n = 0; n < perDay; n++) {
      const at = START + day * DAY + Math.floor(random() * DAY);
      const role = n % 10 === 0 ? UNGUARDED : GUARDED[n % 3]!;
      report.sessions.push(session(i++, role, at));
    }
  for (let hour = 0; hour < 30 * 24; hour++) {
    const at = START + hour * 3_600_000 + 60_000;
    report.sessions.push(session(i, GUARDED[1]!, at, { outcome: 'denied', expiresAt: null }));
    report.findings.push(finding(i++, 'denied-assume', 'medium', GUARDED[1]!, at));
  }
  const statements: unknown[] = [];
  for (const burst of [START + 9.5 * DAY, START + 22.25 * DAY])
    for (let n = 0; n < 300; n++) {
      const at = burst + n * 20_000;
      report.sessions.push(session(i, GUARDED[0]!, at));
      report.findings.push(finding(i, 'unexpected-external-id', 'critical', GUARDED[0]!, at));
      statements.push({
        Sid: `Revoke${i}`,
        Effect: 'Deny',
        Action: '*',
        Resource: '*',
        Condition: { StringEquals: { 'aws:userid': `AROAEXAMPLE:job-${i}` } },
      });
      const action: Action = {
        kind: 'revoke-session',
        roleArn: GUARDED[0]!,
        eventId: `s${i++}`,
        at: new Date(at + 3000).toISOString(),
        policyName: 'roleguard-revocations',
        policyDocument: { Version: '2012-10-17', Statement: statements.slice(-40) },
        applied: false,
      };
      report.actions.push(action);
    }
  const byTime = (a: string, b: string) => Date.parse(a) - Date.parse(b);
  report.sessions.sort((a, b) => byTime(a.issuedAt, b.issuedAt));
  report.findings.sort((a, b) => byTime(a.context.at, b.context.at));
  report.summary = {
    eventsRead: report.sessions.length * 40,
    recorded: report.sessions.length,
    duplicates: 0,
    ignored: report.sessions.length * 39,
    rejected: 0,
    findings: report.findings.length,
    actions: report.actions.length,
    trustPolicyChanges: 0,
  };
  const role = (roleArn: string) => ({
    roleArn,
    vendor: 'Example Corp',
    trustedAccounts: [VENDOR_ACCOUNT],
    externalIds: { current: 'ec-7Hq2vN9xK4pL8mR3', pending: null, retired: [] },
    response: 'revoke' as const,
    rotation: null,
  });
  return {
    report,
    registry: { serviceRoleArns: [], protectedRoleArns: [], roles: GUARDED.map(role) },
    rotations: [],
    generatedAt: '2026-11-01T00:00:00.000Z',
    coverage: {
      files: 30 * 24 * 12,
      accounts: [ACCOUNT],
      regions: ['eu-west-1', 'us-east-1'],
      from: new Date(START).toISOString(),
      to: new Date(START + 30 * DAY - 1000).toISOString(),
    },
  };
}
