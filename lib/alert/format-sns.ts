import type { MessageAttributeValue } from '@aws-sdk/client-sns';
import type { Alert } from './types.js';

/** An SNS message for an alert: JSON body, and attributes subscribers can filter on (kind, severity, role). Pure. */
export function formatSnsAlert(alert: Alert): {
  Subject: string;
  Message: string;
  MessageAttributes: Record<string, MessageAttributeValue>;
} {
  const f = alert.finding;
  const attr = (value: string): MessageAttributeValue => ({ DataType: 'String', StringValue: value });
  const subject = `roleguard ${f.severity}: ${f.kind} on ${f.context.vendor}`;
  return {
    // SNS subjects: ASCII, no line breaks, under 100 characters.
    Subject: subject.replace(/[^\x20-\x7e]/g, '?').slice(0, 99),
    Message: JSON.stringify({
      source: 'roleguard',
      alertId: alert.alertId,
      repeatSummary: alert.repeatSummary ?? false,
      count: alert.count,
      firstAt: alert.firstAt,
      lastAt: alert.lastAt,
      finding: {
        kind: f.kind,
        severity: f.severity,
        roleArn: f.roleArn,
        eventId: f.eventId,
        assumedRoleId: f.assumedRoleId,
        callerAccountId: f.callerAccountId,
        message: f.message,
      },
      context: f.context,
      action: alert.action,
      nextStep: alert.nextStep,
      ...(alert.policy ? { policyName: alert.policy.name, policyDocument: alert.policy.document } : {}),
    }),
    MessageAttributes: { kind: attr(f.kind), severity: attr(f.severity), role: attr(f.roleArn) },
  };
}
