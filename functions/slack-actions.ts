import { LambdaClient } from '@aws-sdk/client-lambda';
import { createDocumentClient } from '../lib/deps.js';
import { createLogger } from '../lib/logger.js';
import { createDecisionStore, slackActionsHttpHandler } from '../lib/slack-actions/index.js';
import { lambdaEnqueue, requiredSetting, signingSecretReader } from '../lib/slack-actions/live.js';

// Read once per cold start; a missing setting fails the cold start.
const env = process.env;
const logger = createLogger();

/**
 * `POST /slack/actions` (API Gateway HTTP API): verifies Slack's signature, refuses replays, answers within Slack's
 * 3 seconds and hands the click to the slackActionWorker function, which acts. It writes nothing but request nonces.
 */
export const handler = slackActionsHttpHandler({
  signingSecret: signingSecretReader(requiredSetting(env, 'SLACK_SIGNING_SECRET_PARAMETER')),
  decisions: createDecisionStore(createDocumentClient(), requiredSetting(env, 'DECISIONS_TABLE')),
  enqueue: lambdaEnqueue(new LambdaClient({}), requiredSetting(env, 'SLACK_ACTION_FUNCTION')),
  logger,
  now: () => new Date(),
});
