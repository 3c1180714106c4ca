import type { Logger } from '@aws-lambda-powertools/logger';
import { IAMClient } from '@aws-sdk/client-iam';
import { SNSClient } from '@aws-sdk/client-sns';
import { STSClient } from '@aws-sdk/client-sts';
import { type AlertSenders, slackSender, snsSender } from './alert/index.js';
import { type Config, loadConfig } from './config.js';
import { createDeps, type Deps } from './deps.js';
import { ConfigError } from './errors.js';
import { built, type Lazy, type Once, once } from './lazy.js';
import { createLogger } from './logger.js';
import { type AccountAccess, createAccountAccess } from './org/accounts.js';
import { liveRevoker, type RevocationDeps } from './revoke/service.js';
import { getSecureParameter } from './ssm-parameter.js';

/** How long a warm function reuses the Slack webhook URL it read from SSM before reading it again. */
const WEBHOOK_CACHE_SECONDS = 300;

/**
 * Read the Slack webhook URL (an SSM SecureString). It is cached, never logged, and never put in the environment.
 * Errors name the parameter, never its value.
 */
export async function readSlackWebhook(parameterName: string): Promise<string> {
  let value: string | undefined;
  try {
    value = await getSecureParameter(parameterName, WEBHOOK_CACHE_SECONDS);
  } catch (error) {
    const cause = error as Error & { $metadata?: { httpStatusCode?: number }; cause?: unknown };
    const failure = new ConfigError([
      `cannot read the Slack webhook parameter ${parameterName}: ${cause.name}: ${cause.message}`,
    ]);
    // Throttling stays retryable; a missing parameter or a denied read does not get better by retrying now.
    const inner = (cause.cause ?? cause) as { name?: string; $metadata?: { httpStatusCode?: number } };
    throw Object.assign(failure, { statusCode: /Throttl/.test(inner.name ?? '') ? 429 : 400 });
  }
  if (!value?.trim()) throw new ConfigError([`the Slack webhook parameter ${parameterName} is empty`]);
  return value.trim();
}

/** How often a warm function repeats the alert that Slack cannot be reached (every failure is logged). */
const CHANNEL_ALERT_EVERY_MS = 3600_000;

/**
 * Senders for the deployed functions: SNS through the alerts topic, and Slack through the webhook in SSM when a
 * parameter is configured (Slack is optional). A webhook that cannot be read fails the Slack channel only: the alert
 * still goes out on SNS, stays due on Slack for the sweep, and the failure is logged and itself alerted on SNS.
 * The SNS client may be given as its builder: it is then built at the first alert.
 */
export function lambdaSenders(config: Config, sns: Lazy<SNSClient>, logger: Logger): AlertSenders {
  const publish = snsSender(sns, config.alertTopicArn!);
  const parameter = config.slackWebhookParameter;
  if (!parameter) return { sns: publish };
  let sender: { url: string; send: NonNullable<AlertSenders['slack']> } | null = null;
  let alertedAt = Number.NEGATIVE_INFINITY;
  const channelDown = async (error: unknown) => {
    logger.error('Slack alerts cannot be sent: the webhook parameter cannot be read; SNS still gets every alert', {
      parameter,
      error: error as Error,
    });
    if (Date.now() - alertedAt < CHANNEL_ALERT_EVERY_MS) return;
    alertedAt = Date.now();
    const attr = (value: string) => ({ DataType: 'String', StringValue: value });
    await publish({
      Subject: 'roleguard high: Slack alert channel unavailable',
      Message: JSON.stringify({
        source: 'roleguard',
        channel: 'slack',
        problem: (error as Error).message,
        action: 'Alerts go out on SNS only; Slack gets them from the sweep once the webhook can be read again.',
        nextStep: `Check the SSM SecureString ${parameter} and the function's permission to read it (see docs/runbook.md).`,
      }),
      MessageAttributes: { kind: attr('alert-channel-unavailable'), severity: attr('high') },
    }).catch((e: unknown) => logger.error('could not alert that Slack is unavailable', { error: e as Error }));
  };
  return {
    // The URL is re-read (through the cache) on each alert, so a rotated webhook is picked up without a redeploy.
    slack: async (payload) => {
      let url: string;
      try {
        url = await readSlackWebhook(parameter);
      } catch (error) {
        await channelDown(error);
        throw error;
      }
      if (sender?.url !== url) sender = { url, send: slackSender(url) };
      await sender.send(payload);
    },
    sns: publish,
  };
}

/**
 * Build the deps of a deployed function that alerts. A bad configuration or a missing topic fails the cold start
 * loudly. The Slack webhook is not read here: an alert channel that cannot be reached never stops recording,
 * detection or revocation (see lambdaSenders). Only the DynamoDB client is built here: SNS, IAM and STS are built
 * when first used (most invocations alert and revoke nothing), which keeps them out of the cold start.
 * `requireRevocationsTable`: the revocations table is required too (it adds no revoker: see
 * createAlertingRevokingDeps).
 */
export async function createAlertingDeps(
  env: Record<string, string | undefined> = process.env,
  options: { requireRevocationsTable?: boolean } = {},
): Promise<Deps> {
  const config = loadConfig(env, { alerting: true, revoking: options.requireRevocationsTable ?? false });
  const logger = createLogger();
  const sns = once(() => new SNSClient({}));
  return createDeps(config, { logger, senders: lambdaSenders(config, sns, logger) });
}

/**
 * The deps of a deployed function that alerts and revokes: createAlertingDeps with the revocations table, and
 * automatic revocation (onAssumeRole's findings) through IAM, recorded intents and the per-role lock. A function of
 * its own, so that the functions that revoke nothing bundle no revocation code.
 */
export async function createAlertingRevokingDeps(env: Record<string, string | undefined> = process.env): Promise<Deps> {
  const deps = await createAlertingDeps(env, { requireRevocationsTable: true });
  return { ...deps, revoker: liveRevoker(revocationDeps(deps)) };
}

/** The deps of the manual revocation function: no alert channels (it reports to its caller), the revocations table required. */
export function createRevokingDeps(env: Record<string, string | undefined> = process.env): Deps {
  return createDeps(loadConfig(env, { revoking: true }));
}

/**
 * The live revocation path of a deployed function: IAM (of the role's account), the revocations table, the logger.
 * Without `iam`, the own account's IAM client is built at the first IAM call.
 */
export function revocationDeps(deps: Deps, iam: Lazy<IAMClient> = lazyIamClient()): RevocationDeps {
  if (!deps.revocations) throw new ConfigError(['REVOCATIONS_TABLE is required']);
  return {
    iam,
    dynamo: deps.clients.dynamo,
    store: deps.revocations,
    logger: deps.logger,
    accountId: deps.config.accountId ?? null,
    accounts: accountAccessOf(deps, iam),
  };
}

const accessByConfig = new WeakMap<Config, AccountAccess>();

/**
 * The account access of a function: one per cold start (its configuration, which every deps built from it shares), so the spoke credentials it assumed are reused
 * until shortly before they expire. The hub's own roles go through `iam` (the function's own credentials).
 */
export function accountAccessOf(deps: Deps, iam: Lazy<IAMClient> = lazyIamClient()): AccountAccess {
  let access = accessByConfig.get(deps.config);
  if (!access) {
    const { config } = deps;
    access = createAccountAccess({
      hubAccountId: config.hubAccountId ?? config.accountId ?? null,
      orgId: config.orgId ?? null,
      spokeRoleName: config.spokeRoleName ?? null,
      // The stack's own role pattern names its partition (aws, aws-cn, aws-us-gov).
      partition: /^arn:(aws[a-z-]*):/.exec(config.ownRoleArns[0] ?? '')?.[1] ?? 'aws',
      // Built at the first assume of a spoke role; the own account's roles never need STS.
      sts: once(() => new STSClient({ maxAttempts: 5 })),
      now: deps.now,
      makeIam: (credentials) => (credentials ? new IAMClient({ maxAttempts: 5, credentials }) : built(iam)),
    });
    accessByConfig.set(deps.config, access);
  }
  return access;
}

/** An IAM client for the functions that read trust policies or write revocations (the SDK retries throttling too). */
export function createIamClient(): IAMClient {
  return new IAMClient({ maxAttempts: 5 });
}

/** The same IAM client, built at its first use (one per call of this function, shared by whoever is given it). */
export function lazyIamClient(): Once<IAMClient> {
  return once(createIamClient);
}
