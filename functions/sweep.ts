import { sweepAlerts } from '../lib/alert/index.js';
import { createAlertingDeps, revocationDeps } from '../lib/lambda-deps.js';
import { scheduledHandler } from '../lib/lambda-handler.js';
import { protectedReason } from '../lib/revoke/respond.js';
import { sweepRevocations } from '../lib/revoke/service.js';

const deps = await createAlertingDeps(process.env, { revoking: true });
const revoking = revocationDeps(deps);

/**
 * Every few minutes: apply revocations a function recorded but could not apply, prune statements about expired
 * sessions, retry undelivered alerts and send one summary for findings that repeated. Revocations go first: they
 * matter most, and a failure there must not keep the alerts from going out (nor the reverse).
 */
export const handler = scheduledHandler(deps, 'sweep', async (now) => {
  let revocations: Awaited<ReturnType<typeof sweepRevocations>> | null = null;
  let failure: unknown = null;
  try {
    const index = await deps.registry();
    revocations = await sweepRevocations(revoking, now, {
      protectedReason: (roleArn) => protectedReason(roleArn, index.registry, deps.config.ownRoleArns),
      dryRun: (roleArn) => deps.config.dryRun || index.roleFor(roleArn)?.dryRun === true,
    });
  } catch (error) {
    failure = error;
  }
  const alerts = await sweepAlerts(deps.alerts, now);
  if (failure) throw failure;
  return { revocations, alerts };
});
