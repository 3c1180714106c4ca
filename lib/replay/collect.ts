import { classifyRecord } from '../cloudtrail/classify.js';
import type { InputItem } from '../cloudtrail/envelope.js';
import { type InputFile, type ReadOptions, readInputFile } from '../cloudtrail/read-inputs.js';
import type { ReplayReport } from './report.js';
import { countIgnored } from './report.js';

/** A record replay will decide, with the key that places it in time. */
export interface PendingRecord {
  record: unknown;
  envelopeId: string | null;
  source: string;
  /** Its position in the input, for rejections that come up later. */
  seq: number;
  /** eventTime in milliseconds. */
  time: number;
  eventId: string;
  recipientAccountId: string;
}

/** A rejection, with its position in the input so that rejections are listed in input order. */
export interface SeqRejection {
  seq: number;
  source: string;
  reason: string;
}

/** Hooks of the reading pass. */
export interface CollectOptions {
  read: ReadOptions;
  recordAwsServiceAssumes: boolean;
  signal?: AbortSignal;
  /** Called after every record read. */
  onRecord?: () => void;
  /** Called after every file read. */
  onFile?: () => void;
  /** Filled with the accounts, Regions and time span of every record read, ignored ones included. */
  coverage?: ReadCoverage;
}

/** What the input covered: the accounts and Regions its records came from, and their time span. */
export interface ReadCoverage {
  accounts: Set<string>;
  regions: Set<string>;
  from: string | null;
  to: string | null;
}

/** An empty coverage, to be filled by `collectRecords`. */
export const emptyCoverage = (): ReadCoverage => ({ accounts: new Set(), regions: new Set(), from: null, to: null });

function cover(coverage: ReadCoverage, record: unknown): void {
  if (typeof record !== 'object' || record === null) return;
  const { recipientAccountId, awsRegion, eventTime } = record as Record<string, unknown>;
  if (typeof recipientAccountId === 'string' && /^\d{12}$/.test(recipientAccountId))
    coverage.accounts.add(recipientAccountId);
  if (typeof awsRegion === 'string' && /^[a-z]{2}(-[a-z]+)+-\d$/.test(awsRegion)) coverage.regions.add(awsRegion);
  if (typeof eventTime !== 'string' || Number.isNaN(Date.parse(eventTime))) return;
  const iso = new Date(Date.parse(eventTime)).toISOString();
  if (coverage.from === null || iso < coverage.from) coverage.from = iso;
  if (coverage.to === null || iso > coverage.to) coverage.to = iso;
}

/**
 * Read every input file and classify each record as it streams. Ignored records are only counted (into the
 * report) and rejections kept with their place; only the records to decide are held, and they are returned in
 * eventTime order.
 */
export async function collectRecords(
  files: InputFile[],
  report: ReplayReport,
  rejected: SeqRejection[],
  options: CollectOptions,
): Promise<PendingRecord[]> {
  const pending: PendingRecord[] = [];
  let seq = rejected.length;
  outer: for (const file of files) {
    for await (const item of readInputFile(file.path, options.read)) {
      if (options.signal?.aborted) break outer;
      const kept = take(item, seq++, report, rejected, options.recordAwsServiceAssumes);
      if (kept) pending.push(kept);
      if ('record' in item) {
        if (options.coverage) cover(options.coverage, item.record);
        options.onRecord?.();
      }
    }
    options.onFile?.();
  }
  return pending.sort(inTimeOrder);
}

function take(
  item: InputItem,
  seq: number,
  report: ReplayReport,
  rejected: SeqRejection[],
  recordAwsServiceAssumes: boolean,
): PendingRecord | null {
  if ('rejected' in item) {
    rejected.push({ seq, source: item.source, reason: item.rejected });
    return null;
  }
  report.summary.eventsRead++;
  const classified = classifyRecord(item.record, { recordAwsServiceAssumes }, item.envelopeId);
  if (classified.kind === 'ignored') {
    countIgnored(report, classified.category, classified.eventName);
    return null;
  }
  if (classified.kind === 'rejected') {
    rejected.push({ seq, source: item.source, reason: classified.reason });
    return null;
  }
  const at = classified.kind === 'assume' ? classified.issuedAt : classified.eventTime;
  return {
    record: item.record,
    envelopeId: item.envelopeId,
    source: item.source,
    seq,
    time: Date.parse(at),
    eventId: classified.eventId,
    recipientAccountId: classified.recipientAccountId,
  };
}

const text = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * A total order that does not depend on the input's order: eventTime, then the event (id and account). Copies of
 * one event that differ (never in a real trail) are ordered by their content, so the same copy is recorded first
 * however the files are split or named.
 */
export function inTimeOrder(a: PendingRecord, b: PendingRecord): number {
  return (
    a.time - b.time ||
    text(a.eventId, b.eventId) ||
    text(a.recipientAccountId, b.recipientAccountId) ||
    text(JSON.stringify(a.record), JSON.stringify(b.record)) ||
    a.seq - b.seq
  );
}
