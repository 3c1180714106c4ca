import { IAMClient } from '@aws-sdk/client-iam';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { createAccountAccess } from '../lib/org/accounts.js';
import { listActiveAccounts } from '../lib/org/organization.js';
import { spokeOwnPatterns } from '../lib/org/own.js';
import { type AccountsImport, importAccounts, readAuthorizationDetails } from '../lib/registry/account-import.js';
import type { Registry } from '../lib/registry/index.js';
import { iamClient } from './aws-access.js';
import { EXIT } from './exit-codes.js';

/** The flags of `roles import --org` and `roles import --account`. */
export interface AccountsFlags {
  org?: boolean;
  account?: string;
  spokeRole?: string;
  stage?: string;
  region?: string;
  profile?: string;
}

type Derived = { derived: AccountsImport } | { error: string; code: number };

const failure = (error: unknown) => `${(error as Error).name}: ${(error as Error).message}`;

/**
 * Derive the registry from the authorization details of the accounts asked for: `--account A` with A's export
 * (`document`), or live: the account of the credentials directly, every other one through its spoke role (session
 * `roleguard-import`); `--org` reads every ACTIVE account of the organization. Only those accounts' roles change.
 */
export async function deriveFromAccounts(flags: AccountsFlags, stored: Registry, document?: unknown): Promise<Derived> {
  // The read-only spoke role by default: it trusts the hub's roles and the global spoke's OperatorPrincipalArns.
  const spokeRoleName = flags.spokeRole ?? (flags.stage ? `roleguard-${flags.stage}-spoke-read` : null);
  const ownRoleArns = [
    ...(flags.stage ? [`arn:aws*:iam::*:role/roleguard-${flags.stage}-*`] : []),
    ...(spokeRoleName ? spokeOwnPatterns(spokeRoleName) : []),
  ];
  if (document !== undefined)
    return {
      derived: await importAccounts({
        accounts: [flags.account!],
        stored,
        read: async () => document,
        ownRoleArns,
        orgAccounts: [flags.account!],
      }),
    };
  const aws = await iamClient(flags, 5);
  if ('problem' in aws) return { error: aws.problem, code: EXIT.failed };
  const region = await aws.iam.config.region();
  const sts = new STSClient({ region, maxAttempts: 5 });
  let hub: string;
  let accounts: string[];
  try {
    hub = (await sts.send(new GetCallerIdentityCommand({}))).Account!;
  } catch (error) {
    return {
      error: `cannot tell which account the credentials are in (STS GetCallerIdentity): ${failure(error)}`,
      code: EXIT.failed,
    };
  }
  try {
    accounts = flags.org
      ? await listActiveAccounts(new OrganizationsClient({ region, maxAttempts: 5 }))
      : [flags.account!];
  } catch (error) {
    return {
      error: `cannot list the organization's accounts (Organizations ListAccounts answers in the management account or a delegated administrator only): ${failure(error)}`,
      code: EXIT.failed,
    };
  }
  if (!spokeRoleName && accounts.some((a) => a !== hub))
    return {
      error: `give --stage STAGE (the read role is roleguard-STAGE-spoke-read) or --spoke-role NAME: accounts other than ${hub} are read through their spoke role`,
      code: EXIT.usage,
    };
  const access = createAccountAccess({
    hubAccountId: hub,
    orgId: null,
    allowAccounts: accounts,
    spokeRoleName,
    sts,
    now: () => new Date(),
    deniedHint: `the role is missing, or does not trust these credentials: ${spokeRoleName} trusts roleguard's hub roles${
      spokeRoleName?.endsWith('-spoke-read')
        ? " and the principals named in the global spoke's OperatorPrincipalArns parameter (the hub's param spokeOperatorPrincipals): add the ARN of the role you run as there (an exact ARN); a hub role itself may assume only the responder role (--spoke-role roleguard-<stage>-spoke)"
        : " only: run as one of them, or use the read role (--spoke-role roleguard-<stage>-spoke-read) with your ARN in the global spoke's OperatorPrincipalArns"
    }, with a roleguard-* session name; or its StackSet is not deployed in that account`,
    makeIam: (credentials) => (credentials ? new IAMClient({ region, maxAttempts: 5, credentials }) : aws.iam),
  });
  const read = async (accountId: string) => {
    const iam = await access.iamFor(accountId, 'import');
    try {
      return await readAuthorizationDetails(iam);
    } catch (error) {
      throw new Error(`cannot read account ${accountId} (IAM GetAccountAuthorizationDetails): ${failure(error)}`);
    }
  };
  // The organization's own accounts (--org: every ACTIVE one; --account: that one and the credentials'): roles that
  // trust only them are the organization's, not a vendor's.
  const orgAccounts = [...new Set([hub, ...accounts])];
  return { derived: await importAccounts({ accounts, stored, read, ownRoleArns, orgAccounts }) };
}

/** The summary of the accounts read and failed, one line each failure. */
export function accountsSummary(derived: AccountsImport): string[] {
  const { read, failed } = derived.accounts;
  return [
    `accounts: ${read.length} read${read.length ? ` (${read.map((r) => `${r.accountId}: ${r.roles} ${r.roles === 1 ? 'role' : 'roles'}`).join(', ')})` : ''}, ${failed.length} failed${failed.length ? '; the roles registered in a failed account were kept as they were' : ''}`,
    ...failed.map((f) => `failed: account ${f.accountId}: ${f.error}`),
  ];
}
