import { escapeMrkdwn as e } from '../alert/escape.js';
import { formatSlackAlert } from '../alert/format-slack.js';
import type { Alert } from '../alert/types.js';
import { actionLabel, actionsFor } from './buttons.js';
import type { Decision, SlackActionKind } from './types.js';

/** A message for Slack's response_url: the alert updated in place, or a note only the clicker sees. */
export interface SlackReply {
  text: string;
  blocks?: unknown[];
  replace_original: boolean;
  response_type?: 'ephemeral' | 'in_channel';
}

const ICON: Record<Decision['status'], string> = {
  started: ':hourglass:',
  done: ':white_check_mark:',
  refused: ':no_entry:',
  failed: ':x:',
};

/** One line on a decision: who did what, when, and the outcome. Pure. */
export function decisionLine(d: Pick<Decision, 'status' | 'action' | 'userId' | 'at' | 'outcome'>): string {
  return `${ICON[d.status]} *${actionLabel(d.action)}* by <@${d.userId}> at ${d.at}: ${e(d.outcome, 1500)}`;
}

/**
 * The alert as updated after a decision: the decision on top of what roleguard did, the policy written (if any),
 * and the buttons of the finding's actions not decided yet: `decided` (the actions done or refused for good on this
 * alert) and this decision's own action, unless it failed (a failed one may be tried again), are left out. Pure.
 */
export function updatedAlertMessage(alert: Alert, decision: Decision, decided: SlackActionKind[] = []): SlackReply {
  const shown: Alert = decision.policy ? { ...alert, policy: decision.policy } : alert;
  const gone = new Set([...decided, ...(decision.status === 'failed' ? [] : [decision.action])]);
  const { text, blocks } = formatSlackAlert(shown, { buttons: actionsFor(alert).filter((a) => !gone.has(a)) });
  const at = blocks.findIndex((b) => (b as { type?: string }).type === 'context');
  const line = { type: 'section', text: { type: 'mrkdwn', text: decisionLine(decision) } };
  return { replace_original: true, text, blocks: [...blocks.slice(0, at), line, ...blocks.slice(at)] };
}

/** A note to the clicker only: the message itself is left as it is. Pure. */
export function ephemeralNote(text: string): SlackReply {
  return { response_type: 'ephemeral', replace_original: false, text: text.slice(0, 3000) };
}
