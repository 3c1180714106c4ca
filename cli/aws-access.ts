import { IAMClient } from '@aws-sdk/client-iam';

/** The plain message for a command that needs AWS and has no Region or no credentials. */
export const NO_REGION =
  'no AWS Region is configured: give --region REGION (or set AWS_REGION, or a region in your AWS profile)';
export const NO_CREDENTIALS =
  'no AWS credentials were found: use --profile PROFILE, run `aws sso login` (then --profile), or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY';

/**
 * An IAM client for the standard credential chain (and --profile/--region), checked before any call: a missing
 * Region or missing credentials come back as a plain message instead of an SDK error halfway through a command.
 */
export async function iamClient(
  flags: { region?: string; profile?: string },
  maxAttempts = 3,
): Promise<{ iam: IAMClient } | { problem: string }> {
  if (flags.profile) process.env.AWS_PROFILE = flags.profile;
  const iam = new IAMClient({ ...(flags.region ? { region: flags.region } : {}), maxAttempts });
  const problems: string[] = [];
  try {
    await iam.config.region();
  } catch {
    problems.push(NO_REGION);
  }
  try {
    await iam.config.credentials();
  } catch (error) {
    const reason = (error as Error).message.split('\n')[0];
    // A named profile that does not exist, or an expired SSO session, says so itself; otherwise nothing was found.
    problems.push(
      /could not load credentials from any providers/i.test(reason ?? '')
        ? NO_CREDENTIALS
        : `${NO_CREDENTIALS} (${reason})`,
    );
  }
  if (problems.length) {
    iam.destroy();
    return { problem: problems.join('; ') };
  }
  return { iam };
}
