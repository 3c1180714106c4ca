import { createAlertingRevokingDeps } from '../lib/lambda-deps.js';
import { assumeEventHandler } from '../lib/queue-handler.js';

// Built once per cold start; a bad configuration fails here, loudly, before any event is taken. An unreadable Slack
// webhook does not: recording, detection and revocation go on, and alerts go out on SNS (see lib/lambda-deps.ts).
const deps = await createAlertingRevokingDeps(process.env);

/**
 * The STS queue (SQS batches of EventBridge STS assume events, from this account and every spoke) → record the
 * session, detect, revoke (roles with response: revoke), alert; a failed record alone returns to the queue.
 */
export const handler = assumeEventHandler(deps);
