import { createAlertingRevokingDeps } from '../lib/lambda-deps.js';
import { liveActionDeps } from '../lib/slack-actions/live.js';
import { slackActionHandler } from '../lib/slack-actions/worker-handler.js';

// Alerting and revoking deps: rotation notices go to the alert channels, revocations to IAM. Fails the cold start
// when something is missing.
const deps = await createAlertingRevokingDeps(process.env);

/**
 * Carries out a Slack click the slackActions function handed over (an asynchronous invoke): revoke a session or the
 * role, start a rotation, or acknowledge; records the decision and updates the message.
 */
export const handler = slackActionHandler({ ...liveActionDeps(deps, process.env), logger: deps.logger });
