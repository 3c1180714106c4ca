/**
 * Roles an organization uses between its own accounts: they are no vendor roles, and registering them (in watch mode,
 * as they require no external ID) would raise a critical missing-external-id finding for every assume the management
 * account or StackSets make. `roles import --org/--account` skips them and says so.
 */

/** Roles AWS Organizations, Control Tower and StackSets create in member accounts, by name. */
const WELL_KNOWN = [
  /^OrganizationAccountAccessRole$/,
  /^AWSControlTowerExecution$/,
  /^AWSCloudFormationStackSetExecutionRole$/,
  /^stacksets-exec-[0-9a-f]+$/,
];

/**
 * Why a role is organization-internal, or null: a well-known organization role, or one whose trust names only
 * accounts of the organization (`orgAccounts`).
 */
export function orgInternalReason(roleName: string, trustedAccounts: string[], orgAccounts: string[]): string | null {
  if (WELL_KNOWN.some((name) => name.test(roleName)))
    return 'it is a role of the organization itself (Organizations, Control Tower or StackSets), not a vendor role';
  const org = new Set(orgAccounts);
  if (trustedAccounts.length > 0 && trustedAccounts.every((a) => org.has(a)))
    return `it trusts only accounts of the organization (${trustedAccounts.join(', ')}), not a vendor: not registered; register it by hand to watch it`;
  return null;
}
