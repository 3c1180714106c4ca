import { classifyRecord } from './cloudtrail/classify.js';
import type { AssumeEvent, TrustPolicyChangeEvent } from './cloudtrail/types.js';
import type { Deps } from './deps.js';
import { sessionViewOf, type RecordOutcome, type SessionView } from './sessions/index.js';

/** Largest record processed; CloudTrail events are far smaller, so anything bigger is not a real event. */
export const MAX_RECORD_BYTES = 1024 * 1024;

/** What happened to one record. */
export type ProcessOutcome =
  | { status: 'recorded'; event: AssumeEvent; session: SessionView; recording: Exclude<RecordOutcome, 'duplicate'> }
  | { status: 'duplicate'; event: AssumeEvent }
  | { status: 'trust-policy-change'; event: TrustPolicyChangeEvent }
  | { status: 'ignored'; eventName: string; reason: string }
  | { status: 'rejected'; reason: string };

/** Options of one run through the pipeline. */
export interface ProcessOptions {
  envelopeId?: string | null;
  /** Decide as of this time; replay passes the event's own time. Defaults to `deps.now()`. */
  now?: (event: AssumeEvent | TrustPolicyChangeEvent) => Date;
}

/**
 * parse → record → (detect → respond, in later stages). Bad input becomes a rejected outcome; AWS failures throw,
 * so that Lambda retries the event and finally dead-letters it. Only new (or unfinished) sessions go further.
 */
export async function processRecord(record: unknown, deps: Deps, options: ProcessOptions = {}): Promise<ProcessOutcome> {
  const classified = classifyRecord(record, { recordAwsServiceAssumes: deps.config.recordAwsServiceAssumes }, options.envelopeId ?? null);
  if (classified.kind === 'rejected') return { status: 'rejected', reason: classified.reason };
  if (classified.kind === 'ignored') return { status: 'ignored', eventName: classified.eventName, reason: classified.reason };
  const bytes = Buffer.byteLength(JSON.stringify(record));
  if (bytes > MAX_RECORD_BYTES) return { status: 'rejected', reason: `record is ${bytes} bytes, over the ${MAX_RECORD_BYTES}-byte record limit` };
  const now = options.now?.(classified) ?? deps.now();
  if (classified.kind === 'trust-policy-change') return { status: 'trust-policy-change', event: classified };

  // Nothing downstream yet, so a session is fully processed the moment it is recorded.
  const recording = await deps.sessions.record(classified, { processed: true, now });
  if (recording === 'duplicate') return { status: 'duplicate', event: classified };
  if (recording === 'unfinished') await deps.sessions.markProcessed(classified);
  return { status: 'recorded', event: classified, session: sessionViewOf(classified), recording };
}
