import { ListAccountsCommand, type OrganizationsClient } from '@aws-sdk/client-organizations';

/**
 * The ACTIVE accounts of the organization (Organizations ListAccounts, every page), in its order. It answers in the
 * management account or an Organizations delegated administrator only. Suspended and closing accounts are left out.
 */
export async function listActiveAccounts(org: OrganizationsClient): Promise<string[]> {
  const accounts: string[] = [];
  let token: string | undefined;
  do {
    const page = await org.send(new ListAccountsCommand({ NextToken: token }));
    for (const account of page.Accounts ?? [])
      if (account.Id && (account.State ?? account.Status) === 'ACTIVE') accounts.push(account.Id);
    token = page.NextToken;
  } while (token);
  return accounts;
}
