import { createAlertingDeps } from '../lib/lambda-deps.js';
import { cloudTrailEventHandler } from '../lib/lambda-handler.js';

// Built once per cold start; a bad configuration fails here, loudly, before any event is taken. An unreadable Slack
// webhook does not: recording, detection and revocation go on, and alerts go out on SNS (see lib/lambda-deps.ts).
const deps = await createAlertingDeps(process.env, { revoking: true });

/** EventBridge → STS assume events → record the session, detect, revoke (roles with response: revoke), alert. */
export const handler = cloudTrailEventHandler(deps);
