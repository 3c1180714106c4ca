import { type CloudFormationClient, ListStackInstancesCommand } from '@aws-sdk/client-cloudformation';
import { ListAccountsCommand, type OrganizationsClient } from '@aws-sdk/client-organizations';
import type { Deps } from '../deps.js';
import { compareCoverage, isDeployProblem, type SpokeInstance } from './coverage.js';
import { alertGap } from './coverage-alert.js';
import type { CoverageConfig } from './coverage-config.js';
import { createCoverageStore } from './coverage-store.js';

/** The clients of the account sync; Organizations and CloudFormation only with an organization. */
export interface SyncClients {
  organizations: OrganizationsClient | null;
  cloudformation: CloudFormationClient | null;
}

/**
 * The organization's ACTIVE accounts, and its management account (from the accounts' ARNs:
 * `arn:aws:organizations::<management>:account/o-…/<id>`), through ListAccounts, every page.
 */
export async function listActiveAccounts(
  client: OrganizationsClient,
): Promise<{ accounts: string[]; managementAccountId: string | null }> {
  const accounts: string[] = [];
  let managementAccountId: string | null = null;
  let next: string | undefined;
  do {
    const page = await client.send(new ListAccountsCommand(next ? { NextToken: next } : {}));
    for (const account of page.Accounts ?? []) {
      managementAccountId ??= /^arn:[\w-]+:organizations::(\d{12}):/.exec(account.Arn ?? '')?.[1] ?? null;
      // Status is being replaced by State in the API; both are read, and only an active account is expected.
      const state = account.State ?? account.Status;
      if (account.Id && state === 'ACTIVE') accounts.push(account.Id);
    }
    next = page.NextToken;
  } while (next);
  return { accounts, managementAccountId };
}

/** The instances of a spoke StackSet, as its delegated administrator sees them (every page). */
export async function listSpokeInstances(client: CloudFormationClient, stackSet: string): Promise<SpokeInstance[]> {
  const instances: SpokeInstance[] = [];
  let next: string | undefined;
  do {
    const page = await client.send(
      new ListStackInstancesCommand({
        StackSetName: stackSet,
        CallAs: 'DELEGATED_ADMIN',
        ...(next ? { NextToken: next } : {}),
      }),
    );
    for (const i of page.Summaries ?? [])
      if (i.Account && i.Region)
        instances.push({
          stackSet,
          account: i.Account,
          region: i.Region,
          // A CURRENT instance whose stack failed to update shows it in the detailed status.
          status:
            i.StackInstanceStatus?.DetailedStatus && i.StackInstanceStatus.DetailedStatus !== 'SUCCEEDED'
              ? `${i.Status ?? 'UNKNOWN'}/${i.StackInstanceStatus.DetailedStatus}`
              : (i.Status ?? 'UNKNOWN'),
          statusReason: i.StatusReason ?? null,
        });
    next = page.NextToken;
  } while (next);
  return instances;
}

/** What one sync did. */
export interface SyncResult {
  accounts: number;
  cells: number;
  gaps: number;
  opened: number;
  closed: number;
  alerted: number;
  /** Cells seen without their spokes for the first time: a gap opens if the next sync still sees it. */
  unconfirmed: number;
}

/**
 * The scheduled account sync: the organization's accounts and Regions against the deployed spokes. A cell without a
 * deployed spoke instance (CURRENT, or OUTDATED while an update is pending or running) at two syncs in a row opens a
 * `coverage-gap` (alerted once per gap); one that has them again closes it. A cell no
 * longer expected (an account that left or was suspended, a Region dropped) is marked so and its gaps closed.
 */
export async function syncCoverage(
  deps: Deps,
  coverage: CoverageConfig,
  clients: SyncClients,
  now: Date,
): Promise<SyncResult> {
  const store = createCoverageStore(deps.clients.dynamo, deps.config.registryTable);
  const org =
    coverage.orgId && clients.organizations
      ? await listActiveAccounts(clients.organizations)
      : { accounts: [coverage.hubAccountId], managementAccountId: null };
  const sets = coverage.orgId && coverage.stackSets && clients.cloudformation ? coverage.stackSets : null;
  const instances = sets
    ? [
        ...(await listSpokeInstances(clients.cloudformation!, sets.global)),
        ...(await listSpokeInstances(clients.cloudformation!, sets.regional)),
      ]
    : [];
  const expected = compareCoverage({
    accounts: org.accounts,
    regions: coverage.regions.length > 0 || sets ? coverage.regions : [coverage.homeRegion],
    stackSets: sets ? { ...sets, instances } : null,
    managementAccountId: org.managementAccountId,
  });
  const known = new Map((await store.list()).map((c) => [`${c.account}#${c.region}`, c]));
  const at = now.toISOString();
  const result: SyncResult = {
    accounts: org.accounts.length,
    cells: expected.length,
    gaps: 0,
    opened: 0,
    closed: 0,
    alerted: 0,
    unconfirmed: 0,
  };
  for (const cell of expected) {
    const before = known.get(`${cell.account}#${cell.region}`);
    known.delete(`${cell.account}#${cell.region}`);
    if (!before?.expected || before.deployStatus !== cell.deployStatus)
      await store.noteSync(cell.account, cell.region, { expected: true, deployStatus: cell.deployStatus, at });
    // A problem must persist across two syncs before it is a gap: a deploy's transient states do not alert.
    const seenBefore = before?.expected === true && isDeployProblem(before.deployStatus);
    if (cell.gap && !seenBefore && !before?.gaps.deploy) {
      result.unconfirmed++;
      deps.logger.info('spokes not deployed: a coverage gap opens if the next sync sees it too', {
        account: cell.account,
        region: cell.region,
        reason: cell.gap,
      });
    } else if (cell.gap) {
      result.gaps++;
      if (!before?.gaps.deploy) result.opened++;
      const gap = await store.openGap(cell.account, cell.region, 'deploy', cell.gap, at);
      if ((await alertGap(cell, 'deploy', gap, deps, coverage.spokeRoleName, now)) === 'new') result.alerted++;
    } else if (before?.gaps.deploy && (await store.closeGap(cell.account, cell.region, 'deploy'))) {
      result.closed++;
      deps.logger.info('coverage gap closed: the spokes are deployed', { account: cell.account, region: cell.region });
    }
  }
  for (const cell of known.values()) {
    if (!cell.expected) continue;
    await store.noteSync(cell.account, cell.region, {
      expected: false,
      deployStatus: cell.deployStatus ?? 'unknown',
      at,
    });
    for (const source of ['deploy', 'canary'] as const)
      if (cell.gaps[source] && (await store.closeGap(cell.account, cell.region, source))) result.closed++;
  }
  return result;
}
