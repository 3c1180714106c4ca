import { describe, expect, it } from '@jest/globals';
import { formatSlackAlert, sendWithRetry } from '../../../lib/alert/index.js';
import { loadConfig } from '../../../lib/config.js';
import { RegistryError } from '../../../lib/registry/index.js';
import { parseRegistryText } from '../../../lib/registry/text.js';
import {
  actionsFor,
  parseSlackClick,
  SlackRequestRejected,
  slackResponder,
  slackSignature,
  updatedAlertMessage,
  verifySlackRequest,
} from '../../../lib/slack-actions/index.js';
import { makeAlert, makeFinding } from '../alert/fixtures.js';

const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const NOW = new Date('2026-11-02T23:50:00Z');
const TS = String(NOW.getTime() / 1000);

describe('verifySlackRequest', () => {
  const body = 'payload=%7B%7D';
  const headers = (overrides: Record<string, string | undefined> = {}) => ({
    'x-slack-request-timestamp': TS,
    'x-slack-signature': slackSignature(SECRET, TS, body),
    ...overrides,
  });
  const reason = (fn: () => unknown) => {
    try {
      fn();
    } catch (error) {
      expect(error).toBeInstanceOf(SlackRequestRejected);
      return (error as SlackRequestRejected).reason;
    }
    return 'accepted';
  };

  it("matches Slack's documented example signature", () => {
    // https://api.slack.com/authentication/verifying-requests-from-slack
    const example =
      'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
    expect(slackSignature(SECRET, '1531420618', example)).toBe(
      'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
    );
  });

  it('accepts a valid request and returns its signature', () => {
    expect(verifySlackRequest(headers(), body, SECRET, NOW)).toBe(headers()['x-slack-signature']);
  });

  it('refuses missing headers, a stale or malformed timestamp, and a wrong or truncated signature', () => {
    expect(reason(() => verifySlackRequest(headers({ 'x-slack-signature': undefined }), body, SECRET, NOW))).toBe(
      'missing-header',
    );
    expect(reason(() => verifySlackRequest(headers({ 'x-slack-request-timestamp': '' }), body, SECRET, NOW))).toBe(
      'missing-header',
    );
    const old = String(NOW.getTime() / 1000 - 301);
    expect(
      reason(() =>
        verifySlackRequest(
          { 'x-slack-request-timestamp': old, 'x-slack-signature': slackSignature(SECRET, old, body) },
          body,
          SECRET,
          NOW,
        ),
      ),
    ).toBe('stale-timestamp');
    expect(reason(() => verifySlackRequest(headers({ 'x-slack-request-timestamp': '1e9' }), body, SECRET, NOW))).toBe(
      'stale-timestamp',
    );
    expect(reason(() => verifySlackRequest(headers(), `${body}x`, SECRET, NOW))).toBe('bad-signature');
    expect(reason(() => verifySlackRequest(headers(), body, 'other', NOW))).toBe('bad-signature');
    const truncated = headers()['x-slack-signature'].slice(0, -1);
    expect(reason(() => verifySlackRequest(headers({ 'x-slack-signature': truncated }), body, SECRET, NOW))).toBe(
      'bad-signature',
    );
  });
});

describe('parseSlackClick', () => {
  const form = (payload: unknown) => `payload=${encodeURIComponent(JSON.stringify(payload))}`;
  const click = (overrides: Record<string, unknown> = {}) => ({
    type: 'block_actions',
    user: { id: 'UAUDIT001', username: 'ana' },
    response_url: 'https://hooks.slack.com/actions/T0/1/x',
    actions: [{ action_id: 'revoke-role', value: '0123456789abcdef0123' }],
    ...overrides,
  });

  it('reads who clicked which button on which finding', () => {
    expect(parseSlackClick(form(click()))).toEqual({
      userId: 'UAUDIT001',
      userName: 'ana',
      action: 'revoke-role',
      alertId: '0123456789abcdef0123',
      responseUrl: 'https://hooks.slack.com/actions/T0/1/x',
    });
  });

  it('refuses values that are not a finding id (a role ARN, a command), unknown actions and other interactions', () => {
    for (const value of [`arn:aws:iam::111122223333:role/X`, 'revoke --all', '', '0123456789ABCDEF0123'])
      expect(() => parseSlackClick(form(click({ actions: [{ action_id: 'revoke-role', value }] })))).toThrow(
        /not a finding id/,
      );
    expect(() =>
      parseSlackClick(form(click({ actions: [{ action_id: 'delete-role', value: '0123456789abcdef0123' }] }))),
    ).toThrow(/unknown action/);
    expect(() => parseSlackClick(form(click({ type: 'view_submission' })))).toThrow(/unsupported/);
    expect(() => parseSlackClick(form(click({ user: { id: 'not a user' } })))).toThrow(/user id/);
    expect(() => parseSlackClick('payload=%7Bnot json')).toThrow(/not JSON/);
    expect(() => parseSlackClick('text=hello')).toThrow(/no payload/);
  });
});

describe('the buttons', () => {
  it('fit the finding', () => {
    const session = makeFinding({ kind: 'unexpected-external-id', assumedRoleId: 'AROA3XFRBF23EXAMPLE1:scan' });
    expect(actionsFor(makeAlert(session))).toEqual(['revoke-session', 'revoke-role', 'start-rotation', 'acknowledge']);
    // Revoked automatically: no session button.
    expect(actionsFor(makeAlert(session, { policy: { name: 'roleguard-revocations', document: {} } }))).toEqual([
      'revoke-role',
      'start-rotation',
      'acknowledge',
    ]);
    expect(actionsFor(makeAlert(makeFinding({ kind: 'untrusted-account' })))).not.toContain('start-rotation');
    expect(actionsFor(makeAlert(makeFinding({ kind: 'denied-assume', assumedRoleId: null })))).toEqual(['acknowledge']);
    expect(actionsFor(makeAlert(makeFinding({ assumedRoleId: 'not-an-id' })))).not.toContain('revoke-session');
  });

  it('are redrawn after a decision without the actions already decided on the alert', () => {
    const alert = makeAlert(makeFinding({ assumedRoleId: 'AROA3XFRBF23EXAMPLE1:scan' }));
    const types = (blocks: unknown[] | undefined) => (blocks as { type: string }[]).map((b) => b.type);
    expect(types(formatSlackAlert(alert, { buttons: true }).blocks)).toContain('actions');
    const decision = {
      decisionId: 'd',
      alertId: alert.alertId,
      action: 'acknowledge' as const,
      userId: 'UAUDIT001',
      userName: null,
      at: NOW.toISOString(),
      outcome: 'Acknowledged: no more repeat summaries for this finding.',
      roleArn: alert.finding.roleArn,
      findingKind: alert.finding.kind,
      eventId: alert.finding.eventId,
    };
    const buttons = (reply: { blocks?: unknown[] }) =>
      (reply.blocks as { type: string; elements?: { action_id: string }[] }[])
        .filter((b) => b.type === 'actions')
        .flatMap((b) => b.elements!.map((e) => e.action_id));
    // Done: its own button goes, the others stay.
    expect(buttons(updatedAlertMessage(alert, { ...decision, status: 'done' }))).toEqual([
      'revoke-session',
      'revoke-role',
      'start-rotation',
    ]);
    // Refused by what it found (its claim is held: a new click is told so): the same.
    expect(buttons(updatedAlertMessage(alert, { ...decision, status: 'refused' }))).toEqual([
      'revoke-session',
      'revoke-role',
      'start-rotation',
    ]);
    // Failed: it may be tried again; and the actions decided before stay gone.
    expect(buttons(updatedAlertMessage(alert, { ...decision, status: 'failed' }, ['revoke-role']))).toEqual([
      'revoke-session',
      'start-rotation',
      'acknowledge',
    ]);
    const all = ['revoke-session', 'revoke-role', 'start-rotation'] as const;
    expect(types(updatedAlertMessage(alert, { ...decision, status: 'done' }, [...all]).blocks)).not.toContain(
      'actions',
    );
  });
});

describe('the buttons flag (the slackActions param)', () => {
  const types = (payload: { blocks: unknown[] }) => (payload.blocks as { type: string }[]).map((b) => b.type);

  it('draws no actions block unless the Slack app is set up', () => {
    const alert = makeAlert(makeFinding({ assumedRoleId: 'AROA3XFRBF23EXAMPLE1:scan' }));
    expect(types(formatSlackAlert(alert))).not.toContain('actions');
    expect(types(formatSlackAlert(alert, { buttons: false }))).not.toContain('actions');
    expect(types(formatSlackAlert(alert, { buttons: true }))).toContain('actions');
  });

  it('is read from SLACK_ACTIONS, off by default', () => {
    const env = { SESSIONS_TABLE: 's', REGISTRY_TABLE: 'r', ALERTS_TABLE: 'a' };
    expect(loadConfig(env).slackActions).toBe(false);
    expect(loadConfig({ ...env, SLACK_ACTIONS: 'true' }).slackActions).toBe(true);
    expect(() => loadConfig({ ...env, SLACK_ACTIONS: 'yes' })).toThrow(/SLACK_ACTIONS must be true or false/);
  });

  it('reaches the Slack sender: an alert delivered with it carries the buttons, without it none', async () => {
    const alert = makeAlert(makeFinding({ assumedRoleId: 'AROA3XFRBF23EXAMPLE1:scan' }));
    const sent: { blocks: unknown[] }[] = [];
    const deps = {
      senders: { slack: async (p: { text: string; blocks: unknown[] }) => void sent.push(p) },
      policy: { attemptsNow: 1, baseDelayMs: 0, maxAttempts: 1, sleep: async () => undefined },
    };
    await sendWithRetry('slack', alert, deps);
    await sendWithRetry('slack', alert, { ...deps, slackButtons: true });
    expect(types(sent[0]!)).not.toContain('actions');
    expect(types(sent[1]!)).toContain('actions');
  });
});

describe('the response_url', () => {
  it("is posted to only on Slack's origin", async () => {
    await expect(
      slackResponder()('http://169.254.169.254/latest', { text: 'x', replace_original: false }),
    ).rejects.toThrow(/not a Slack URL/);
  });
});

describe('registry approvers', () => {
  const text = (top: string, role: string) => `${top}
roles:
  - roleArn: arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit
    vendor: Example Corp
    trustedAccounts: ["999988887777"]
    externalIds: { current: "ec-7Hq2vN9xK4pL8mR3" }${role}`;

  it('are read globally and per role, and optional', () => {
    const registry = parseRegistryText(text('approvers: [U0123ABCD]', '\n    approvers: [W0123ABCD]'), 'r.yaml');
    expect(registry.approvers).toEqual(['U0123ABCD']);
    expect(registry.roles[0]!.approvers).toEqual(['W0123ABCD']);
    expect(parseRegistryText(text('', ''), 'r.yaml')).not.toHaveProperty('approvers');
  });

  it('must be Slack user IDs', () => {
    expect(() => parseRegistryText(text('approvers: [alice]', ''), 'r.yaml')).toThrow(RegistryError);
    expect(() => parseRegistryText(text('', '\n    approvers: ["@bob"]'), 'r.yaml')).toThrow(
      /roles\[0\].*approvers\[0\]: not a Slack user ID/,
    );
  });
});
