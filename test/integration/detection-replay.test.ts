import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createDeps } from '../../lib/deps.js';
import { parseRegistryText } from '../../lib/registry/text.js';
import { runReplay } from '../../lib/replay/run-replay.js';
import { createSessionsTable, createTestTables, testDynamo, testEndpoint } from '../helpers/dynamo.js';
import { fakeSlack } from '../helpers/fake-aws.js';
import { assumeRecord, EVENTS_DIR, loadJson, ROOT } from '../helpers/fixtures.js';
import { memoryLogger } from '../helpers/logger.js';

const execFileAsync = promisify(execFile);

// The Done-when case of the detection issue: one registered role, every kind of assume and trust change.
const ROLE = 'arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit';
const IDS = {
  current: 'ec-current-7Hq2vN9xK4pL8mR3',
  pending: 'ec-pending-Zr5tW1qB8nM2',
  retired: 'ec-retired-2025-a1b2c3',
  wrong: 'tenant-4711-of-example-corp',
};
const REGISTRY = `
serviceRoleArns: ["arn:aws:iam::111122223333:role/roleguard-*"]
roles:
  - roleArn: ${ROLE}
    vendor: Example Corp
    trustedAccounts: ["999988887777"]
    externalIds: { current: "${IDS.current}", pending: "${IDS.pending}", retired: ["${IDS.retired}"] }
`;

let doc: DynamoDBDocumentClient;
let dir: string;

function assume(
  id: string,
  time: string,
  overrides: { externalId?: string | null; account?: string; roleArn?: string } = {},
): Record<string, unknown> {
  const base = assumeRecord({ eventID: id, eventTime: time });
  const params: Record<string, unknown> = {
    ...(base.requestParameters as Record<string, unknown>),
    roleArn: overrides.roleArn ?? ROLE,
  };
  if (overrides.externalId === null) delete params.externalId;
  else params.externalId = overrides.externalId ?? IDS.current;
  const account = overrides.account ?? '999988887777';
  return {
    ...base,
    requestParameters: params,
    userIdentity: { type: 'AWSAccount', principalId: `AIDA${account}`, accountId: account },
  };
}

const detail = (file: string) => (loadJson(join(EVENTS_DIR, file)) as { detail: Record<string, unknown> }).detail;

function trustChange(id: string, time: string, callerRole: string): Record<string, unknown> {
  const base = structuredClone(detail('eventbridge-update-assume-role-policy.json'));
  const identity = base.userIdentity as {
    arn: string;
    sessionContext: { sessionIssuer: { arn: string; userName: string } };
  };
  identity.arn = `arn:aws:sts::111122223333:assumed-role/${callerRole}/session-1`;
  identity.sessionContext.sessionIssuer.arn = `arn:aws:iam::111122223333:role/${callerRole}`;
  identity.sessionContext.sessionIssuer.userName = callerRole;
  return { ...base, eventID: id, eventTime: time };
}

const RECORDS = [
  assume('e01-good', '2026-11-02T09:00:00Z'),
  assume('e02-pending', '2026-11-02T09:01:00Z', { externalId: IDS.pending }),
  assume('e03-wrong', '2026-11-02T09:02:00Z', { externalId: IDS.wrong }),
  assume('e04-missing', '2026-11-02T09:03:00Z', { externalId: null }),
  assume('e05-retired', '2026-11-02T09:04:00Z', { externalId: IDS.retired }),
  assume('e06-untrusted', '2026-11-02T09:05:00Z', { account: '444455556666' }),
  {
    ...structuredClone(detail('eventbridge-assume-role-denied.json')),
    eventID: 'e07-denied',
    eventTime: '2026-11-02T09:06:00Z',
  },
  trustChange('e08-trust-person', '2026-11-02T09:07:00Z', 'AWSReservedSSO_PlatformAdmin_0123456789abcdef'),
  trustChange('e09-trust-service', '2026-11-02T09:08:00Z', 'roleguard-prod-rotate'),
  // The same wrong-ID event delivered again: no second session, no second finding.
  assume('e03-wrong', '2026-11-02T09:02:00Z', { externalId: IDS.wrong }),
  // The same caller again with the wrong ID ten minutes later: a second finding, merged into the first alert.
  assume('e10-wrong-again', '2026-11-02T09:12:00Z', { externalId: IDS.wrong }),
  // The role's own account needs no external ID; an unregistered role raises nothing.
  assume('e11-same-account', '2026-11-02T09:13:00Z', { externalId: null, account: '111122223333' }),
  assume('e12-unregistered', '2026-11-02T09:14:00Z', {
    externalId: IDS.wrong,
    roleArn: 'arn:aws:iam::111122223333:role/SomethingElse',
  }),
];

const EXPECTED = [
  ['unexpected-external-id', 'critical', 'e03-wrong'],
  ['missing-external-id', 'critical', 'e04-missing'],
  ['retired-external-id', 'critical', 'e05-retired'],
  ['untrusted-account', 'critical', 'e06-untrusted'],
  ['denied-assume', 'medium', 'e07-denied'],
  // The person's new policy drops the external-ID condition, so the change is critical.
  ['trust-policy-changed', 'critical', 'e08-trust-person'],
  ['unexpected-external-id', 'critical', 'e10-wrong-again'],
];

beforeAll(() => {
  doc = testDynamo();
  dir = mkdtempSync(join(tmpdir(), 'roleguard-detect-'));
  writeFileSync(join(dir, 'case.jsonl'), `${RECORDS.map((r) => JSON.stringify(r)).join('\n')}\n`);
  writeFileSync(join(dir, 'registry.yaml'), REGISTRY);
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-cli.js')], { cwd: ROOT });
});
afterAll(() => {
  doc.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe('replay with a registry gives exactly the contract findings', () => {
  it('good, pending, wrong, missing, retired, untrusted, denied, trust change by a person and by the service', async () => {
    const config = await createTestTables(doc, await createSessionsTable(doc));
    const { logger, lines } = memoryLogger();
    const deps = createDeps(config, { dynamo: doc, logger, registry: parseRegistryText(REGISTRY, 'registry.yaml') });
    const report = await runReplay(deps, { paths: [join(dir, 'case.jsonl')], concurrency: 8 });

    expect(report.summary).toMatchObject({
      eventsRead: 13,
      recorded: 10,
      duplicates: 1,
      trustPolicyChanges: 2,
      rejected: 0,
      findings: 7,
    });
    expect(report.findings.map((f) => [f.kind, f.severity, f.eventId])).toEqual(EXPECTED);
    for (const f of report.findings) {
      expect(f.roleArn).toBe(ROLE);
      expect(f.message.length).toBeGreaterThan(20);
    }
    expect(report.findings.find((f) => f.eventId === 'e06-untrusted')).toMatchObject({
      callerAccountId: '444455556666',
      assumedRoleId: expect.stringMatching(/^AROA/),
    });
    expect(report.findings.find((f) => f.eventId === 'e07-denied')).toMatchObject({
      assumedRoleId: null,
      callerAccountId: '111122223333',
    });
    // One alert per finding, except the repeat within the merge window, which is merged into the first: alerts once.
    expect(report.actions.map((a) => [a.kind, a.eventId, a.applied])).toEqual(
      EXPECTED.filter(([, , id]) => id !== 'e10-wrong-again').map(([, , id]) => ['alert', id, false]),
    );
    // No external ID appears in full in the report's findings or in the logs.
    const visible = JSON.stringify(report.findings) + JSON.stringify(report.actions) + lines.join('\n');
    for (const id of Object.values(IDS)) expect(visible).not.toContain(id);
  });

  it('the command reads --registry, and refuses an invalid registry naming the file, role and field', () => {
    const run = (args: string[]) => {
      try {
        return {
          status: 0,
          stdout: execFileSync(process.execPath, [join(ROOT, 'bin', 'roleguard.js'), ...args], {
            cwd: ROOT,
            encoding: 'utf8',
            stdio: ['ignore', 'pipe', 'pipe'],
          }),
          stderr: '',
        };
      } catch (error) {
        return error as { status: number; stdout: string; stderr: string };
      }
    };
    const ok = run([
      'replay',
      join(dir, 'case.jsonl'),
      '--registry',
      join(dir, 'registry.yaml'),
      '--json',
      '--endpoint',
      testEndpoint(),
      '--table',
      `cli-detect-${Date.now()}`,
    ]);
    expect(ok.status).toBe(0);
    const report = JSON.parse(ok.stdout) as { findings: { kind: string; severity: string; eventId: string }[] };
    expect(report.findings.map((f) => [f.kind, f.severity, f.eventId])).toEqual(EXPECTED);

    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, REGISTRY.replace('"999988887777"', '"99998888777"'));
    const refused = run(['replay', join(dir, 'case.jsonl'), '--registry', bad, '--endpoint', testEndpoint()]);
    expect(refused.status).toBe(2);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain(bad);
    expect(refused.stderr).toContain(`roles[0] (${ROLE})`);
    expect(refused.stderr).toContain('trustedAccounts[0]');
  });

  it('--apply sends each alert once to Slack, and refuses to run with nowhere to send', async () => {
    const slack = await fakeSlack();
    try {
      const args = [
        'replay',
        join(dir, 'case.jsonl'),
        '--registry',
        join(dir, 'registry.yaml'),
        '--json',
        '--apply',
        '--endpoint',
        testEndpoint(),
        '--table',
        `cli-apply-${Date.now()}`,
      ];
      const env = { ...process.env, ROLEGUARD_SLACK_WEBHOOK_URL: `${slack.url}/services/T0/B0/secret` };
      // Asynchronous, so the fake Slack in this process can answer while the command runs.
      const { stdout } = await execFileAsync(process.execPath, [join(ROOT, 'bin', 'roleguard.js'), ...args], {
        cwd: ROOT,
        env,
      });
      const report = JSON.parse(stdout) as { actions: { applied: boolean }[] };
      expect(report.actions).toHaveLength(6);
      expect(report.actions.every((a) => a.applied)).toBe(true);
      expect(slack.received).toHaveLength(6);
      expect(slack.received.every((r) => r.url === '/services/T0/B0/secret')).toBe(true);
      for (const id of Object.values(IDS)) expect(slack.received.map((r) => r.body).join('\n')).not.toContain(id);
      const refused = await execFileAsync(process.execPath, [join(ROOT, 'bin', 'roleguard.js'), ...args.slice(0, -2)], {
        cwd: ROOT,
        env: { ...process.env, ROLEGUARD_SLACK_WEBHOOK_URL: '' },
      }).catch((e: { code: number; stderr: string }) => e);
      expect(refused).toMatchObject({ code: 2, stderr: expect.stringMatching(/--apply has nowhere to send alerts/) });
    } finally {
      await slack.close();
    }
  });
});
