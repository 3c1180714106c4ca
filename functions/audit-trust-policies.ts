import { accountAccessOf, createAlertingDeps } from '../lib/lambda-deps.js';
import { scheduledHandler } from '../lib/lambda-handler.js';
import { auditRegistry, iamTrustPolicyReader, notifyAudit } from '../lib/trust/index.js';

const deps = await createAlertingDeps();
// Each role is read in its own account (the spoke role's session roleguard-audit in a member account).
const read = iamTrustPolicyReader(accountAccessOf(deps));

/** Daily: read every registered role's trust policy and alert on posture problems (reads IAM, writes nothing to it). */
export const handler = scheduledHandler(deps, 'trust-policy audit', async (now) => {
  const { registry } = await deps.registry();
  const report = await auditRegistry(registry, read);
  for (const role of report.roles)
    for (const problem of role.problems)
      deps.logger.warn('trust-policy problem', { roleArn: role.roleArn, ...problem });
  return { summary: report.summary, notified: await notifyAudit(report, deps, now) };
});
