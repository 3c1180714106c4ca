import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { built, type Lazy } from '../lazy.js';
import type { AlertSenders } from './deliver.js';

/** How long one post to Slack may take before it counts as failed (and is retried). */
export const SLACK_TIMEOUT_MS = 10_000;

/** Slack answered a webhook post with an HTTP error; the status decides whether it is retried. */
export class SlackWebhookHttpError extends Error {
  override name = 'SlackWebhookHttpError';
  readonly code = 'slack_webhook_http_error';
  constructor(
    readonly statusCode: number,
    readonly statusMessage: string,
    readonly body: string,
  ) {
    super(`An HTTP protocol error occurred: statusCode = ${statusCode}`);
  }
}

/** The post got no answer (network, timeout). */
export class SlackWebhookRequestError extends Error {
  override name = 'SlackWebhookRequestError';
  readonly code = 'slack_webhook_request_error';
  constructor(readonly original: Error) {
    super(`A request error occurred: ${original.message}`, { cause: original });
  }
}

/**
 * Send to a Slack incoming webhook: one JSON POST, as Slack's webhook client makes it (no redirects, a timeout), with
 * `fetch` rather than the client, which would add to every function's bundle and cold start. The URL is a secret: it
 * is held here only, never logged, and errors carry the HTTP status (for retry decisions) but not the URL.
 */
export function slackSender(
  webhookUrl: string,
  options: { timeoutMs?: number } = {},
): NonNullable<AlertSenders['slack']> {
  if (!/^https?:\/\/\S+$/.test(webhookUrl)) throw new Error('the Slack webhook secret is not a URL');
  const timeoutMs = options.timeoutMs ?? SLACK_TIMEOUT_MS;
  return async (payload) => {
    let response: Response;
    let body: string;
    try {
      // Block Kit blocks are built as plain data by the formatter; they are posted as they are.
      response = await fetch(webhookUrl, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(payload),
        redirect: 'error',
        signal: AbortSignal.timeout(timeoutMs),
      });
      body = await response.text();
    } catch (error) {
      throw new SlackWebhookRequestError(error instanceof Error ? error : new Error(String(error)));
    }
    if (!response.ok) throw new SlackWebhookHttpError(response.status, response.statusText, body);
  };
}

/** Publish to the alerts SNS topic (a client given as a builder is built at the first alert). */
export function snsSender(client: Lazy<SNSClient>, topicArn: string): NonNullable<AlertSenders['sns']> {
  return async (message) => {
    await built(client).send(new PublishCommand({ TopicArn: topicArn, ...message }));
  };
}
