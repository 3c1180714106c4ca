import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { createAlertingDeps } from '../lib/lambda-deps.js';
import { scheduledHandler } from '../lib/lambda-handler.js';
import { loadCoverageConfig } from '../lib/org/coverage-config.js';
import { syncCoverage } from '../lib/org/coverage-sync.js';

const deps = await createAlertingDeps();
const coverage = loadCoverageConfig(process.env);
// Organizations and the StackSets only with an organization; without one, the hub account alone is expected.
const clients = {
  organizations: coverage.orgId ? new OrganizationsClient({ maxAttempts: 5 }) : null,
  cloudformation: coverage.orgId && coverage.stackSets ? new CloudFormationClient({ maxAttempts: 5 }) : null,
};

/** Scheduled: the organization's accounts and Regions against the deployed spokes; a missing spoke is a coverage gap. */
export const handler = scheduledHandler(deps, 'account sync', (now) => syncCoverage(deps, coverage, clients, now));
