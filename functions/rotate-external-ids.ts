import { SNSClient } from '@aws-sdk/client-sns';
import { slackSender } from '../lib/alert/index.js';
import {
  accountAccessOf,
  createAlertingRevokingDeps,
  lazyIamClient,
  readSlackWebhook,
  revocationDeps,
} from '../lib/lambda-deps.js';
import { scheduledHandler } from '../lib/lambda-handler.js';
import { once } from '../lib/lazy.js';
import { iamByRole } from '../lib/org/accounts.js';
import { otherAccountReason } from '../lib/revoke/service.js';
import { iamTrustPolicyIo, revokeOldSessionsWith, rotationDeps, rotationNotifier } from '../lib/rotate/index.js';
import { runRotations } from '../lib/rotate/machine.js';

const deps = await createAlertingRevokingDeps(process.env);
// IAM, STS and SNS are built when a run first needs them (see lib/lazy.ts).
const iam = lazyIamClient();
// Trust policies are read and written in the role's own account (the spoke role's session roleguard-rotate).
const accounts = accountAccessOf(deps, iam);
const trust = iamTrustPolicyIo(iamByRole(accounts, 'rotate'));
const sns = once(() => new SNSClient({}));
const { config } = deps;
// The vendor-contact Slack channel, when configured: its webhook is read (through a cache) on each notice.
const vendorSlack = config.rotationSlackWebhookParameter
  ? async (payload: { text: string; blocks: unknown[] }) =>
      slackSender(await readSlackWebhook(config.rotationSlackWebhookParameter!))(payload)
  : null;
const notifier = rotationNotifier({
  sns,
  rotationTopicArn: config.rotationTopicArn,
  vendorSlack,
  alerts: deps.alerts.senders,
});

/**
 * On its schedule: start the rotations that are due, and move each one in flight along (set the trust policy to both
 * IDs, notify the vendor's contact, finish once CloudTrail confirmed the new ID and the old one has gone unused for the
 * quiet period, or alert when the deadline passed, naming who still uses the old ID).
 * A role that fails is retried on the next run; the run fails (and Lambda retries it) after doing all the others.
 */
export const handler = scheduledHandler(deps, 'external-ID rotation', async (now) => {
  const { registry } = await deps.registry();
  const rotating = rotationDeps({
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
    revokeOldSessions: revokeOldSessionsWith(revocationDeps(deps, iam), deps.sessions, config.dryRun),
    otherAccount: (roleArn) => otherAccountReason({ accounts }, roleArn),
  });
  const run = await runRotations(rotating, registry.roles, now);
  for (const result of run.results)
    deps.logger.info('rotation', {
      roleArn: result.roleArn,
      phase: result.phase,
      done: result.done,
      waiting: result.waiting,
    });
  if (run.failed.length)
    throw new Error(
      `rotation failed for ${run.failed.length} role(s): ${run.failed.map((f) => `${f.roleArn}: ${f.error}`).join('; ')}`,
    );
  return { roles: run.results.length, steps: run.results.flatMap((r) => r.done.map((d) => `${r.roleArn}: ${d}`)) };
});
