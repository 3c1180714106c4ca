import { createAlertingDeps, revocationDeps } from '../lib/lambda-deps.js';
import { queuedEventHandler } from '../lib/queue-handler.js';
import { liveReapplier } from '../lib/trust/reapply.js';

const alerting = await createAlertingDeps();
// Re-applying roleguard's revocation policy after someone else changed it: IAM, under the role's lock.
const deps = { ...alerting, reapply: liveReapplier(revocationDeps(alerting)) };

/**
 * The IAM queue (SQS batches of EventBridge IAM UpdateAssumeRolePolicy, PutRolePolicy, DeleteRolePolicy, DeleteRole
 * or CreateRole events, from this account and every spoke) → detect a change of a guarded role made outside
 * roleguard, re-apply a tampered revocation policy, alert; a failed record alone returns to the queue.
 */
export const handler = queuedEventHandler(deps);
