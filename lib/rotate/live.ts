import { GetRoleCommand, type IAMClient, UpdateAssumeRolePolicyCommand } from '@aws-sdk/client-iam';
import type { MessageAttributeValue, SNSClient } from '@aws-sdk/client-sns';
import { PublishCommand } from '@aws-sdk/client-sns';
import type { AlertSenders } from '../alert/deliver.js';
import { escapeMrkdwn as e } from '../alert/escape.js';
import { parseRoleArn } from '../cloudtrail/arn.js';
import { built, type Lazy } from '../lazy.js';
import type { RegisteredRole } from '../registry/types.js';
import { withIamRetry } from '../revoke/apply.js';
import type { RotationNotice, RotationNotifier, TrustPolicyIo } from './machine.js';
import { quietHoursOf } from './quiet.js';
import type { Rotation } from './store.js';

/**
 * IAM answered GetRole with another role than the one asked for: IAM acts by role name in the account of the
 * credentials, so a role of another account would have been written as the same-named role of this one.
 */
export class WrongRoleError extends Error {
  override name = 'WrongRoleError';
}

/** Throw WrongRoleError unless IAM's `Role.Arn` is the asked role (same account and name; a path is not identity). */
export function checkRoleArn(asked: string, answered: string | undefined): void {
  const want = parseRoleArn(asked);
  const got = answered ? parseRoleArn(answered) : null;
  if (want && got && got.accountId === want.accountId && got.roleName === want.roleName) return;
  const account = got?.accountId;
  throw new WrongRoleError(
    `IAM answered for ${answered ?? 'no role ARN'} when asked for ${asked}${
      account && want && account !== want.accountId
        ? `: the credentials are for account ${account}, not the role's account ${want.accountId}, and IAM acts by role name there`
        : ''
    }; nothing was written`,
  );
}

/**
 * Trust policies through IAM: GetRole (URL-encoded, decoded by the editor) and UpdateAssumeRolePolicy, throttling
 * retried. `iam` is one client, or the client of the role's account (acting in member accounts: lib/org/accounts.ts).
 * The `Role.Arn` GetRole returns must be the role asked for, and a role is written only once a read has shown that.
 */
export function iamTrustPolicyIo(iam: IAMClient | ((roleArn: string) => Promise<IAMClient>)): TrustPolicyIo {
  const clientOf = async (roleArn: string) => (typeof iam === 'function' ? iam(roleArn) : iam);
  const nameOf = (roleArn: string) => {
    const parts = parseRoleArn(roleArn);
    if (!parts) throw new Error(`not a role ARN: ${roleArn}`);
    return parts.roleName;
  };
  const checked = new Set<string>();
  const getRole = async (roleArn: string) => {
    const [client, roleName] = [await clientOf(roleArn), nameOf(roleArn)];
    const out = await withIamRetry(() => client.send(new GetRoleCommand({ RoleName: roleName })));
    checkRoleArn(roleArn, out.Role?.Arn);
    checked.add(roleArn);
    return out;
  };
  return {
    async read(roleArn) {
      const document = (await getRole(roleArn)).Role?.AssumeRolePolicyDocument;
      if (!document) throw new Error(`GetRole returned no trust policy for ${roleArn}`);
      return document;
    },
    async write(roleArn, document) {
      if (!checked.has(roleArn)) await getRole(roleArn);
      const [client, roleName] = [await clientOf(roleArn), nameOf(roleArn)];
      await withIamRetry(() =>
        client.send(new UpdateAssumeRolePolicyCommand({ RoleName: roleName, PolicyDocument: document })),
      );
    },
  };
}

const attr = (value: string): MessageAttributeValue => ({ DataType: 'String', StringValue: value });

/** The message that gives the vendor's contact the new ID. The one message that carries it in full. Pure. */
export function formatVendorNotice(
  role: RegisteredRole,
  rotation: Rotation,
): { Subject: string; Message: string; MessageAttributes: Record<string, MessageAttributeValue> } {
  return {
    Subject: `New external ID for ${role.vendor}`.replace(/[^\x20-\x7e]/g, '?').slice(0, 99),
    Message: [
      `Please switch ${role.vendor}'s integration to a new external ID for role ${role.roleArn}.`,
      '',
      `New external ID: ${rotation.pendingId}`,
      '',
      `The old ID and the new one are both accepted now. The old one is removed once an AssumeRole with the new ID`,
      `has been seen and the old ID has then gone unused for ${quietHoursOf(role)} hours, and no earlier. Please switch`,
      `every worker before ${rotation.deadlineAt}.`,
    ].join('\n'),
    MessageAttributes: { kind: attr('external-id-rotation'), vendor: attr(role.vendor), role: attr(role.roleArn) },
  };
}

/**
 * Rotation notices. The new ID goes only to the vendor's contact: the role's `rotation.notifyTopicArn`, else the
 * rotation topic (subscribers filter on the `vendor` attribute), and the vendor-contact Slack webhook when one is
 * configured. Everything else goes to the security alert channels with IDs masked.
 */
export function rotationNotifier(options: {
  /** SNS, or how to build it (built at the first notice); null: no topic. */
  sns: Lazy<SNSClient> | null;
  rotationTopicArn: string | null;
  vendorSlack?: ((payload: { text: string; blocks: unknown[] }) => Promise<void>) | null;
  alerts: AlertSenders;
}): RotationNotifier {
  return {
    async vendor(role, rotation) {
      const topic = role.rotation?.notifyTopicArn ?? options.rotationTopicArn;
      if (!options.sns || !topic) {
        if (!options.vendorSlack)
          throw new Error(
            `no channel to ${role.vendor}'s contact is configured (ROTATION_TOPIC_ARN, the role's rotation.notifyTopicArn, or ROTATION_SLACK_WEBHOOK_PARAMETER)`,
          );
      } else {
        await built(options.sns).send(new PublishCommand({ TopicArn: topic, ...formatVendorNotice(role, rotation) }));
      }
      if (options.vendorSlack) {
        const text = formatVendorNotice(role, rotation).Message;
        // Plain text (no mrkdwn): the vendor name and the ID are shown as they are, never interpreted.
        await options.vendorSlack({
          text,
          blocks: [{ type: 'section', text: { type: 'plain_text', text: text.slice(0, 2900), emoji: false } }],
        });
      }
    },
    async alert(notice) {
      if (options.alerts.slack) await options.alerts.slack(formatSlackRotationNotice(notice));
      if (options.alerts.sns) await options.alerts.sns(formatSnsRotationNotice(notice));
    },
  };
}

const ICON = { high: ':warning:', medium: ':large_orange_diamond:', low: ':information_source:' } as const;

/** A rotation notice for the security Slack channel. Pure; every value is escaped. */
export function formatSlackRotationNotice(notice: RotationNotice): { text: string; blocks: unknown[] } {
  return {
    text: `${notice.severity}: ${notice.title}`,
    blocks: [
      {
        type: 'header',
        text: { type: 'plain_text', text: `${ICON[notice.severity]} ${notice.title}`.slice(0, 150), emoji: true },
      },
      {
        type: 'section',
        text: { type: 'mrkdwn', text: `*Role* \`${e(notice.roleArn, 200)}\`\n${e(notice.message, 2500)}` },
      },
    ],
  };
}

/** A rotation notice for the alerts SNS topic. Pure. */
export function formatSnsRotationNotice(notice: RotationNotice): {
  Subject: string;
  Message: string;
  MessageAttributes: Record<string, MessageAttributeValue>;
} {
  return {
    Subject: `roleguard ${notice.severity}: ${notice.title}`.replace(/[^\x20-\x7e]/g, '?').slice(0, 99),
    Message: JSON.stringify({ source: 'roleguard', kind: 'external-id-rotation', ...notice }),
    MessageAttributes: {
      kind: attr('external-id-rotation'),
      severity: attr(notice.severity),
      role: attr(notice.roleArn),
    },
  };
}
