import { sweepAlerts } from '../lib/alert/index.js';
import { createAlertingRevokingDeps, revocationDeps } from '../lib/lambda-deps.js';
import { scheduledHandler } from '../lib/lambda-handler.js';
import { emitMetrics } from '../lib/metrics.js';
import { protectedReason } from '../lib/revoke/respond.js';
import { sweepRevocations } from '../lib/revoke/service.js';

const deps = await createAlertingRevokingDeps(process.env);
const revoking = revocationDeps(deps);
/** Where the registry cannot be read: only the checks that need none (protected paths, own roles, DRY_RUN). */
const NO_REGISTRY = { protectedRoleArns: [], serviceRoleArns: [] };

/**
 * Every few minutes: apply revocations a function recorded but could not apply, prune statements about expired
 * sessions, retry undelivered alerts and send one summary for findings that repeated. Revocations go first: they
 * matter most, and a failure there must not keep the alerts from going out (nor the reverse). A registry that cannot
 * be read does not hold deferred revocations back either: they are applied with the checks that need no registry,
 * and the run still fails afterwards so that the failure is seen (logged, and counted by the sweep-failure alarm).
 */
export const handler = scheduledHandler(deps, 'sweep', async (now) => {
  let revocations: Awaited<ReturnType<typeof sweepRevocations>> | null = null;
  let failure: unknown = null;
  try {
    let index: Awaited<ReturnType<typeof deps.registry>> | null = null;
    try {
      index = await deps.registry();
    } catch (error) {
      failure = error;
      deps.logger.error('the registry cannot be read; applying deferred revocations with the checks that need none', {
        error: error as Error,
      });
    }
    revocations = await sweepRevocations(revoking, now, {
      protectedReason: (roleArn) => protectedReason(roleArn, index?.registry ?? NO_REGISTRY, deps.config.ownRoleArns),
      dryRun: (roleArn) => deps.config.dryRun || index?.roleFor(roleArn)?.dryRun === true,
    });
  } catch (error) {
    failure = error;
  }
  const alerts = await sweepAlerts(deps.alerts, now);
  // Revocations the sweep could not apply (failed again, or expired unapplied), and a failed run: the sweep-failure
  // alarm watches this.
  emitMetrics({ SweepFailures: (revocations?.retrying ?? 0) + (revocations?.expired ?? 0) + (failure ? 1 : 0) });
  if (failure) throw failure;
  return { revocations, alerts };
});
