import { actionsBlock, actionsFor } from '../slack-actions/buttons.js';
import type { SlackActionKind } from '../slack-actions/types.js';
import { escapeMrkdwn as e } from './escape.js';
import type { Alert } from './types.js';

const ICON: Record<string, string> = {
  critical: ':rotating_light:',
  high: ':warning:',
  medium: ':large_orange_diamond:',
  low: ':information_source:',
};

/**
 * A Slack incoming-webhook payload (Block Kit) for an alert. With `buttons` (the Slack app is set up, see
 * docs/slack-app.md) it carries the buttons of the given actions, or of every action the finding calls for
 * (`true`); without, none. Pure.
 */
export function formatSlackAlert(
  alert: Alert,
  options: { buttons?: boolean | SlackActionKind[] } = {},
): { text: string; blocks: unknown[] } {
  const f = alert.finding;
  const c = f.context;
  const title = alert.repeatSummary
    ? `${f.severity.toUpperCase()} ${f.kind} repeated ${alert.count} times on ${c.vendor}'s role`
    : `${f.severity.toUpperCase()}: ${f.kind} on ${c.vendor}'s role`;
  const field = (label: string, value: string | null) => ({ type: 'mrkdwn', text: `*${label}*\n${e(value)}` });
  return {
    // Notification text (also what screen readers and mobile previews show).
    text: `${title}: ${f.roleArn}`,
    blocks: [
      {
        type: 'header',
        text: { type: 'plain_text', text: `${ICON[f.severity] ?? ''} ${title}`.trim().slice(0, 150), emoji: true },
      },
      { type: 'section', text: { type: 'mrkdwn', text: e(f.message, 500) } },
      {
        type: 'section',
        fields: [
          field('Role', f.roleArn),
          field('Vendor', c.vendor),
          field('Caller account', f.callerAccountId ?? c.callerType),
          field('Source IP', c.sourceIpAddress),
          field('Session name', c.roleSessionName),
          field('External ID', c.externalId),
          field('When (UTC)', alert.count > 1 ? `${alert.firstAt} – ${alert.lastAt} (${alert.count}×)` : alert.firstAt),
          field('Event', f.eventId),
        ],
      },
      { type: 'section', text: { type: 'mrkdwn', text: `*What roleguard did*\n${e(alert.action, 500)}` } },
      ...(alert.policy ? [policyBlock(alert.policy)] : []),
      { type: 'section', text: { type: 'mrkdwn', text: `*Next step*\n${e(alert.nextStep, 500)}` } },
      ...buttonsOf(alert, options.buttons),
      {
        type: 'context',
        elements: [{ type: 'mrkdwn', text: `roleguard · alert ${e(alert.alertId)} · caller ${e(c.callerArn)}` }],
      },
    ],
  };
}

function buttonsOf(alert: Alert, buttons: boolean | SlackActionKind[] | undefined): unknown[] {
  if (!buttons) return [];
  const actions = buttons === true ? actionsFor(alert) : buttons;
  return actions.length ? [actionsBlock(alert, actions)] : [];
}

/** Slack sections hold 3,000 characters: the policy is shown compact, and cut with a note when it is longer. */
const POLICY_CHARS = 2600;

function policyBlock(policy: NonNullable<Alert['policy']>): unknown {
  const json = JSON.stringify(policy.document);
  const shown = json.length > POLICY_CHARS ? `${json.slice(0, POLICY_CHARS)}…` : json;
  const note =
    json.length > POLICY_CHARS
      ? ` (first ${POLICY_CHARS} of ${json.length} characters; the SNS message has it whole)`
      : '';
  // Inside a code block Slack renders no formatting, but <, > and & must still be escaped; backticks would end it.
  const safe = shown.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/`/g, "'");
  return { type: 'section', text: { type: 'mrkdwn', text: `*Policy ${e(policy.name)}${note}*\n\`\`\`${safe}\`\`\`` } };
}
