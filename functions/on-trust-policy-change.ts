import { createAlertingDeps, revocationDeps } from '../lib/lambda-deps.js';
import { cloudTrailEventHandler } from '../lib/lambda-handler.js';
import { liveReapplier } from '../lib/trust/reapply.js';

const alerting = await createAlertingDeps();
// Re-applying roleguard's revocation policy after someone else changed it: IAM, under the role's lock.
const deps = { ...alerting, reapply: liveReapplier(revocationDeps(alerting)) };

/**
 * EventBridge → IAM UpdateAssumeRolePolicy, PutRolePolicy, DeleteRolePolicy, DeleteRole or CreateRole of a guarded
 * role → detect a change made outside roleguard, re-apply a tampered revocation policy, alert.
 */
export const handler = cloudTrailEventHandler(deps);
