import { createHash } from 'node:crypto';
import type { MessageAttributeValue } from '@aws-sdk/client-sns';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { DeliveryPolicy } from '../alert/deliver.js';
import { escapeMrkdwn as e } from '../alert/escape.js';
import type { Deps } from '../deps.js';
import type { AuditReport } from './audit.js';

/** Re-announce unchanged problems after this long, so a known gap is not forgotten. */
const REMIND_AFTER_MS = 7 * 86400_000;
const ORDER = { critical: 0, high: 1, medium: 2 } as const;

/** The Slack message for an audit with problems. Pure. */
export function formatSlackAudit(report: AuditReport): { text: string; blocks: unknown[] } {
  const s = report.summary;
  const title = `Trust-policy audit: ${s.withProblems + s.notFound} of ${s.roles} guarded roles need attention`;
  const lines = report.roles
    .filter((r) => r.problems.length)
    .flatMap((r) => r.problems.map((p) => ({ r, p })))
    .sort((a, b) => ORDER[a.p.severity] - ORDER[b.p.severity])
    .slice(0, 20)
    .map(({ r, p }) => `• *${p.severity}* ${e(r.vendor, 60)} \`${e(r.roleArn, 120)}\`: ${e(p.message, 300)}`);
  return {
    text: title,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: `:mag: ${title}`.slice(0, 150), emoji: true } },
      { type: 'section', text: { type: 'mrkdwn', text: `${s.critical} critical, ${s.high} high, ${s.medium} medium` } },
      { type: 'section', text: { type: 'mrkdwn', text: lines.join('\n').slice(0, 2900) || '–' } },
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: '*Next step*\nRun `roleguard audit` for the full list, fix each trust policy so every cross-account statement requires the registered external ID with StringEquals, or update the registry if the policy is right.',
        },
      },
    ],
  };
}

/** The SNS message for an audit with problems. Pure. */
export function formatSnsAudit(report: AuditReport): {
  Subject: string;
  Message: string;
  MessageAttributes: Record<string, MessageAttributeValue>;
} {
  const worst =
    report.roles.flatMap((r) => r.problems).sort((a, b) => ORDER[a.severity] - ORDER[b.severity])[0]?.severity ??
    'medium';
  const attr = (value: string): MessageAttributeValue => ({ DataType: 'String', StringValue: value });
  return {
    Subject: `roleguard ${worst}: trust-policy audit found problems`,
    Message: JSON.stringify({
      source: 'roleguard',
      kind: 'trust-policy-audit',
      summary: report.summary,
      roles: report.roles.filter((r) => r.problems.length),
    }),
    MessageAttributes: { kind: attr('trust-policy-audit'), severity: attr(worst), role: attr('*') },
  };
}

/** A digest of the problems, so an unchanged audit does not alert every day. */
export function auditDigest(report: AuditReport): string {
  const lines = report.roles
    .flatMap((r) => r.problems.map((p) => `${r.roleArn}|${p.kind}|${p.statement ?? ''}|${p.message}`))
    .sort();
  return createHash('sha256').update(lines.join('\n')).digest('hex');
}

/**
 * Alert on an audit's problems when they are new or changed, or once a week while they stay. The digest is stored
 * (in the alerts table) only after every channel took the message; a failure throws, so the scheduled run is retried.
 */
export async function notifyAudit(
  report: AuditReport,
  deps: Deps,
  now: Date,
): Promise<'none' | 'unchanged' | 'sent' | 'dry-run'> {
  if (report.roles.every((r) => r.problems.length === 0)) return 'none';
  const digest = auditDigest(report);
  const key = { pk: 'audit#last' };
  const last = (
    await deps.clients.dynamo.send(
      new GetCommand({ TableName: deps.config.alertsTable, Key: key, ConsistentRead: true }),
    )
  ).Item;
  if (last?.digest === digest && now.getTime() - Date.parse(String(last.sentAt)) < REMIND_AFTER_MS) return 'unchanged';
  if (deps.config.dryRun) return 'dry-run';
  const { senders, policy } = deps.alerts;
  if (senders.slack) await withRetry(() => senders.slack!(formatSlackAudit(report)), policy);
  if (senders.sns) await withRetry(() => senders.sns!(formatSnsAudit(report)), policy);
  await deps.clients.dynamo.send(
    new PutCommand({ TableName: deps.config.alertsTable, Item: { ...key, digest, sentAt: now.toISOString() } }),
  );
  return 'sent';
}

// A few tries with backoff within the run; what still fails throws, and the scheduled invocation is retried.
async function withRetry(send: () => Promise<void>, policy: DeliveryPolicy): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await send();
    } catch (error) {
      if (attempt >= policy.attemptsNow) throw error;
      await policy.sleep(policy.baseDelayMs * 4 ** (attempt - 1));
    }
  }
}
