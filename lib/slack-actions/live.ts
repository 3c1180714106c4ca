import { SNSClient } from '@aws-sdk/client-sns';
import { slackSender } from '../alert/index.js';
import type { Deps } from '../deps.js';
import { accountAccessOf, lazyIamClient, readSlackWebhook, revocationDeps } from '../lambda-deps.js';
import { once } from '../lazy.js';
import { iamByRole } from '../org/accounts.js';
import { revokeByHand } from '../revoke/manual.js';
import { liveRevoker, otherAccountReason } from '../revoke/service.js';
import { iamTrustPolicyIo, rotationDeps, rotationNotifier, startRotation } from '../rotate/index.js';
import type { ActionDeps } from './act.js';
import { createDecisionStore } from './decisions.js';
import type { HandoverDeps } from './handover.js';
import { requiredSetting, signingSecretReader } from './receiver-live.js';
import { isSlackResponseUrl, slackResponder } from './respond.js';

/** The deps of the action function, over the deps of an alerting, revoking function (see lib/lambda-deps.ts). */
export function liveActionDeps(deps: Deps, env: Record<string, string | undefined>): ActionDeps & HandoverDeps {
  const { config } = deps;
  // IAM, STS and SNS are built at the first click that needs them (see lib/lazy.ts).
  const iam = lazyIamClient();
  const revoking = { ...revocationDeps(deps, iam), sessions: deps.sessions };
  const vendorSlack = config.rotationSlackWebhookParameter
    ? async (payload: { text: string; blocks: unknown[] }) =>
        slackSender(await readSlackWebhook(config.rotationSlackWebhookParameter!))(payload)
    : null;
  const notifier = rotationNotifier({
    sns: once(() => new SNSClient({})),
    rotationTopicArn: config.rotationTopicArn,
    vendorSlack,
    alerts: deps.alerts.senders,
  });
  const accounts = accountAccessOf(deps, iam);
  const trust = iamTrustPolicyIo(iamByRole(accounts, 'rotate'));
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
    revokeSession: (session) => liveRevoker(revoking).revokeSession(session),
    sessions: deps.sessions,
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
          otherAccount: (roleArn) => otherAccountReason({ accounts }, roleArn),
        }),
        role,
        { trigger: 'manual', requestedBy, now },
      ),
    reply: slackResponder(),
    signingSecret: signingSecretReader(requiredSetting(env, 'SLACK_SIGNING_SECRET_PARAMETER')),
    responseUrlAllowed: isSlackResponseUrl,
    config: { dryRun: config.dryRun, ownRoleArns: config.ownRoleArns },
    logger: deps.logger,
    now: deps.now,
  };
}
