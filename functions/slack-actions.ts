import { LambdaClient } from '@aws-sdk/client-lambda';
import { createLogger } from '../lib/logger.js';
import { createDecisionStore } from '../lib/slack-actions/decisions.js';
import { slackActionsHttpHandler } from '../lib/slack-actions/receiver-handler.js';
import {
  lambdaEnqueue,
  receiverDocumentClient,
  requiredSetting,
  signingSecretReader,
} from '../lib/slack-actions/receiver-live.js';

// Read once per cold start; a missing setting fails the cold start. Only the receiver's modules are imported, so
// the bundle holds no revocation or rotation code.
const env = process.env;
const logger = createLogger();

/**
 * `POST /slack/actions` (API Gateway HTTP API): verifies Slack's signature, refuses replays, answers within Slack's
 * 3 seconds and hands the click to the slackActionWorker function, which acts. It writes nothing but request nonces.
 */
export const handler = slackActionsHttpHandler({
  // The stage's slackActions param: off, the route is deployed but answers 404 (docs/slack-app.md).
  enabled: env.SLACK_ACTIONS?.trim().toLowerCase() === 'true',
  signingSecret: signingSecretReader(requiredSetting(env, 'SLACK_SIGNING_SECRET_PARAMETER')),
  decisions: createDecisionStore(receiverDocumentClient(), requiredSetting(env, 'DECISIONS_TABLE')),
  enqueue: lambdaEnqueue(new LambdaClient({}), requiredSetting(env, 'SLACK_ACTION_FUNCTION')),
  logger,
  now: () => new Date(),
});
