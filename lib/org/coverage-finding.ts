import type { Finding } from '../detect/types.js';
import type { Gap, GapSource } from './coverage.js';

/** The canary's RoleSessionName for an id. */
export const canarySessionName = (id: string) => `roleguard-canary-${id}`;

/** The canary id in a session name that is one of roleguard's canaries (`roleguard-canary-<hex>`), else null. */
export function canaryIdOf(sessionName: string | null): string | null {
  return /^roleguard-canary-([0-9a-f]{6,32})$/.exec(sessionName ?? '')?.[1] ?? null;
}

/** True for the spoke role's name (`roleguard-<stage>-spoke`), whatever the stage. */
export const isSpokeRoleName = (name: string) => /^roleguard-[\w+=,.@-]+-spoke$/.test(name);

/** The partition of a Region (the spoke role's ARN is in it). */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

/** The spoke role of an account. */
export const spokeRoleArn = (account: string, region: string, roleName: string) =>
  `arn:${partitionOf(region)}:iam::${account}:role/${roleName}`;

/**
 * The `coverage-gap` finding of one account × Region. Its event id names the gap and when it opened, so the outbox
 * alerts a gap once however often the sync or the canary sees it again, and a gap that closes and opens again anew.
 * The Region is the caller type too: the outbox merges repeats by kind, role and caller, and two Regions of one
 * account are two gaps.
 */
export function gapFinding(
  cell: { account: string; region: string },
  source: GapSource,
  gap: Gap,
  roleName: string,
): Finding {
  const what = source === 'deploy' ? 'the account sync found no working spoke' : "the canary's event did not arrive";
  return {
    kind: 'coverage-gap',
    severity: 'high',
    roleArn: spokeRoleArn(cell.account, cell.region, roleName),
    eventId: `coverage-gap/${source}/${cell.account}/${cell.region}/${gap.openedAt}`,
    assumedRoleId: null,
    callerAccountId: null,
    message: `roleguard does not see account ${cell.account} in Region ${cell.region}: ${what}: ${gap.reason}`,
    context: {
      recipientAccountId: cell.account,
      vendor: 'roleguard',
      at: gap.openedAt,
      callerArn: null,
      callerType: `coverage ${cell.region}`,
      sourceIpAddress: null,
      roleSessionName: null,
      externalId: null,
      userAgent: null,
    },
  };
}
