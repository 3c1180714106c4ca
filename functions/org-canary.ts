import { createAlertingDeps } from '../lib/lambda-deps.js';
import { scheduledHandler } from '../lib/lambda-handler.js';
import { runCanary, stsRegionalAssume } from '../lib/org/coverage-canary.js';
import { loadCoverageConfig } from '../lib/org/coverage-config.js';

const deps = await createAlertingDeps();
const coverage = loadCoverageConfig(process.env);
const assume = stsRegionalAssume();

/** Scheduled: assume each covered account's spoke role in each Region and expect the event back on the hub. */
export const handler = scheduledHandler(deps, 'coverage canary', (now) => runCanary(deps, coverage, assume, now));
