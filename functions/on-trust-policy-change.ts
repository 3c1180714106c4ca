import { createAlertingDeps } from '../lib/lambda-deps.js';
import { cloudTrailEventHandler } from '../lib/lambda-handler.js';

const deps = await createAlertingDeps();

/** EventBridge → IAM UpdateAssumeRolePolicy → detect a change made outside roleguard, alert. */
export const handler = cloudTrailEventHandler(deps);
