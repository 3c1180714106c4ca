import type { Alert } from '../alert/types.js';
import { isAssumedRoleId } from '../revoke/policy.js';
import type { SlackActionKind } from './types.js';

const EXTERNAL_ID_KINDS = new Set(['unexpected-external-id', 'retired-external-id', 'missing-external-id']);

/**
 * The actions a finding calls for, from the alert alone. The buttons are drawn from it, and the action function
 * checks every click against it again on the stored alert, so a forged value can do nothing the finding does not
 * call for. Pure.
 */
export function actionsFor(alert: Pick<Alert, 'finding' | 'policy'>): SlackActionKind[] {
  const f = alert.finding;
  const actions: SlackActionKind[] = [];
  // A session to revoke: the finding names a valid one, and roleguard did not revoke it (or decide to) already.
  if (f.kind !== 'denied-assume' && f.assumedRoleId && isAssumedRoleId(f.assumedRoleId) && !alert.policy)
    actions.push('revoke-session');
  // A denied assume issued no session: there is nothing of the role to revoke on its account. A coverage gap names
  // roleguard's own spoke role, never a role to revoke.
  if (f.kind !== 'denied-assume' && f.kind !== 'coverage-gap') actions.push('revoke-role');
  if (EXTERNAL_ID_KINDS.has(f.kind)) actions.push('start-rotation');
  actions.push('acknowledge');
  return actions;
}

const LABEL: Record<SlackActionKind, string> = {
  'revoke-session': 'Revoke this session',
  'revoke-role': 'Revoke all sessions of the role',
  'start-rotation': 'Start rotation',
  acknowledge: 'Acknowledge',
};

const plain = (text: string) => ({ type: 'plain_text', text, emoji: false });

/**
 * The Block Kit `actions` block of an alert: one button per action (by default every action the finding calls for),
 * each valued with the alert id only. Pure.
 */
export function actionsBlock(
  alert: Pick<Alert, 'alertId' | 'finding' | 'policy'>,
  actions: SlackActionKind[] = actionsFor(alert),
): unknown {
  return {
    type: 'actions',
    block_id: 'roleguard-actions',
    elements: actions.map((action) => ({
      type: 'button',
      action_id: action,
      text: plain(LABEL[action]),
      value: alert.alertId,
      ...(action.startsWith('revoke') ? { style: 'danger' } : action === 'acknowledge' ? {} : { style: 'primary' }),
      ...(action === 'revoke-role'
        ? {
            confirm: {
              title: plain('Revoke every session?'),
              text: plain(
                "Every session of this role issued until now is denied, the vendor's legitimate ones too. New sessions are not affected.",
              ),
              confirm: plain('Revoke all sessions'),
              deny: plain('Cancel'),
              style: 'danger',
            },
          }
        : {}),
    })),
  };
}

/** The label of an action, for messages and the audit trail. */
export function actionLabel(action: SlackActionKind): string {
  return LABEL[action];
}
