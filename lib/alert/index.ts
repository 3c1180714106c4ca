export type { Alert, Channel } from './types.js';
export { escapeMrkdwn } from './escape.js';
export { formatSlackAlert } from './format-slack.js';
export { formatSnsAlert } from './format-sns.js';
export { nextStepFor } from './advice.js';
export { createOutbox, alertsTableDefinition, repeatKey, type Outbox, type StoredAlert, type Admission } from './outbox.js';
export { deliverAlert, sweepAlerts, sendWithRetry, DEFAULT_DELIVERY_POLICY, type AlertSenders, type DeliveryPolicy, type DeliveryDeps } from './deliver.js';
export { respondToFindings, actionText, type Action, type AlertResponseOptions } from './respond.js';
export { slackSender, snsSender } from './senders.js';
