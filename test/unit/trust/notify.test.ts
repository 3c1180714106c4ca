import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from '@jest/globals';
import type { Deps } from '../../../lib/deps.js';
import type { RegisteredRole } from '../../../lib/registry/index.js';
import {
  type AuditReport,
  auditDigest,
  auditRegistry,
  formatSlackAudit,
  formatSnsAudit,
  notifyAudit,
  type PostureProblem,
  type RoleAudit,
} from '../../../lib/trust/index.js';

const ID = 'ec-7Hq2vN9xK4pL8mR3';
const OLD = 'ec-OLD-2025-a1b2c3';
const arn = (name: string) => `arn:aws:iam::111122223333:role/vendors/${name}`;
const problem = (
  kind: PostureProblem['kind'],
  severity: PostureProblem['severity'],
  message: string,
  statement: string | null = null,
): PostureProblem => ({ kind, severity, statement, message });

function report(roles: RoleAudit[]): AuditReport {
  const all = roles.flatMap((r) => r.problems);
  return {
    summary: {
      roles: roles.length,
      ok: roles.filter((r) => r.status === 'ok').length,
      withProblems: roles.filter((r) => r.status === 'problems').length,
      notFound: roles.filter((r) => r.status === 'not-found').length,
      otherAccount: roles.filter((r) => r.status === 'other-account').length,
      critical: all.filter((p) => p.severity === 'critical').length,
      high: all.filter((p) => p.severity === 'high').length,
      medium: all.filter((p) => p.severity === 'medium').length,
    },
    roles,
  };
}

const OPEN = problem(
  'no-external-id',
  'critical',
  'Statement[0] lets account 999988887777 assume the role without requiring an external ID',
  'Statement[0]',
);
const WEAK = problem(
  'weak-external-id-condition',
  'high',
  'Statement[1] (Vendor) lets account 999988887777 in with StringEqualsIfExists ec-7…#12345678',
  'Statement[1] (Vendor)',
);
const GONE = problem(
  'unreadable-policy',
  'medium',
  'IAM has no role named Gone: it was deleted or renamed, so the registry entry guards nothing',
);
const ROLES: RoleAudit[] = [
  { roleArn: arn('Good'), vendor: 'Good Corp', status: 'ok', problems: [] },
  { roleArn: arn('Weak'), vendor: 'Weak Corp', status: 'problems', problems: [WEAK] },
  { roleArn: arn('Gone'), vendor: 'Gone Corp', status: 'not-found', problems: [GONE] },
  {
    roleArn: arn('Open'),
    vendor: 'Open Corp',
    status: 'problems',
    problems: [
      OPEN,
      problem('external-ids-differ', 'high', "the trust policy's external IDs differ from the registry"),
    ],
  },
  {
    roleArn: 'arn:aws:iam::555566667777:role/vendors/Elsewhere',
    vendor: 'Elsewhere',
    status: 'other-account',
    problems: [],
  },
];
const REPORT = report(ROLES);
const reversed = (r: AuditReport) =>
  report([...r.roles].reverse().map((role) => ({ ...role, problems: [...role.problems].reverse() })));

describe('formatSlackAudit', () => {
  it('titles the roles that need attention, counts severities and lists the problems worst first', () => {
    const message = formatSlackAudit(REPORT);
    expect(message.text).toBe('Trust-policy audit: 3 of 5 guarded roles need attention');
    const blocks = message.blocks as { type: string; text: { type: string; text: string } }[];
    expect(blocks.map((b) => b.type)).toEqual(['header', 'section', 'section', 'section']);
    expect(blocks[0]!.text).toMatchObject({
      type: 'plain_text',
      text: ':mag: Trust-policy audit: 3 of 5 guarded roles need attention',
    });
    expect(blocks[1]!.text.text).toBe('1 critical, 2 high, 1 medium');
    const lines = blocks[2]!.text.text.split('\n');
    expect(lines).toHaveLength(4);
    expect(lines.map((l) => /^• \*(\w+)\* /.exec(l)?.[1])).toEqual(['critical', 'high', 'high', 'medium']);
    expect(lines[0]).toContain('Open Corp');
    expect(lines[0]).toContain(arn('Open'));
    expect(lines[3]).toContain('Gone Corp');
    expect(blocks[3]!.text.text).toMatch(/roleguard audit/);
  });

  it('makes vendor names and messages inert in mrkdwn', () => {
    const message = formatSlackAudit(
      report([
        {
          roleArn: arn('X'),
          vendor: '<!channel> *Evil* <https://x.example|click>',
          status: 'problems',
          problems: [problem('no-external-id', 'critical', 'a `code` & <b>')],
        },
      ]),
    );
    const text = JSON.stringify(message.blocks);
    expect(text).not.toContain('<!channel>');
    expect(text).not.toContain('<https://');
    expect(text).toContain('&lt;!channel&gt;');
    expect(text).toContain('&amp;');
  });

  it("lists at most 20 problems and stays within Slack's section limit", () => {
    const many = Array.from({ length: 30 }, (_, i) => ({
      roleArn: arn(`R${i}`),
      vendor: `V${i}`,
      status: 'problems' as const,
      problems: [problem('no-external-id', 'critical', 'x'.repeat(400))],
    }));
    const message = formatSlackAudit(report(many));
    const section = (message.blocks as { text: { text: string } }[])[2]!.text.text;
    expect(section.split('\n').length).toBeLessThanOrEqual(20);
    expect(section.length).toBeLessThanOrEqual(3000);
    expect(message.text).toBe('Trust-policy audit: 30 of 30 guarded roles need attention');
  });
});

describe('formatSnsAudit', () => {
  it('names the worst severity and carries only the roles with problems', () => {
    const message = formatSnsAudit(REPORT);
    expect(message.Subject).toBe('roleguard critical: trust-policy audit found problems');
    expect(message.MessageAttributes).toEqual({
      kind: { DataType: 'String', StringValue: 'trust-policy-audit' },
      severity: { DataType: 'String', StringValue: 'critical' },
      role: { DataType: 'String', StringValue: '*' },
    });
    const body = JSON.parse(message.Message) as {
      source: string;
      kind: string;
      summary: AuditReport['summary'];
      roles: RoleAudit[];
    };
    expect(body).toMatchObject({ source: 'roleguard', kind: 'trust-policy-audit', summary: REPORT.summary });
    expect(body.roles.map((r) => r.vendor)).toEqual(['Weak Corp', 'Gone Corp', 'Open Corp']);
    expect(formatSnsAudit(report([ROLES[2]!])).Subject).toBe('roleguard medium: trust-policy audit found problems');
    expect(formatSnsAudit(report([ROLES[1]!, ROLES[2]!])).MessageAttributes.severity!.StringValue).toBe('high');
  });

  it('holds no full external ID when built from a real audit', async () => {
    const role: RegisteredRole = {
      roleArn: arn('Open'),
      vendor: 'Open Corp',
      trustedAccounts: ['999988887777'],
      externalIds: { current: ID, pending: null, retired: [OLD] },
      response: 'alert',
      rotation: null,
    };
    const document = JSON.stringify({
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: '999988887777' },
          Action: 'sts:AssumeRole',
          Condition: { StringEqualsIfExists: { 'sts:ExternalId': [OLD, 'tenant-4711'] } },
        },
      ],
    });
    const audit = await auditRegistry({ serviceRoleArns: [], protectedRoleArns: [], roles: [role] }, async () => ({
      arn: arn('Open'),
      document,
    }));
    expect(audit.summary.withProblems).toBe(1);
    for (const text of [JSON.stringify(formatSnsAudit(audit)), JSON.stringify(formatSlackAudit(audit))]) {
      for (const id of [ID, OLD, 'tenant-4711']) expect(text).not.toContain(id);
    }
  });
});

describe('auditDigest', () => {
  it('is a sha-256 hex digest that does not depend on the order of roles or problems', () => {
    const digest = auditDigest(REPORT);
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
    expect(auditDigest(reversed(REPORT))).toBe(digest);
    expect(auditDigest(structuredClone(REPORT))).toBe(digest);
  });

  it('ignores roles without problems and the summary', () => {
    const digest = auditDigest(REPORT);
    expect(auditDigest(report(ROLES.filter((r) => r.problems.length > 0)))).toBe(digest);
    expect(auditDigest({ ...REPORT, summary: { ...REPORT.summary, ok: 99 } })).toBe(digest);
  });

  it('changes when a problem appears, disappears or changes', () => {
    const digest = auditDigest(REPORT);
    const changed = (edit: (roles: RoleAudit[]) => void) => {
      const roles = structuredClone(ROLES);
      edit(roles);
      return auditDigest(report(roles));
    };
    const variants = [
      changed((r) => r[1]!.problems.push(GONE)),
      changed((r) => r[3]!.problems.pop()),
      changed((r) => (r[1]!.problems[0]!.message += ' and more')),
      changed((r) => (r[1]!.problems[0]!.kind = 'condition-bypass')),
      changed((r) => (r[1]!.problems[0]!.statement = 'Statement[2]')),
      // The same problem on another role.
      changed((r) => (r[1]!.roleArn = arn('Renamed'))),
      // One of two identical problems resolved.
      changed((r) => r[1]!.problems.push(WEAK)),
    ];
    for (const v of variants) expect(v).not.toBe(digest);
    expect(new Set(variants).size).toBe(variants.length);
  });
});

describe('notifyAudit', () => {
  // The alerts table as an in-memory map behind the document client's send().
  function fakeDeps(dryRun = false) {
    const items = new Map<string, Record<string, unknown>>();
    const sent: { slack: unknown[]; sns: unknown[] } = { slack: [], sns: [] };
    const dynamo = {
      send: async (command: unknown) => {
        if (command instanceof GetCommand) return { Item: items.get(String(command.input.Key!.pk)) };
        if (command instanceof PutCommand) return void items.set(String(command.input.Item!.pk), command.input.Item!);
        throw new Error('unexpected command');
      },
    };
    const deps = {
      config: { alertsTable: 'alerts', dryRun },
      clients: { dynamo },
      alerts: {
        senders: {
          slack: async (m: unknown) => void sent.slack.push(m),
          sns: async (m: unknown) => void sent.sns.push(m),
        },
        policy: { attemptsNow: 2, baseDelayMs: 0, maxAttempts: 2, sleep: async () => {} },
      },
    } as unknown as Deps;
    return { deps, items, sent };
  }
  const T0 = new Date('2026-01-05T06:00:00Z');
  const later = (days: number) => new Date(T0.getTime() + days * 86400_000);

  it('sends new problems once, stays quiet while they are unchanged, and reminds after a week', async () => {
    const { deps, items, sent } = fakeDeps();
    expect(await notifyAudit(REPORT, deps, T0)).toBe('sent');
    expect(sent.slack).toHaveLength(1);
    expect(sent.sns).toHaveLength(1);
    expect(items.get('audit#last')).toEqual({
      pk: 'audit#last',
      digest: auditDigest(REPORT),
      sentAt: T0.toISOString(),
    });
    expect(await notifyAudit(reversed(REPORT), deps, later(6))).toBe('unchanged');
    expect(sent.slack).toHaveLength(1);
    expect(await notifyAudit(REPORT, deps, later(7))).toBe('sent');
    const changed = report(ROLES.filter((r) => r.vendor !== 'Weak Corp'));
    expect(await notifyAudit(changed, deps, later(7.5))).toBe('sent');
    expect(sent.slack).toHaveLength(3);
  });

  it('sends nothing for a clean audit, and nothing in a dry run', async () => {
    const { deps, items, sent } = fakeDeps(true);
    expect(await notifyAudit(report([ROLES[0]!, ROLES[4]!]), deps, T0)).toBe('none');
    expect(await notifyAudit(REPORT, deps, T0)).toBe('dry-run');
    expect(sent.slack).toEqual([]);
    expect(items.size).toBe(0);
  });

  it('stores the digest only after every channel took the message', async () => {
    const { deps, items } = fakeDeps();
    let calls = 0;
    deps.alerts.senders.sns = async () => {
      calls++;
      throw new Error('SNS down');
    };
    await expect(notifyAudit(REPORT, deps, T0)).rejects.toThrow('SNS down');
    expect(calls).toBe(2);
    expect(items.size).toBe(0);
  });
});
