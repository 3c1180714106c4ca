import type { Logger } from '@aws-lambda-powertools/logger';
import { formatSlackAlert } from './format-slack.js';
import { formatSnsAlert } from './format-sns.js';
import type { Outbox, StoredAlert } from './outbox.js';
import type { Alert, Channel } from './types.js';

/** Where alerts go; each sender throws on failure. */
export interface AlertSenders {
  slack?: (payload: ReturnType<typeof formatSlackAlert>) => Promise<void>;
  sns?: (message: ReturnType<typeof formatSnsAlert>) => Promise<void>;
}

/** Retry limits for delivery. */
export interface DeliveryPolicy {
  /** Tries within one invocation before leaving the rest to the sweep. */
  attemptsNow: number;
  baseDelayMs: number;
  /** Sweep attempts after which an alert is marked failed and logged as an error. */
  maxAttempts: number;
  sleep: (ms: number) => Promise<void>;
}

export const DEFAULT_DELIVERY_POLICY: DeliveryPolicy = {
  attemptsNow: 3,
  baseDelayMs: 250,
  maxAttempts: 12,
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

/** Deps of delivery. */
export interface DeliveryDeps {
  outbox: Outbox;
  senders: AlertSenders;
  logger: Logger;
  policy: DeliveryPolicy;
  /** Slack alerts carry action buttons: only when the Slack app is set up (config `slackActions`). */
  slackButtons?: boolean;
}

/** Send one message on one channel, retrying a few times with backoff (429, 5xx, throttling, network). */
export async function sendWithRetry(
  channel: Channel,
  alert: Alert,
  deps: Pick<DeliveryDeps, 'senders' | 'policy' | 'slackButtons'>,
): Promise<void> {
  const send =
    channel === 'slack'
      ? () => deps.senders.slack!(formatSlackAlert(alert, { buttons: deps.slackButtons === true }))
      : () => deps.senders.sns!(formatSnsAlert(alert));
  for (let attempt = 1; ; attempt++) {
    try {
      return await send();
    } catch (error) {
      if (attempt >= deps.policy.attemptsNow || !isTransient(error)) throw error;
      await deps.policy.sleep(deps.policy.baseDelayMs * 4 ** (attempt - 1));
    }
  }
}

/** The longest `sendWithRetry` can take on one channel when every try runs to `attemptTimeoutMs`. */
export function deliveryWorstCaseMs(
  policy: Pick<DeliveryPolicy, 'attemptsNow' | 'baseDelayMs'>,
  attemptTimeoutMs: number,
) {
  let total = policy.attemptsNow * attemptTimeoutMs;
  for (let attempt = 1; attempt < policy.attemptsNow; attempt++) total += policy.baseDelayMs * 4 ** (attempt - 1);
  return total;
}

// AWS throttling comes back as HTTP 400 with one of these error names (SNS: Throttling).
const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'KMSThrottlingException',
]);

function isTransient(error: unknown): boolean {
  if (THROTTLING.has((error as { name?: string }).name ?? '')) return true;
  const status =
    (error as { statusCode?: number; $metadata?: { httpStatusCode?: number } }).statusCode ??
    (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  // Slack 4xx other than 429 (bad payload, revoked webhook) will not get better by retrying now.
  return status === undefined || status === 429 || status >= 500;
}

/** When the sweep should try again after `attempts` failed tries: 30 s, doubling, at most 15 minutes. */
function retryTime(now: Date, attempts: number): Date {
  return new Date(now.getTime() + Math.min(15 * 60_000, 30_000 * 2 ** (attempts - 1)));
}

/**
 * Deliver a stored alert on every channel still pending. Channels already sent are not sent again, so a retry
 * never doubles an alert. What still fails is left due for the sweep, with backoff, until maxAttempts.
 */
export async function deliverAlert(alert: StoredAlert, deps: DeliveryDeps, now: Date): Promise<{ delivered: boolean }> {
  const pending = (Object.keys(alert.channels) as Channel[]).filter((c) => alert.channels[c] === 'pending');
  const failures: string[] = [];
  const sent: Channel[] = [];
  for (const channel of pending) {
    try {
      await sendWithRetry(channel, alert, deps);
      sent.push(channel);
    } catch (error) {
      failures.push(`${channel}: ${(error as Error).message}`);
    }
  }
  // The channels sent are marked with the outcome, in one write: a crash before it sends them again (at least
  // once, never lost), as a crash between a send and its own mark did.
  if (failures.length === 0) {
    await deps.outbox.settle(alert.alertId, { delivered: true, now, sent });
    return { delivered: true };
  }
  const attempts = alert.attempts + 1;
  const failed = attempts >= deps.policy.maxAttempts;
  const retryAt = retryTime(now, attempts);
  await deps.outbox.settle(alert.alertId, { delivered: false, now, retryAt, failed, sent });
  const details = {
    alertId: alert.alertId,
    kind: alert.finding.kind,
    roleArn: alert.finding.roleArn,
    attempts,
    failures,
  };
  if (failed) deps.logger.error('alert delivery failed for good; see the alerts table', details);
  else
    deps.logger.warn('alert delivery failed; the sweep will retry it', { ...details, retryAt: retryAt.toISOString() });
  return { delivered: false };
}

/** The sweep's share of alerting: retry what is due, and send one summary for repeats whose window has closed. */
export async function sweepAlerts(deps: DeliveryDeps, now: Date): Promise<{ retried: number; summaries: number }> {
  let retried = 0;
  let summaries = 0;
  for (const alert of await deps.outbox.due(now)) {
    // A dry run's alert is recorded, never sent.
    if (alert.dryRun) {
      await deps.outbox.dismiss(alert.alertId);
      continue;
    }
    if (alert.state === 'pending') {
      retried++;
      await deliverAlert(alert, deps, now);
    } else if (alert.acknowledged) {
      // Acknowledged from Slack: a repeat merged since owes no summary.
      await deps.outbox.dismiss(alert.alertId);
    } else if (alert.summary === 'due' && alert.windowEndsAt <= now.toISOString()) {
      if (await deliverSummary(alert, deps, now)) summaries++;
    }
  }
  return { retried, summaries };
}

/**
 * Send the repeat summary on each channel that has not taken it yet. As with alerts, a channel that took it is never
 * sent it again; what still fails is retried by later sweeps, with backoff, until maxAttempts.
 */
async function deliverSummary(alert: StoredAlert, deps: DeliveryDeps, now: Date): Promise<boolean> {
  const summary: Alert = { ...alert, repeatSummary: true };
  const done = new Set(alert.summarySent ?? []);
  const channels = (Object.keys(alert.channels) as Channel[]).filter(
    (c) => alert.channels[c] !== 'skipped' && !done.has(c),
  );
  const failures: string[] = [];
  for (const channel of channels) {
    try {
      await sendWithRetry(channel, summary, deps);
      await deps.outbox.markSummaryChannelSent(alert.alertId, channel);
    } catch (error) {
      failures.push(`${channel}: ${(error as Error).message}`);
    }
  }
  if (failures.length === 0) {
    await deps.outbox.markSummarySent(alert.alertId);
    return true;
  }
  const attempts = (alert.summaryAttempts ?? 0) + 1;
  const failed = attempts >= deps.policy.maxAttempts;
  const retryAt = retryTime(now, attempts);
  await deps.outbox.deferSummary(alert.alertId, { retryAt, failed });
  const details = {
    alertId: alert.alertId,
    kind: alert.finding.kind,
    roleArn: alert.finding.roleArn,
    attempts,
    failures,
  };
  if (failed) deps.logger.error('repeat summary delivery failed for good; see the alerts table', details);
  else
    deps.logger.warn('repeat summary not delivered; the sweep will retry it', {
      ...details,
      retryAt: retryAt.toISOString(),
    });
  return false;
}
