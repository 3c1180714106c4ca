import { GetAccountAuthorizationDetailsCommand, type IAMClient } from '@aws-sdk/client-iam';
import { parseRoleArn } from '../cloudtrail/arn.js';
import { type AuthorizationDetailsImport, registryFromAuthorizationDetails } from './authorization-details.js';
import type { Registry } from './types.js';

/** What the import of several accounts did: the registry, and which accounts were read and which failed. */
export interface AccountsImport extends AuthorizationDetailsImport {
  accounts: { read: { accountId: string; roles: number }[]; failed: { accountId: string; error: string }[] };
}

/**
 * Derive the roles of some accounts from each one's authorization details, and replace only those accounts' roles in
 * `stored`: every other account's roles, the service and protected ARNs and the approvers stay as they are. An
 * account that cannot be read is reported and keeps its registered roles (a failed read never deletes). Invalid
 * output of one account fails that account only. `ownRoleArns`: roleguard's own roles (the spoke), never registered.
 */
export async function importAccounts(options: {
  accounts: string[];
  stored: Registry;
  read: (accountId: string) => Promise<unknown>;
  ownRoleArns?: string[];
  /** The organization's accounts: a role trusting only these (or a well-known organization role) is skipped. */
  orgAccounts?: string[];
}): Promise<AccountsImport> {
  const byAccount = (accountId: string) => (r: { roleArn: string }) => parseRoleArn(r.roleArn)?.accountId === accountId;
  const result: AccountsImport = {
    registry: options.stored,
    notes: [],
    notCrossAccount: 0,
    accounts: { read: [], failed: [] },
  };
  let roles = [...options.stored.roles];
  for (const accountId of options.accounts) {
    try {
      const document = await options.read(accountId);
      const existing = { ...options.stored, roles: options.stored.roles.filter(byAccount(accountId)) };
      const derived = registryFromAuthorizationDetails(document, `account ${accountId}`, existing, {
        ownRoleArns: options.ownRoleArns ?? [],
        ...(options.orgAccounts ? { orgAccounts: options.orgAccounts } : {}),
      });
      const stray = derived.registry.roles.find((r) => !byAccount(accountId)(r));
      if (stray) throw new Error(`the authorization details list ${stray.roleArn}, a role of another account`);
      // The account's roles are replaced where they were, new ones added after the others.
      const kept = roles.filter((r) => !byAccount(accountId)(r));
      roles = [...kept, ...derived.registry.roles];
      result.notes.push(...derived.notes);
      result.notCrossAccount += derived.notCrossAccount;
      result.orgInternal = (result.orgInternal ?? 0) + (derived.orgInternal ?? 0);
      result.accounts.read.push({ accountId, roles: derived.registry.roles.length });
    } catch (error) {
      result.accounts.failed.push({ accountId, error: (error as Error).message });
    }
  }
  result.registry = { ...options.stored, roles };
  return result;
}

/** IAM's authorization details of the account of `iam`, roles only, every page (GetAccountAuthorizationDetails). */
export async function readAuthorizationDetails(iam: IAMClient): Promise<{ RoleDetailList: unknown[] }> {
  const roles: unknown[] = [];
  let marker: string | undefined;
  do {
    const page = await iam.send(new GetAccountAuthorizationDetailsCommand({ Filter: ['Role'], Marker: marker }));
    roles.push(...(page.RoleDetailList ?? []));
    marker = page.IsTruncated ? page.Marker : undefined;
  } while (marker);
  return { RoleDetailList: roles };
}
