import type { InputFile, ReadOptions } from '../cloudtrail/read-inputs.js';
import { collectFile, emptyCoverage, type FileRecord, type FileResult, type ReadCoverage } from './collect-file.js';
import { readInWorkers, workerScript } from './read-pool.js';
import type { ReplayReport } from './report.js';

export { emptyCoverage, type ReadCoverage } from './collect-file.js';

/** A record replay will decide, with the key that places it in time. */
export interface PendingRecord extends Omit<FileRecord, 'at'> {
  /** Its position in the input, for rejections that come up later. */
  seq: number;
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
  /** Worker threads that read and classify files, each its own; 1 reads in this thread. */
  workers?: number;
  /** The worker's script (the built replay-worker.js next to this bundle by default). */
  workerScript?: URL | null;
}

/**
 * Read every input file and classify each record as it streams, in worker threads when there are several (files
 * spread across them, one file in flight each). Ignored records are only counted (into the report) and rejections
 * kept with their place in the input; only the records to decide are held, and they are returned in eventTime
 * order. The result does not depend on the number of workers or on which file finishes first.
 *
 * Memory: each file's counts and coverage go into the report as soon as it is read; its rejections and records to
 * decide wait only until every earlier file is merged (positions are global in file order), so what is held per
 * file is at most the results of files that finished ahead of a slower earlier one. The records to decide
 * themselves are held until the end, for the eventTime sort.
 */
export async function collectRecords(
  files: InputFile[],
  report: ReplayReport,
  rejected: SeqRejection[],
  options: CollectOptions,
): Promise<PendingRecord[]> {
  const pending: PendingRecord[] = [];
  const coverage = options.coverage ?? emptyCoverage();
  // Results read ahead of an earlier file still being read, by index; `merged` files are done, in order.
  const waiting = new Map<number, FileResult>();
  let merged = 0;
  // Positions become global in file order, after the rejections already listed (paths that do not exist).
  let offset = rejected.length;
  const place = (result: FileResult) => {
    for (const r of result.rejected) rejected.push({ seq: offset + r.at, source: r.source, reason: r.reason });
    for (const { at, ...record } of result.pending) pending.push({ ...record, seq: offset + at });
    offset += result.items;
  };
  const { onBytes, ...read } = options.read;
  const progress = (bytes: number, records: number) => {
    if (bytes) onBytes?.(bytes);
    for (let i = 0; i < records; i++) options.onRecord?.();
  };
  const done = (index: number, result: FileResult) => {
    count(result, report, coverage);
    waiting.set(index, result);
    for (let next = waiting.get(merged); next; next = waiting.get(merged)) {
      waiting.delete(merged++);
      place(next);
    }
    options.onFile?.();
  };
  const script = options.workerScript === undefined ? workerScript() : options.workerScript;
  const workers = Math.min(options.workers ?? 1, files.length);
  if (workers > 1 && script) {
    await readInWorkers(
      files,
      { workers, script, read, recordAwsServiceAssumes: options.recordAwsServiceAssumes },
      {
        signal: options.signal,
        onProgress: progress,
        onFile: done,
      },
    );
  } else {
    for (const [index, file] of files.entries()) {
      if (options.signal?.aborted) break;
      done(
        index,
        await collectFile(file.path, read, options.recordAwsServiceAssumes, {
          signal: options.signal,
          onProgress: progress,
        }),
      );
    }
  }
  // After an abort, files read beyond one left unread: in file order, as if the unread ones were empty.
  for (const index of [...waiting.keys()].sort((a, b) => a - b)) place(waiting.get(index)!);
  return pending.sort(inTimeOrder);
}

// What does not depend on order: counts and coverage, added as each file finishes.
function count(result: FileResult, report: ReplayReport, coverage: ReadCoverage): void {
  report.summary.eventsRead += result.eventsRead;
  report.summary.ignored += result.ignored;
  add(report.ignored.byReason, result.byReason);
  add(report.ignored.byEventName, result.byEventName);
  for (const account of result.coverage.accounts) coverage.accounts.add(account);
  for (const region of result.coverage.regions) coverage.regions.add(region);
  const { from, to } = result.coverage;
  if (from !== null && (coverage.from === null || from < coverage.from)) coverage.from = from;
  if (to !== null && (coverage.to === null || to > coverage.to)) coverage.to = to;
}

function add(into: Record<string, number>, counts: Record<string, number>): void {
  // Own keys only: an event could be named `constructor` or `toString`.
  for (const [key, n] of Object.entries(counts)) into[key] = (Object.hasOwn(into, key) ? into[key]! : 0) + n;
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
    text(a.json, b.json) ||
    a.seq - b.seq
  );
}
