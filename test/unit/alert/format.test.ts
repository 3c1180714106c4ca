import { describe, expect, it } from '@jest/globals';
import {
  actionText,
  escapeMrkdwn,
  formatSlackAlert,
  formatSnsAlert,
  nextStepFor,
  repeatKey,
} from '../../../lib/alert/index.js';
import type { FindingKind } from '../../../lib/detect/index.js';
import { maskExternalId } from '../../../lib/redact.js';
import { makeAlert, makeFinding, RAW_EXTERNAL_ID, ROLE, ROLE_ARN } from './fixtures.js';

// The formatters are pure: a finding's alert in, a Slack Block Kit payload or an SNS message out.
interface Block {
  type: string;
  text?: { type: string; text: string };
  fields?: { type: string; text: string }[];
  elements?: { type: string; text: string }[];
}

const blocksOf = (payload: { blocks: unknown[] }) => payload.blocks as Block[];
const fieldsOf = (payload: { blocks: unknown[] }) =>
  blocksOf(payload)
    .flatMap((b) => b.fields ?? [])
    .map((f) => f.text);
/** The value shown under a field label. */
const field = (payload: { blocks: unknown[] }, label: string) => {
  const hit = fieldsOf(payload).find((t) => t.startsWith(`*${label}*\n`));
  if (hit === undefined) throw new Error(`no field ${label} in ${JSON.stringify(fieldsOf(payload))}`);
  return hit.slice(label.length + 3);
};
/** Every string Slack will render as mrkdwn (section texts, fields, context elements, and the notification text). */
const mrkdwnTexts = (payload: { text: string; blocks: unknown[] }): string[] => [
  payload.text,
  ...blocksOf(payload).flatMap((b) => [
    ...(b.text?.type === 'mrkdwn' ? [b.text.text] : []),
    ...(b.fields ?? []).map((f) => f.text),
    // Context elements are mrkdwn; the buttons of an actions block carry plain_text labels, which Slack never formats.
    ...(b.elements ?? []).filter((e) => e.type === 'mrkdwn').map((e) => e.text),
  ]),
];
/** Every string anywhere in the payload. */
const allStrings = (value: unknown): string[] =>
  typeof value === 'string'
    ? [value]
    : Array.isArray(value)
      ? value.flatMap(allStrings)
      : value && typeof value === 'object'
        ? Object.values(value).flatMap(allStrings)
        : [];

describe('formatSlackAlert', () => {
  const alert = makeAlert();
  const payload = formatSlackAlert(alert);
  const f = alert.finding;

  it('has a notification text and a header naming severity, kind and vendor', () => {
    expect(payload.text).toBe(`CRITICAL: unexpected-external-id on Example Corp's role: ${ROLE_ARN}`);
    const [header] = blocksOf(payload);
    expect(header).toEqual({
      type: 'header',
      text: {
        type: 'plain_text',
        text: ":rotating_light: CRITICAL: unexpected-external-id on Example Corp's role",
        emoji: true,
      },
    });
  });

  it('uses the icon of each severity', () => {
    const icons = {
      critical: ':rotating_light:',
      high: ':warning:',
      medium: ':large_orange_diamond:',
      low: ':information_source:',
    } as const;
    for (const [severity, icon] of Object.entries(icons)) {
      const header = blocksOf(
        formatSlackAlert(makeAlert(makeFinding({ severity: severity as keyof typeof icons }))),
      )[0]!;
      expect(header.text!.text.startsWith(`${icon} ${severity.toUpperCase()}:`)).toBe(true);
    }
  });

  it('shows role, vendor, caller account, source IP, session name, masked external ID, time and event', () => {
    expect(field(payload, 'Role')).toBe(ROLE_ARN);
    expect(field(payload, 'Vendor')).toBe('Example Corp');
    expect(field(payload, 'Caller account')).toBe('999988887777');
    expect(field(payload, 'Source IP')).toBe('198.51.100.77');
    expect(field(payload, 'Session name')).toBe('ExampleCorp-scan-1730538904');
    expect(field(payload, 'External ID')).toBe(maskExternalId(RAW_EXTERNAL_ID));
    expect(field(payload, 'When (UTC)')).toBe('2026-11-02T23:47:31Z');
    expect(field(payload, 'Event')).toBe(f.eventId);
    // Slack allows at most 10 fields in a section.
    expect(fieldsOf(payload).length).toBeLessThanOrEqual(10);
  });

  it('says what the service did and the next step, and carries the finding message', () => {
    const texts = blocksOf(payload).map((b) => (b.type === 'section' ? b.text?.text : undefined));
    expect(texts).toContain(`*What roleguard did*\n${escapeMrkdwn(alert.action, 500)}`);
    expect(texts).toContain(`*Next step*\n${escapeMrkdwn(alert.nextStep, 500)}`);
    expect(texts).toContain(escapeMrkdwn(f.message, 500));
    const context = blocksOf(payload).find((b) => b.type === 'context')!;
    expect(context.elements![0]!.text).toContain(`alert ${alert.alertId}`);
  });

  it('shows the caller type when the caller account is unknown, and a dash for missing values', () => {
    const p = formatSlackAlert(
      makeAlert(
        makeFinding({
          callerAccountId: null,
          context: { callerType: 'AWSService', sourceIpAddress: null, roleSessionName: null, externalId: null },
        }),
      ),
    );
    expect(field(p, 'Caller account')).toBe('AWSService');
    expect(field(p, 'Source IP')).toBe('–');
    expect(field(p, 'Session name')).toBe('–');
    expect(field(p, 'External ID')).toBe('–');
  });

  it('a repeat summary says how many times it repeated and over which span', () => {
    const p = formatSlackAlert(
      makeAlert(makeFinding(), { count: 3, lastAt: '2026-11-03T00:20:00Z', repeatSummary: true }),
    );
    expect(p.text).toBe(`CRITICAL unexpected-external-id repeated 3 times on Example Corp's role: ${ROLE_ARN}`);
    expect(blocksOf(p)[0]!.text!.text).toContain('repeated 3 times');
    expect(field(p, 'When (UTC)')).toBe('2026-11-02T23:47:31Z – 2026-11-03T00:20:00Z (3×)');
    // A first alert never says "repeated".
    expect(JSON.stringify(payload)).not.toMatch(/repeated/);
  });

  it('keeps the header within Slack’s 150 characters', () => {
    const p = formatSlackAlert(makeAlert(makeFinding({ context: { vendor: 'V'.repeat(400) } })));
    expect(blocksOf(p)[0]!.text!.text.length).toBeLessThanOrEqual(150);
  });
});

describe('formatSnsAlert', () => {
  const alert = makeAlert();
  const message = formatSnsAlert(alert);

  it('has filterable String attributes kind, severity and role', () => {
    expect(message.MessageAttributes).toEqual({
      kind: { DataType: 'String', StringValue: 'unexpected-external-id' },
      severity: { DataType: 'String', StringValue: 'critical' },
      role: { DataType: 'String', StringValue: ROLE_ARN },
    });
  });

  it('has a JSON body with the finding, its context, what was done and the next step', () => {
    const body = JSON.parse(message.Message) as Record<string, unknown>;
    expect(body).toEqual({
      source: 'roleguard',
      alertId: alert.alertId,
      repeatSummary: false,
      count: 1,
      firstAt: alert.firstAt,
      lastAt: alert.lastAt,
      finding: {
        kind: 'unexpected-external-id',
        severity: 'critical',
        roleArn: ROLE_ARN,
        eventId: alert.finding.eventId,
        assumedRoleId: alert.finding.assumedRoleId,
        callerAccountId: '999988887777',
        message: alert.finding.message,
      },
      context: alert.finding.context,
      action: alert.action,
      nextStep: alert.nextStep,
    });
  });

  it('marks a repeat summary with its count', () => {
    const body = JSON.parse(formatSnsAlert(makeAlert(makeFinding(), { count: 4, repeatSummary: true })).Message) as {
      repeatSummary: boolean;
      count: number;
    };
    expect(body).toMatchObject({ repeatSummary: true, count: 4 });
  });

  it('has an ASCII subject of fewer than 100 characters without line breaks', () => {
    expect(message.Subject).toBe('roleguard critical: unexpected-external-id on Example Corp');
    const long = formatSnsAlert(
      makeAlert(makeFinding({ context: { vendor: `Exämple\nCorp ☃ ${'x'.repeat(300)}` } })),
    ).Subject;
    expect(long.length).toBeLessThan(100);
    expect(long).toMatch(/^[\x20-\x7e]+$/);
    expect(long.startsWith('roleguard critical: unexpected-external-id on Ex?mple?Corp ? x')).toBe(true);
  });

  it('gives each kind its own kind attribute', () => {
    const kinds: FindingKind[] = [
      'unexpected-external-id',
      'retired-external-id',
      'missing-external-id',
      'untrusted-account',
      'denied-assume',
      'trust-policy-changed',
      'assumed-after-revocation',
      'revocation-tampered',
      'role-recreated',
    ];
    for (const kind of kinds)
      expect(formatSnsAlert(makeAlert(makeFinding({ kind }))).MessageAttributes.kind!.StringValue).toBe(kind);
  });
});

describe('the revocation policy in an alert', () => {
  const statement = (i: number) => ({
    Sid: `RoleguardSessions${i}`,
    Effect: 'Deny',
    Action: '*',
    Resource: '*',
    Condition: {
      StringEquals: { 'aws:userid': `AROA3XFRBF23EXAMPLE1:s-${i}` },
      DateLessThan: { 'aws:TokenIssueTime': '2026-11-02T10:05:01Z' },
    },
  });
  const policyOf = (n: number) => ({
    name: 'roleguard-revocations',
    document: { Version: '2012-10-17', Statement: Array.from({ length: n }, (_, i) => statement(i)) },
  });

  it('is shown whole in Slack when it fits a section, and whole in SNS', () => {
    const policy = policyOf(2);
    const alert = makeAlert(makeFinding(), { policy });
    const blocks = formatSlackAlert(alert).blocks as { text?: { text: string } }[];
    const block = blocks.find((b) => b.text?.text.startsWith('*Policy roleguard-revocations*'))!;
    expect(block.text!.text).toBe(`*Policy roleguard-revocations*\n\`\`\`${JSON.stringify(policy.document)}\`\`\``);
    expect(JSON.parse(formatSnsAlert(alert).Message)).toMatchObject({
      policyName: 'roleguard-revocations',
      policyDocument: policy.document,
    });
  });

  it('is cut to fit a Slack section (3,000 characters) with a note, and stays whole in SNS', () => {
    const policy = policyOf(40);
    const alert = makeAlert(makeFinding(), { policy });
    const text = (formatSlackAlert(alert).blocks as { text?: { text: string } }[]).find((b) =>
      b.text?.text.startsWith('*Policy'),
    )!.text!.text;
    expect(text.length).toBeLessThanOrEqual(3000);
    expect(text).toMatch(
      /^\*Policy roleguard-revocations \(first 2600 of \d+ characters; the SNS message has it whole\)\*/,
    );
    expect(JSON.parse(formatSnsAlert(alert).Message).policyDocument).toEqual(policy.document);
  });

  it('cannot break out of its code block or mention anyone', () => {
    const hostile = {
      name: 'roleguard-revocations',
      document: { Statement: [{ Sid: '```<!channel> & <https://evil.example|x>' }] },
    };
    const text = (
      formatSlackAlert(makeAlert(makeFinding(), { policy: hostile })).blocks as { text?: { text: string } }[]
    ).find((b) => b.text?.text.startsWith('*Policy'))!.text!.text;
    const inner = text.slice(text.indexOf('```') + 3, text.lastIndexOf('```'));
    expect(inner).not.toMatch(/[<>`]/);
    expect(inner).toContain('&lt;!channel&gt; &amp;');
  });

  it('is absent when nothing was revoked', () => {
    expect(JSON.stringify(formatSlackAlert(makeAlert()))).not.toContain('*Policy');
    expect(JSON.parse(formatSnsAlert(makeAlert()).Message).policyDocument).toBeUndefined();
  });
});

describe('the external ID', () => {
  it('appears in neither payload in full, only masked', () => {
    const alert = makeAlert();
    const masked = maskExternalId(RAW_EXTERNAL_ID)!;
    expect(masked).not.toContain(RAW_EXTERNAL_ID);
    const slack = JSON.stringify(formatSlackAlert(alert));
    const sns = JSON.stringify(formatSnsAlert(alert));
    for (const text of [slack, sns]) {
      expect(text).not.toContain(RAW_EXTERNAL_ID);
      // Not even a long piece of it.
      expect(text).not.toContain(RAW_EXTERNAL_ID.slice(0, 12));
    }
    expect(slack).toContain(JSON.stringify(masked).slice(1, -1));
    expect((JSON.parse(formatSnsAlert(alert).Message) as { context: { externalId: string } }).context.externalId).toBe(
      masked,
    );
    // Also in a repeat summary.
    const summary = makeAlert(alert.finding, { count: 2, repeatSummary: true });
    expect(JSON.stringify(formatSlackAlert(summary)) + JSON.stringify(formatSnsAlert(summary))).not.toContain(
      RAW_EXTERNAL_ID,
    );
  });
});

describe('event text in Slack', () => {
  const hostile = {
    mention: '<!channel> <!here> <@U0123ABCD> <#C0123|general>',
    link: '<https://evil.example/login|click here>',
    bold: '*bold* _it_ ~strike~',
    code: '```rm -rf /``` `x`',
    control: 'a\u0000b\nc\r\td\u001b[31m\u007f\u0085e\u2028f',
    bidi: 'invoice\u202egnp.exe \u2066x\u2069',
  };
  const all = Object.values(hostile).join(' ');
  const payload = formatSlackAlert(
    makeAlert(
      makeFinding({
        message: `session ${all} assumed the role`,
        context: {
          roleSessionName: all,
          userAgent: all,
          callerArn: `arn:aws:sts::999988887777:assumed-role/x/${all}`,
          sourceIpAddress: hostile.link,
        },
      }),
    ),
  );
  const texts = mrkdwnTexts(payload);

  it('cannot mention, link or address anyone', () => {
    for (const text of texts) {
      expect(text).not.toContain('<!');
      expect(text).not.toContain('<@');
      expect(text).not.toContain('<#');
      expect(text).not.toMatch(/<https?:/);
      expect(text).not.toMatch(/<[^ ]/);
    }
    expect(field(payload, 'Session name')).toContain('&lt;!channel&gt;');
    expect(field(payload, 'Source IP')).toContain('&lt;https://evil.example/login\u200b|\u200bclick here&gt;');
  });

  it('cannot format: every *, _, ~, ` and | is broken up by zero-width spaces', () => {
    const session = field(payload, 'Session name');
    expect(session).not.toContain('*bold*');
    expect(session).not.toContain('```');
    expect(session).not.toContain('_it_');
    for (const text of texts.slice(1)) {
      // Strip the formatting roleguard adds itself (the *Label* of a field or section) and check what remains.
      const body = text.replace(/^\*[A-Za-z ()]+\*\n/, '');
      expect(body.replace(/\u200b[*_~`|]\u200b/g, '')).not.toMatch(/[*_~`|]/);
    }
  });

  it('holds no control characters or bidirectional overrides', () => {
    for (const text of texts) {
      // eslint-disable-next-line no-control-regex -- the point of the test
      expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
    }
    // A line break in event text must not start a new line of the field.
    expect(field(payload, 'Session name')).not.toContain('\n');
    const raw = JSON.stringify(payload);
    expect(raw).not.toMatch(/\\u0000|\\u001b|\u202e|\u2066/);
  });

  it('bounds the length of event text', () => {
    const long = formatSlackAlert(
      makeAlert(
        makeFinding({
          context: { roleSessionName: 'a'.repeat(5000), callerArn: 'b'.repeat(5000) },
          message: 'c'.repeat(5000),
        }),
      ),
    );
    expect(field(long, 'Session name')).toBe(`${'a'.repeat(199)}…`);
    for (const text of mrkdwnTexts(long)) expect(text.length).toBeLessThan(3000);
    for (const text of allStrings(long.blocks)) expect(text.length).toBeLessThan(3000);
  });
});

describe('escapeMrkdwn', () => {
  it('escapes &, < and > once, ampersand first', () => {
    expect(escapeMrkdwn('a & <b> &lt;')).toBe('a &amp; &lt;b&gt; &amp;lt;');
  });
  it('shows a dash for nothing', () => {
    expect(escapeMrkdwn(null)).toBe('–');
    expect(escapeMrkdwn(undefined)).toBe('–');
    expect(escapeMrkdwn('')).toBe('–');
  });
  it('truncates to max characters before escaping, with an ellipsis', () => {
    expect(escapeMrkdwn('abcdef', 4)).toBe('abc…');
    expect(escapeMrkdwn('abcd', 4)).toBe('abcd');
  });
  it('replaces control characters with spaces', () => {
    expect(escapeMrkdwn('a\u0000b\nc\u202ed')).toBe('a b c d');
  });
});

describe('advice', () => {
  it('gives each finding kind a next step, and a contained-vs-revoked hint for external-ID misuse', () => {
    const kinds: FindingKind[] = [
      'unexpected-external-id',
      'retired-external-id',
      'missing-external-id',
      'untrusted-account',
      'denied-assume',
      'trust-policy-changed',
      'assumed-after-revocation',
      'revocation-tampered',
      'role-recreated',
    ];
    const steps = kinds.map((kind) => nextStepFor(makeFinding({ kind })));
    for (const step of steps) expect(step.length).toBeGreaterThan(20);
    expect(steps[0]).toMatch(/rotate/i);
    expect(steps[0]).toMatch(/StringEquals on sts:ExternalId/);
    expect(steps[2]).toMatch(/StringEquals sts:ExternalId/);
    expect(steps[3]).toMatch(/trustedAccounts/);
    expect(steps[5]).toMatch(/roleguard audit/);
    expect(steps[7]).toMatch(/puts it back from the revocations it keeps/);
    expect(steps[8]).toMatch(/new RoleId/);
  });

  it('says what was done, and that nothing was in a dry run', () => {
    expect(actionText(ROLE, false)).toBe("Alerted only: this role's response is alert.");
    expect(actionText(ROLE, true)).toMatch(/^Dry run: nothing was sent or changed\. /);
    expect(actionText({ ...ROLE, response: 'revoke' }, false)).toMatch(
      /^Alerted only: this role revokes sessions on critical findings about a successful assume, and this is not one\.$/,
    );
  });
});

describe('repeatKey', () => {
  it('is the same for the same kind, role, caller and external ID, whatever the event', () => {
    const a = makeFinding();
    expect(repeatKey(makeFinding())).toBe(repeatKey(a));
    expect(
      repeatKey(
        makeFinding({
          context: { sourceIpAddress: '203.0.113.9', roleSessionName: 'other', at: '2026-11-03T00:00:00Z' },
        }),
      ),
    ).toBe(repeatKey(a));
    expect(repeatKey(makeFinding({ kind: 'missing-external-id' }))).not.toBe(repeatKey(a));
    expect(repeatKey(makeFinding({ callerAccountId: '444455556666' }))).not.toBe(repeatKey(a));
    expect(repeatKey(makeFinding({ roleArn: `${ROLE_ARN}2` }))).not.toBe(repeatKey(a));
    expect(repeatKey(makeFinding({ context: { externalId: maskExternalId('another-id-entirely') } }))).not.toBe(
      repeatKey(a),
    );
  });
});
