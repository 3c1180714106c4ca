import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { DEFAULT_DELIVERY_POLICY, deliveryWorstCaseMs } from './alert/deliver.js';
import { SLACK_TIMEOUT_MS } from './alert/senders.js';
import type { Deps } from './deps.js';
import { type HandlerResult, handleCloudTrailEvent } from './handle-event.js';
import { emitMetrics } from './metrics.js';
import { DEFAULT_LOCK } from './revoke/service.js';

/** The other calls of one record (DynamoDB, IAM with its bounded retries, SNS), together, at their slowest. */
export const OTHER_CALLS_ALLOWANCE_MS = 10_000;

/**
 * One record's worst case: the role lock's longest wait (a revocation or a re-application), Slack's tries and
 * backoff each to its timeout, and the other calls' allowance.
 */
export const RECORD_WORST_CASE_MS =
  DEFAULT_LOCK.waitMs + deliveryWorstCaseMs(DEFAULT_DELIVERY_POLICY, SLACK_TIMEOUT_MS) + OTHER_CALLS_ALLOWANCE_MS;

/**
 * Below this much time left in the invocation, the records not yet started are handed back to the queue untouched
 * rather than cut off by the timeout: a timeout returns the whole batch, done records included, and counts a receive
 * against every record, so one record that keeps timing out would drag its batch-mates to the dead-letter queue.
 * One record's worst case, so a record started with this much left finishes before the timeout.
 */
export const BATCH_TIME_MARGIN_MS = RECORD_WORST_CASE_MS;

/** The counts of one batch (logged once per invocation). */
export interface BatchSummary {
  records: number;
  recorded: number;
  rejected: number;
  failed: number;
  /** Handled otherwise: duplicates, ignored events, trust-policy changes. */
  ok: number;
}

/** An SQS event as Lambda's event-source mapping delivers it. */
function isSqsEvent(event: unknown): event is { Records: SQSRecord[] } {
  const records = (event as { Records?: unknown } | null)?.Records;
  return (
    Array.isArray(records) &&
    records.every((r) => (r as SQSRecord)?.eventSource === 'aws:sqs' && typeof (r as SQSRecord).messageId === 'string')
  );
}

/** The EventBridge event in a queue message's body, or why there is none (a body that never gets better). */
export function parseQueueBody(body: unknown): { event: object } | { rejected: string } {
  if (typeof body !== 'string') return { rejected: 'message body is missing' };
  let event: unknown;
  try {
    event = JSON.parse(body);
  } catch {
    return { rejected: 'message body is not JSON' };
  }
  if (typeof event !== 'object' || event === null || Array.isArray(event) || !('detail' in event))
    return { rejected: 'message body is not an EventBridge event (no detail)' };
  return { event };
}

/**
 * One batch from the STS or the IAM queue: each message is one EventBridge event, handled as the direct path handles it. A
 * record whose processing throws (an AWS failure) is reported alone in `batchItemFailures` and comes back from the
 * queue (then its dead-letter queue). A malformed message is logged with its reason, counted, and acknowledged:
 * retrying it cannot help.
 */
export async function handleQueueBatch(
  records: SQSRecord[],
  deps: Deps,
  remainingMs: () => number = () => Number.POSITIVE_INFINITY,
): Promise<SQSBatchResponse & { summary: BatchSummary }> {
  const summary: BatchSummary = { records: records.length, recorded: 0, rejected: 0, failed: 0, ok: 0 };
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  for (const [i, record] of records.entries()) {
    if (remainingMs() < BATCH_TIME_MARGIN_MS) {
      const rest = records.slice(i).map((r) => ({ itemIdentifier: r.messageId }));
      deps.logger.warn('time is short; the rest of the batch goes back to the queue', { returned: rest.length });
      batchItemFailures.push(...rest);
      summary.failed += rest.length;
      break;
    }
    // Every line logged for this record names its message.
    deps.logger.appendKeys({ messageId: record.messageId });
    try {
      const outcome = await handleRecord(record, deps);
      if (outcome === 'failed') batchItemFailures.push({ itemIdentifier: record.messageId });
      summary[outcome]++;
    } finally {
      deps.logger.removeKeys(['messageId']);
    }
  }
  return { batchItemFailures, summary };
}

/** One queue message: what became of it (recorded, rejected for good, failed for a retry, or anything else: ok). */
async function handleRecord(record: SQSRecord, deps: Deps): Promise<'recorded' | 'rejected' | 'failed' | 'ok'> {
  const body = parseQueueBody(record.body);
  if ('rejected' in body) {
    deps.logger.warn('queue message rejected', { reason: body.rejected });
    return 'rejected';
  }
  let result: HandlerResult;
  try {
    result = await handleCloudTrailEvent(body.event, deps);
  } catch (error) {
    deps.logger.error('event failed; it returns to the queue, then its dead-letter queue', {
      receiveCount: record.attributes?.ApproximateReceiveCount,
      error: error as Error,
    });
    return 'failed';
  }
  return result.status === 'recorded' || result.status === 'rejected' ? result.status : 'ok';
}

/** The metrics of a batch or of one event: the coverage heartbeat, and the events that could never be taken. */
function emitCounts(recorded: number, rejected: number): void {
  const values: Record<string, number> = {};
  if (recorded) values.StsEventsRecorded = recorded;
  if (rejected) values.EventsRejected = rejected;
  if (Object.keys(values).length) emitMetrics(values);
}

/**
 * The Lambda handler of a queue-fed function (onAssumeRole: the STS queue; onTrustPolicyChange: the IAM queue): SQS
 * batches (answered with `batchItemFailures`), or one EventBridge event invoked directly (tests, a replay by hand),
 * answered as before with the event's result.
 */
export function queuedEventHandler(deps: Deps) {
  return middy(async (event: unknown, context: { getRemainingTimeInMillis?: () => number }) => {
    if (!isSqsEvent(event)) {
      const result = await handleCloudTrailEvent(event, deps);
      emitCounts(result.status === 'recorded' ? 1 : 0, result.status === 'rejected' ? 1 : 0);
      return result;
    }
    const remaining = context?.getRemainingTimeInMillis?.bind(context);
    const { batchItemFailures, summary } = await handleQueueBatch(event.Records, deps, remaining);
    deps.logger.info('batch done', { ...summary });
    emitCounts(summary.recorded, summary.rejected);
    return { batchItemFailures };
  })
    .use(injectLambdaContext(deps.logger, { resetKeys: true }))
    .onError(async (request) => {
      deps.logger.error('event failed; Lambda will retry it, then dead-letter it', { error: request.error as Error });
    });
}

/** onAssumeRole's handler (the STS queue): the queue-fed handler. */
export const assumeEventHandler = queuedEventHandler;
