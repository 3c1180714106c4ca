import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { IncomingWebhook, type IncomingWebhookSendArguments } from '@slack/webhook';
import type { AlertSenders } from './deliver.js';

/** How long one post to Slack may take before it counts as failed (and is retried). */
export const SLACK_TIMEOUT_MS = 10_000;

/**
 * Send to a Slack incoming webhook. The URL is a secret: it is held here only, never logged, and errors carry the
 * HTTP status (for retry decisions) but not the URL.
 */
export function slackSender(
  webhookUrl: string,
  options: { timeoutMs?: number } = {},
): NonNullable<AlertSenders['slack']> {
  if (!/^https?:\/\/\S+$/.test(webhookUrl)) throw new Error('the Slack webhook secret is not a URL');
  const webhook = new IncomingWebhook(webhookUrl, { timeout: options.timeoutMs ?? SLACK_TIMEOUT_MS });
  return async (payload) => {
    // Block Kit blocks are built as plain data by the formatter; the webhook posts them as they are.
    await webhook.send(payload as IncomingWebhookSendArguments);
  };
}

/** Publish to the alerts SNS topic. */
export function snsSender(client: SNSClient, topicArn: string): NonNullable<AlertSenders['sns']> {
  return async (message) => {
    await client.send(new PublishCommand({ TopicArn: topicArn, ...message }));
  };
}
