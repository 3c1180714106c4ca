import { sweepAlerts } from '../lib/alert/index.js';
import { createAlertingDeps } from '../lib/lambda-deps.js';
import { scheduledHandler } from '../lib/lambda-handler.js';

const deps = await createAlertingDeps();

/** Every few minutes: retry undelivered alerts and send one summary for findings that repeated. */
export const handler = scheduledHandler(deps, 'sweep', (now) => sweepAlerts(deps.alerts, now));
