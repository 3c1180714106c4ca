/** Where a gap was found: the account sync (no spoke deployed) or the canary (its event did not come back). */
export type GapSource = 'deploy' | 'canary';

/** An open gap: since when, and why. */
export interface Gap {
  openedAt: string;
  reason: string;
}

/** The last canary sent through one account × Region, and whether it came back. */
export interface CanaryState {
  id: string;
  sentAt: string;
  /** The canary that came back last (it may be an older one, late) and when its event arrived. */
  backId: string | null;
  backAt: string | null;
  /** STS refused or failed the assume: the reason. */
  error: string | null;
}

/** What roleguard knows about one account × Region. */
export interface CoverageCell {
  account: string;
  region: string;
  /** In the organization's active accounts and the expected Regions at the last sync. */
  expected: boolean;
  /** The spokes' state at the last sync: CURRENT, OUTDATED, INOPERABLE, missing; management; unchecked (no StackSets). */
  deployStatus: string | null;
  syncedAt: string | null;
  lastEventAt: string | null;
  lastEventName: string | null;
  canary: CanaryState | null;
  /** The ids of the last few canaries sent here: only these mark an arrival. */
  canaryIds: string[];
  gaps: Partial<Record<GapSource, Gap>>;
}

/** A stack instance of a spoke StackSet, as ListStackInstances gives it. */
export interface SpokeInstance {
  stackSet: string;
  account: string;
  region: string;
  status: string;
  statusReason: string | null;
}

/** The inputs of the account sync's comparison. */
export interface SyncInput {
  /** The organization's ACTIVE accounts (the hub account alone without an organization). */
  accounts: string[];
  /** The Regions every account is expected in; empty: the Regions the regional StackSet is deployed to. */
  regions: string[];
  /** The spoke StackSets (global, regional) and their instances; null: no StackSets to compare with. */
  stackSets: { global: string; regional: string; instances: SpokeInstance[] } | null;
  /** Service-managed StackSets skip it: its spokes are plain stacks, which the canary checks. */
  managementAccountId: string | null;
}

/** One expected account × Region after the sync's comparison: the spokes' state, and the gap it makes if any. */
export interface ExpectedCell {
  account: string;
  region: string;
  deployStatus: string;
  gap: string | null;
}

/**
 * True for a stack instance state that deploys the spokes: CURRENT, or OUTDATED while an operation is pending or
 * running on it (a StackSet update marks every instance so until it reaches it: no gap for that).
 */
export const isDeployed = (status: string) => status === 'CURRENT' || /^OUTDATED\/(PENDING|RUNNING)$/.test(status);

/** True for a cell's recorded deployStatus that is a problem (the sync opens a gap once it persists). */
export const isDeployProblem = (deployStatus: string | null) =>
  deployStatus !== null && deployStatus !== 'management' && deployStatus !== 'unchecked' && !isDeployed(deployStatus);

/** Compare the organization's accounts and Regions with the deployed spoke instances. Pure. */
export function compareCoverage(input: SyncInput): ExpectedCell[] {
  const sets = input.stackSets;
  const fromInstances = sets
    ? [...new Set(sets.instances.filter((i) => i.stackSet === sets.regional).map((i) => i.region))].sort()
    : [];
  const regions = input.regions.length > 0 ? input.regions : fromInstances;
  const find = (stackSet: string, account: string, region?: string) =>
    sets?.instances.find((i) => i.stackSet === stackSet && i.account === account && (!region || i.region === region));
  const state = (i: SpokeInstance | undefined) =>
    i ? `${i.status}${i.statusReason ? ` (${i.statusReason})` : ''}` : 'no stack instance';
  const cells: ExpectedCell[] = [];
  for (const account of [...new Set(input.accounts)].sort())
    for (const region of regions) {
      if (!sets) {
        cells.push({ account, region, deployStatus: 'unchecked', gap: null });
        continue;
      }
      if (account === input.managementAccountId) {
        cells.push({ account, region, deployStatus: 'management', gap: null });
        continue;
      }
      const global = find(sets.global, account);
      const regional = find(sets.regional, account, region);
      const problems: string[] = [];
      const globalOk = global !== undefined && isDeployed(global.status);
      const regionalOk = regional !== undefined && isDeployed(regional.status);
      if (!globalOk) problems.push(`the global spoke (StackSet ${sets.global}) is not deployed: ${state(global)}`);
      if (!regionalOk)
        problems.push(`the regional spoke (StackSet ${sets.regional}) is not deployed: ${state(regional)}`);
      cells.push({
        account,
        region,
        // The regional instance's state; when only the global spoke is wrong, that one's (so a problem shows).
        deployStatus:
          regionalOk && !globalOk ? `global ${global?.status ?? 'missing'}` : regional ? regional.status : 'missing',
        gap: problems.length ? problems.join('; ') : null,
      });
    }
  return cells;
}

/** What the canary does for one cell: the outstanding canary timed out (a gap, with the reason), and send one? */
export function canaryDecision(
  cell: Pick<CoverageCell, 'canary'>,
  now: Date,
  timeoutMinutes: number,
): { timedOut: string | null; send: boolean } {
  const c = cell.canary;
  if (!c || c.error || c.backId === c.id) return { timedOut: null, send: true };
  const age = now.getTime() - Date.parse(c.sentAt);
  if (age < timeoutMinutes * 60_000) return { timedOut: null, send: false };
  return {
    timedOut: `the canary assume ${c.id}, sent at ${c.sentAt}, did not come back to the hub within ${timeoutMinutes} minutes`,
    send: true,
  };
}
