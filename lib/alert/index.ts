export { nextStepFor } from './advice.js';
export {
  type AlertSenders,
  DEFAULT_DELIVERY_POLICY,
  type DeliveryDeps,
  type DeliveryPolicy,
  deliverAlert,
  sendWithRetry,
  sweepAlerts,
} from './deliver.js';
export { escapeMrkdwn } from './escape.js';
export { formatSlackAlert } from './format-slack.js';
export { formatSnsAlert } from './format-sns.js';
export {
  type Admission,
  admissionWrites,
  alertsTableDefinition,
  createOutbox,
  type Outbox,
  repeatKey,
  type StoredAlert,
} from './outbox.js';
export { type Action, type AlertResponseOptions, actionText, respondToFindings } from './respond.js';
export { slackSender, snsSender } from './senders.js';
export type { Alert, Channel } from './types.js';
