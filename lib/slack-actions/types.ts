/** The buttons a Slack alert can carry; the action id of each button. */
export const SLACK_ACTIONS = ['revoke-session', 'revoke-role', 'start-rotation', 'acknowledge'] as const;

/** One of the actions a person can take from an alert. */
export type SlackActionKind = (typeof SLACK_ACTIONS)[number];

/**
 * What the receiver hands the action function: the raw signed body and Slack's headers, as Slack sent them. The
 * action function trusts nothing else in its event: it verifies the signature again, requires the receiver's
 * request nonce, and reads the click from the verified body.
 */
export interface SlackHandover {
  /** The form body Slack signed, byte for byte. */
  body: string;
  /** `X-Slack-Request-Timestamp`. */
  timestamp: string;
  /** `X-Slack-Signature` (`v0=…`). */
  signature: string;
  /** When the receiver took the request (ISO-8601). */
  receivedAt: string;
}

/**
 * A verified click, as the action function reads it from the signed body the receiver handed over. It carries the finding's alert id and the
 * action's name only: what to do is rebuilt from the stored finding.
 */
export interface SlackActionRequest {
  alertId: string;
  action: SlackActionKind;
  /** The Slack user who clicked (U…), and their name for display. */
  userId: string;
  userName: string | null;
  /** Slack's URL for updating the message the button was on. */
  responseUrl: string;
  /** When the receiver took the request (ISO-8601). */
  receivedAt: string;
}

/** How a decision ended. */
export type DecisionStatus = 'started' | 'done' | 'refused' | 'failed';

/** One entry of the audit trail: who did what, when, on which finding, and the outcome. */
export interface Decision {
  decisionId: string;
  alertId: string;
  action: SlackActionKind;
  userId: string;
  userName: string | null;
  at: string;
  status: DecisionStatus;
  /** What happened, in words (the policy written, or why not). */
  outcome: string;
  roleArn: string | null;
  findingKind: string | null;
  eventId: string | null;
  /** The role's revocation policy after a revocation, when one was decided. */
  policy?: { name: string; document: unknown } | null;
  dryRun?: boolean;
}
