import { getParameter } from '@aws-lambda-powertools/parameters/ssm';
import { IAMClient } from '@aws-sdk/client-iam';
import { SNSClient } from '@aws-sdk/client-sns';
import { type AlertSenders, slackSender, snsSender } from './alert/index.js';
import { type Config, loadConfig } from './config.js';
import { createDeps, type Deps } from './deps.js';
import { ConfigError } from './errors.js';
import { liveRevoker, type RevocationDeps } from './revoke/service.js';

/** How long a warm function reuses the Slack webhook URL it read from SSM before reading it again. */
const WEBHOOK_CACHE_SECONDS = 300;

/**
 * Read the Slack webhook URL (an SSM SecureString). It is cached, never logged, and never put in the environment.
 * Errors name the parameter, never its value.
 */
export async function readSlackWebhook(parameterName: string): Promise<string> {
  let value: string | undefined;
  try {
    value = await getParameter(parameterName, { decrypt: true, maxAge: WEBHOOK_CACHE_SECONDS });
  } catch (error) {
    throw new ConfigError([
      `cannot read the Slack webhook parameter ${parameterName}: ${(error as Error).name}: ${(error as Error).message}`,
    ]);
  }
  if (!value?.trim()) throw new ConfigError([`the Slack webhook parameter ${parameterName} is empty`]);
  return value.trim();
}

/** Senders for the deployed functions: Slack through the webhook in SSM, SNS through the alerts topic. */
export function lambdaSenders(config: Config, sns: SNSClient): AlertSenders {
  const parameter = config.slackWebhookParameter!;
  let sender: { url: string; send: NonNullable<AlertSenders['slack']> } | null = null;
  return {
    // The URL is re-read (through the cache) on each alert, so a rotated webhook is picked up without a redeploy.
    slack: async (payload) => {
      const url = await readSlackWebhook(parameter);
      if (sender?.url !== url) sender = { url, send: slackSender(url) };
      await sender.send(payload);
    },
    sns: snsSender(sns, config.alertTopicArn!),
  };
}

/**
 * Build the deps of a deployed function that alerts. A missing or unreadable webhook secret, or a missing topic,
 * fails the cold start loudly: the function must not run and drop alerts silently.
 */
export async function createAlertingDeps(
  env: Record<string, string | undefined> = process.env,
  options: { revoking?: boolean } = {},
): Promise<Deps> {
  const config = loadConfig(env, { alerting: true, revoking: options.revoking ?? false });
  await readSlackWebhook(config.slackWebhookParameter!);
  const deps = createDeps(config, { senders: lambdaSenders(config, new SNSClient({})) });
  // Automatic revocation (onAssumeRole): IAM, through recorded intents and the per-role lock.
  return options.revoking ? { ...deps, revoker: liveRevoker(revocationDeps(deps)) } : deps;
}

/** The deps of the manual revocation function: no alert channels (it reports to its caller), the revocations table required. */
export function createRevokingDeps(env: Record<string, string | undefined> = process.env): Deps {
  return createDeps(loadConfig(env, { revoking: true }));
}

/** The live revocation path of a deployed function: IAM, the revocations table, the function's logger. */
export function revocationDeps(deps: Deps, iam: IAMClient = createIamClient()): RevocationDeps {
  if (!deps.revocations) throw new ConfigError(['REVOCATIONS_TABLE is required']);
  return { iam, dynamo: deps.clients.dynamo, store: deps.revocations, logger: deps.logger };
}

/** An IAM client for the functions that read trust policies or write revocations (the SDK retries throttling too). */
export function createIamClient(): IAMClient {
  return new IAMClient({ maxAttempts: 5 });
}
