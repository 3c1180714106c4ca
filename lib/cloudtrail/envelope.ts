import { athenaRowToRecord, isAthenaRow } from '../athena/row.js';
import { describeIssues, object, optional, refined, str, stringArray, validate } from './check.js';

/** One record pulled out of an input document, with where it came from. */
export interface SourcedRecord {
  source: string;
  record: unknown;
  envelopeId: string | null;
}

/** A part of an input that could not be used, with where it came from and why. */
export interface SourcedRejection {
  source: string;
  rejected: string;
}

export type InputItem = SourcedRecord | SourcedRejection;

const CLOUDTRAIL_DETAIL_TYPE = 'AWS API Call via CloudTrail';
// RFC 3339 in UTC, as EventBridge writes `time` (the check Powertools' EventBridge schema made, without zod).
const DATE = String.raw`(?:(?:\d\d[2468][048]|\d\d[13579][26]|\d\d0[48]|[02468][048]00|[13579][26]00)-02-29|\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)|02-(?:0[1-9]|1\d|2[0-8])))`;
const ISO_DATETIME = new RegExp(`^${DATE}T(?:[01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d(?:\\.\\d+)?Z$`);
const eventBridgeCheck = object({
  version: str(null),
  id: str(null),
  source: str(null),
  account: str(null),
  time: refined((v) => ISO_DATETIME.test(v), 'Invalid ISO datetime'),
  region: str(null),
  resources: stringArray,
  'detail-type': str(null),
  'replay-name': optional(str(null)),
});
const MAX_NESTING = 4;

/**
 * Yield the CloudTrail records inside one parsed JSON value: a bare record, an EventBridge event,
 * a log file `{"Records": [...]}`, the output of `aws cloudtrail lookup-events` (`{"Events": [...]}`), a row of
 * Athena's CloudTrail table, or an array of any of these. `source` names the file; nested positions
 * are appended as `:index`.
 */
export function* unwrapDocument(value: unknown, source: string, depth = 0): Generator<InputItem> {
  if (depth > MAX_NESTING) {
    yield { source, rejected: `nested more than ${MAX_NESTING} levels deep` };
    return;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) yield* unwrapDocument(value[i], `${source}:${i}`, depth + 1);
    return;
  }
  if (typeof value !== 'object' || value === null) {
    yield {
      source,
      rejected: `expected a CloudTrail record, EventBridge event or {"Records": [...]}, got ${value === null ? 'null' : typeof value}`,
    };
    return;
  }
  const doc = value as Record<string, unknown>;
  if (Object.hasOwn(doc, 'Records')) {
    if (!Array.isArray(doc.Records)) {
      yield { source, rejected: 'Records is not an array' };
      return;
    }
    const records = doc.Records;
    for (let i = 0; i < records.length; i++) yield { source: `${source}:${i}`, record: records[i], envelopeId: null };
    return;
  }
  if (isLookupEventsPage(doc)) {
    yield* unwrapLookupEvents(doc.Events, source);
    return;
  }
  if (Object.hasOwn(doc, 'detail-type') || Object.hasOwn(doc, 'detail')) {
    yield unwrapEventBridge(doc, source);
    return;
  }
  if (isAthenaRow(doc)) {
    // A row of Athena's CloudTrail table, as UNLOAD writes it: turned back into the record it came from.
    const converted = athenaRowToRecord(doc);
    yield 'record' in converted
      ? { source, record: converted.record, envelopeId: null }
      : { source, rejected: converted.rejected };
    return;
  }
  yield { source, record: doc, envelopeId: null };
}

/** Take the CloudTrail record out of an EventBridge "AWS API Call via CloudTrail" event. */
export function unwrapEventBridge(doc: unknown, source: string): InputItem {
  const issues = validate(eventBridgeCheck, doc);
  if (issues.length > 0) return { source, rejected: `invalid EventBridge event: ${describeIssues(issues)}` };
  const event = doc as { id: string; account: string; region: string; 'detail-type': string; detail?: unknown };
  if (event['detail-type'] !== CLOUDTRAIL_DETAIL_TYPE) {
    return {
      source,
      rejected: `EventBridge detail-type ${JSON.stringify(event['detail-type'].slice(0, 64))} is not "${CLOUDTRAIL_DETAIL_TYPE}"`,
    };
  }
  const mismatch = recipientMismatch(event.account, event.detail);
  if (mismatch) return { source, rejected: mismatch };
  return { source, record: event.detail, envelopeId: event.id };
}

/**
 * A CloudTrail event is put on the bus of the account that recorded it, and forwarded from there as it is: its
 * envelope `account` is its `recipientAccountId`. One that differs was altered or misrouted, and is not trusted.
 */
function recipientMismatch(account: string, detail: unknown): string | null {
  const recipient = (detail as { recipientAccountId?: unknown } | null)?.recipientAccountId;
  if (typeof recipient !== 'string' || recipient === account) return null;
  return `EventBridge envelope account ${JSON.stringify(account.slice(0, 32))} differs from detail.recipientAccountId ${JSON.stringify(recipient.slice(0, 32))}: an account forwards only events its own trail recorded, so the event was altered or misrouted`;
}

/** `aws cloudtrail lookup-events` output: `{"Events": [...], "NextToken"?: ...}`; a CloudTrail record has no `Events`. */
export function isLookupEventsPage(doc: Record<string, unknown>): doc is { Events: unknown } {
  return Object.hasOwn(doc, 'Events') && !Object.hasOwn(doc, 'eventName') && !Object.hasOwn(doc, 'eventVersion');
}

// Each entry of a lookup-events page carries the whole record as a JSON string in CloudTrailEvent.
function* unwrapLookupEvents(events: unknown, source: string): Generator<InputItem> {
  if (!Array.isArray(events)) {
    yield { source, rejected: 'Events is not an array (expected the output of aws cloudtrail lookup-events)' };
    return;
  }
  for (let i = 0; i < events.length; i++) {
    const entry: unknown = events[i];
    const at = `${source}:${i}`;
    const text =
      typeof entry === 'object' && entry !== null ? (entry as { CloudTrailEvent?: unknown }).CloudTrailEvent : null;
    if (typeof text !== 'string') {
      yield { source: at, rejected: 'lookup-events entry has no CloudTrailEvent string' };
      continue;
    }
    try {
      yield { source: at, record: JSON.parse(text), envelopeId: null };
    } catch (error) {
      yield { source: at, rejected: `CloudTrailEvent is not JSON: ${(error as Error).message}` };
    }
  }
}
