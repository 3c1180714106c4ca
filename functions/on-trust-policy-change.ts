import { createAlertingDeps } from '../lib/lambda-deps.js';
import { cloudTrailEventHandler } from '../lib/lambda-handler.js';

const deps = await createAlertingDeps(process.env, { revoking: true });

/**
 * EventBridge → IAM UpdateAssumeRolePolicy, PutRolePolicy, DeleteRolePolicy, DeleteRole, CreateRole on a guarded role →
 * detect a change made outside roleguard, re-apply a tampered revocation policy, alert.
 */
export const handler = cloudTrailEventHandler(deps);
