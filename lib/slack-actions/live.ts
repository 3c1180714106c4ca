import { getParameter } from '@aws-lambda-powertools/parameters/ssm';
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { SNSClient } from '@aws-sdk/client-sns';
import { slackSender } from '../alert/index.js';
import type { Deps } from '../deps.js';
import { ConfigError } from '../errors.js';
import { createIamClient, readSlackWebhook, revocationDeps } from '../lambda-deps.js';
import { revokeByHand } from '../revoke/manual.js';
import { iamTrustPolicyIo, rotationDeps, rotationNotifier, startRotation } from '../rotate/index.js';
import type { ActionDeps } from './act.js';
import { createDecisionStore } from './decisions.js';
import { slackResponder } from './respond.js';
import type { SlackActionRequest } from './types.js';

/** How long a warm receiver reuses the signing secret it read from SSM. */
const SECRET_CACHE_SECONDS = 300;

/** A setting the Slack functions need, named in a ConfigError when it is missing. */
export function requiredSetting(env: Record<string, string | undefined>, name: string): string {
  const value = env[name]?.trim();
  if (!value) throw new ConfigError([`${name} is required`]);
  return value;
}

/** The Slack app's signing secret (an SSM SecureString), cached; errors name the parameter, never the value. */
export function signingSecretReader(parameterName: string): () => Promise<string> {
  return async () => {
    let value: string | undefined;
    try {
      value = await getParameter(parameterName, { decrypt: true, maxAge: SECRET_CACHE_SECONDS });
    } catch (error) {
      throw new ConfigError([
        `cannot read the Slack signing secret parameter ${parameterName}: ${(error as Error).name}`,
      ]);
    }
    if (!value?.trim()) throw new ConfigError([`the Slack signing secret parameter ${parameterName} is empty`]);
    return value.trim();
  };
}

/** Hand a click to the action function: an asynchronous invoke (Lambda queues it, retries it, dead-letters it). */
export function lambdaEnqueue(
  lambda: LambdaClient,
  functionName: string,
): (request: SlackActionRequest) => Promise<void> {
  return async (request) => {
    await lambda.send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: 'Event',
        Payload: new TextEncoder().encode(JSON.stringify(request)),
      }),
    );
  };
}

/** The deps of the action function, over the deps of an alerting, revoking function (see lib/lambda-deps.ts). */
export function liveActionDeps(deps: Deps, env: Record<string, string | undefined>): ActionDeps {
  const { config } = deps;
  const iam = createIamClient();
  const revoking = { ...revocationDeps(deps, iam), sessions: deps.sessions };
  const vendorSlack = config.rotationSlackWebhookParameter
    ? async (payload: { text: string; blocks: unknown[] }) =>
        slackSender(await readSlackWebhook(config.rotationSlackWebhookParameter!))(payload)
    : null;
  const notifier = rotationNotifier({
    sns: new SNSClient({}),
    rotationTopicArn: config.rotationTopicArn,
    vendorSlack,
    alerts: deps.alerts.senders,
  });
  const trust = iamTrustPolicyIo(iam);
  return {
    outbox: deps.alerts.outbox,
    registry: deps.registry,
    decisions: createDecisionStore(deps.clients.dynamo, requiredSetting(env, 'DECISIONS_TABLE')),
    revoke: async (request) => {
      const index = await deps.registry();
      const registry = { ...index.registry, ownRoleArns: config.ownRoleArns };
      const { intent: _intent, ...outcome } = await revokeByHand(revoking, registry, request, deps.now());
      return outcome;
    },
    rotate: (role, registry, requestedBy, now) =>
      startRotation(
        rotationDeps({
          dynamo: deps.clients.dynamo,
          registryTable: config.registryTable,
          registry,
          ownRoleArns: config.ownRoleArns,
          trust,
          notifier,
          logger: deps.logger,
          idLength: config.externalIdLength,
          maxTrustPolicySize: config.trustPolicySizeLimit,
          dryRun: config.dryRun,
        }),
        role,
        { trigger: 'manual', requestedBy, now },
      ),
    reply: slackResponder(),
    config: { dryRun: config.dryRun, ownRoleArns: config.ownRoleArns },
    logger: deps.logger,
    now: deps.now,
  };
}
