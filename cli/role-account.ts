import { GetRoleCommand, type IAMClient } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { parseRoleArn } from '../lib/cloudtrail/arn.js';
import { checkRoleArn, WrongRoleError } from '../lib/rotate/live.js';

/**
 * Before a command writes (or reads to write) a role with the CLI's credentials: IAM acts by role name in the account
 * of the credentials, so a role of another account would be written as the same-named role of this one. Returns the
 * credentials' account (STS GetCallerIdentity), or the reason to refuse: the role is in another account, or IAM's
 * GetRole answered with another role than the one asked for.
 */
export async function roleAccountCheck(
  flags: { region?: string },
  iam: IAMClient,
  roleArn: string,
): Promise<{ account: string } | { refusal: string; awsError?: true }> {
  const sts = new STSClient({ ...(flags.region ? { region: flags.region } : {}), maxAttempts: 3 });
  let account: string | undefined;
  try {
    account = (await sts.send(new GetCallerIdentityCommand({}))).Account;
  } catch (error) {
    return {
      refusal: `cannot tell the account of your credentials (sts:GetCallerIdentity: ${describe(error)}); nothing was written`,
      awsError: true,
    };
  } finally {
    sts.destroy();
  }
  const roleAccount = parseRoleArn(roleArn)?.accountId;
  if (!account || !roleAccount)
    return { refusal: `cannot tell the account of your credentials or of ${roleArn}; nothing was written` };
  if (roleAccount !== account)
    return {
      refusal: `${roleArn} is in account ${roleAccount}, but your credentials are for account ${account}; IAM acts by role name, so this would change the role of that name in ${account} instead. Use credentials of account ${roleAccount} (--profile); for a member account of an organization, the deployed hub acts through its spoke role there. Nothing was written`,
    };
  try {
    const out = await iam.send(new GetRoleCommand({ RoleName: parseRoleArn(roleArn)!.roleName }));
    checkRoleArn(roleArn, out.Role?.Arn);
  } catch (error) {
    if (error instanceof WrongRoleError) return { refusal: error.message };
    if ((error as Error).name === 'NoSuchEntityException' || (error as Error).name === 'NoSuchEntity')
      return { refusal: `${roleArn} does not exist in account ${account}; nothing was written` };
    return {
      refusal: `cannot read ${roleArn} with iam:GetRole (${describe(error)}); nothing was written`,
      awsError: true,
    };
  }
  return { account };
}

const describe = (error: unknown) => `${(error as Error).name}: ${(error as Error).message}`;
