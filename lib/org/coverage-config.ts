import { ConfigError } from '../errors.js';

/** Settings of the account sync and the canary, read once at cold start. */
export interface CoverageConfig {
  /** The organization (`ORG_ID`); null: an organization of one, the hub account alone. */
  orgId: string | null;
  /** The hub's own account (`HUB_ACCOUNT_ID`, else `AWS_ACCOUNT_ID`). */
  hubAccountId: string;
  /** The spoke role's name in every account (`SPOKE_ROLE_NAME`, roleguard-<stage>-spoke). */
  spokeRoleName: string;
  /**
   * The Regions every account is expected in. With an organization: `SPOKE_REGIONS` (a comma list; empty: the
   * regional StackSet's). Without one: the home Region and `COVERAGE_REGIONS` (the Regions where the user deployed
   * regional spokes in the hub account); `SPOKE_REGIONS`, the StackSet's Regions, does not apply there.
   */
  regions: string[];
  /** The hub's home Region (`HOME_REGION`, else the function's `AWS_REGION`): expected without other Regions. */
  homeRegion: string;
  /** The spoke StackSets (`SPOKE_STACKSETS`: global,regional); null: none to compare with (no organization). */
  stackSets: { global: string; regional: string } | null;
  /** A canary not back within this many minutes is a gap (`CANARY_TIMEOUT_MINUTES`, default 30). */
  canaryTimeoutMinutes: number;
}

const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;

/** Read and check the coverage settings; throws a ConfigError naming every problem. */
export function loadCoverageConfig(env: Record<string, string | undefined>): CoverageConfig {
  const problems: string[] = [];
  const text = (name: string) => env[name]?.trim() ?? '';
  const list = (name: string) =>
    text(name)
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
  const orgId = text('ORG_ID') || null;
  if (orgId && !/^o-[a-z0-9]{10,32}$/.test(orgId)) problems.push(`ORG_ID is not an organization id: ${orgId}`);
  const hubAccountId = text('HUB_ACCOUNT_ID') || text('AWS_ACCOUNT_ID');
  if (!/^\d{12}$/.test(hubAccountId)) problems.push('HUB_ACCOUNT_ID (or AWS_ACCOUNT_ID) must be a 12-digit account id');
  const spokeRoleName = text('SPOKE_ROLE_NAME');
  if (!/^[\w+=,.@-]{1,64}$/.test(spokeRoleName)) problems.push('SPOKE_ROLE_NAME must be the spoke role name');
  const spokeRegions = list('SPOKE_REGIONS');
  const coverageRegions = list('COVERAGE_REGIONS');
  for (const [name, given] of [
    ['SPOKE_REGIONS', spokeRegions],
    ['COVERAGE_REGIONS', coverageRegions],
  ] as const) {
    const bad = given.filter((r) => !REGION.test(r));
    if (bad.length) problems.push(`${name}: not a Region: ${bad.join(', ')}`);
  }
  const sets = list('SPOKE_STACKSETS');
  if (sets.length !== 0 && sets.length !== 2)
    problems.push(
      'SPOKE_STACKSETS must name the global and the regional spoke StackSets (global,regional), or be empty',
    );
  const homeRegion = text('HOME_REGION') || text('AWS_REGION');
  if (!REGION.test(homeRegion)) problems.push('HOME_REGION (or AWS_REGION) must be a Region');
  const raw = text('CANARY_TIMEOUT_MINUTES');
  const canaryTimeoutMinutes = raw === '' ? 30 : Number(raw);
  if (!Number.isInteger(canaryTimeoutMinutes) || canaryTimeoutMinutes < 1 || canaryTimeoutMinutes > 1440)
    problems.push(`CANARY_TIMEOUT_MINUTES must be a whole number from 1 to 1440, got ${JSON.stringify(raw)}`);
  if (problems.length) throw new ConfigError(problems);
  return {
    orgId,
    hubAccountId,
    spokeRoleName,
    regions: orgId ? spokeRegions : [...new Set([homeRegion, ...coverageRegions])],
    homeRegion,
    stackSets: sets.length === 2 ? { global: sets[0]!, regional: sets[1]! } : null,
    canaryTimeoutMinutes,
  };
}
