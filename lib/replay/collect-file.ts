import { setImmediate as yieldToEvents } from 'node:timers/promises';
import { classifyRecord } from '../cloudtrail/classify.js';
import { type ReadOptions, readInputBatches } from '../cloudtrail/read-inputs.js';

/** A record replay will decide, as read from one file, with `at` its position in that file. */
export interface FileRecord {
  /** The record as JSON: a third of its size as an object, and what crosses back from a worker thread. */
  json: string;
  envelopeId: string | null;
  source: string;
  at: number;
  /** eventTime in milliseconds. */
  time: number;
  eventId: string;
  recipientAccountId: string;
}

/** What the input covered: the accounts and Regions its records came from, and their time span. */
export interface ReadCoverage {
  accounts: Set<string>;
  regions: Set<string>;
  from: string | null;
  to: string | null;
}

/**
 * One file read and classified: counts of what is ignored, the rejections and the records to decide (with their
 * position in the file), and its coverage. Small and structured-cloneable, so a worker thread can hand it back.
 */
export interface FileResult {
  /** Items read (records and rejections), so that positions can be made global in file order. */
  items: number;
  eventsRead: number;
  ignored: number;
  byReason: Record<string, number>;
  byEventName: Record<string, number>;
  rejected: { at: number; source: string; reason: string }[];
  pending: FileRecord[];
  coverage: ReadCoverage;
}

/** Hooks of reading one file. */
export interface FileHooks {
  /** Bytes read from disk (compressed for .gz) and records read, since the last call. */
  onProgress?: (bytes: number, records: number) => void;
  signal?: AbortSignal;
}

/** The longest the reading loop runs without letting the event loop turn (timers, signals, an abort). */
const TURN_MS = 50;

const ACCOUNT = /^\d{12}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
// Counted in a Map (far cheaper per record than an object used as a dictionary), then written out in the same order.
const count = (counts: Map<string, number>, key: string) => {
  counts.set(key, (counts.get(key) ?? 0) + 1);
};
const written = (counts: Map<string, number>): Record<string, number> => {
  const out: Record<string, number> = {};
  // Own keys only: an event could be named `constructor` or `toString`.
  for (const [key, n] of counts) out[key] = n;
  return out;
};

// What processRecord (lib/pipeline.ts) says of a record JSON.stringify cannot write; not imported from there, so
// that the worker's bundle stays free of the pipeline and the AWS SDK.
const UNSERIALISABLE = 'record cannot be serialised (nested too deeply or cyclic)';

function serialised(record: unknown): string | null {
  try {
    return JSON.stringify(record);
  } catch {
    return null;
  }
}

/** An empty coverage. */
export const emptyCoverage = (): ReadCoverage => ({ accounts: new Set(), regions: new Set(), from: null, to: null });

// Records of one file repeat their account, Region and second: each is checked once, then compared.
function coverer(coverage: ReadCoverage): (record: unknown) => void {
  let lastTime: string | null = null;
  return (record) => {
    if (typeof record !== 'object' || record === null) return;
    const { recipientAccountId, awsRegion, eventTime } = record as Record<string, unknown>;
    if (typeof recipientAccountId === 'string' && !coverage.accounts.has(recipientAccountId))
      if (ACCOUNT.test(recipientAccountId)) coverage.accounts.add(recipientAccountId);
    if (typeof awsRegion === 'string' && !coverage.regions.has(awsRegion))
      if (REGION.test(awsRegion)) coverage.regions.add(awsRegion);
    if (typeof eventTime !== 'string' || eventTime === lastTime || Number.isNaN(Date.parse(eventTime))) return;
    lastTime = eventTime;
    const iso = new Date(Date.parse(eventTime)).toISOString();
    if (coverage.from === null || iso < coverage.from) coverage.from = iso;
    if (coverage.to === null || iso > coverage.to) coverage.to = iso;
  };
}

/**
 * Read one input file and classify each record as it streams: ignored records are only counted, rejections kept
 * with their place, and the records to decide kept (about 1.5 % of a trail).
 */
export async function collectFile(
  path: string,
  read: ReadOptions,
  recordAwsServiceAssumes: boolean,
  hooks: FileHooks = {},
): Promise<FileResult> {
  const result: FileResult = {
    items: 0,
    eventsRead: 0,
    ignored: 0,
    byReason: {},
    byEventName: {},
    rejected: [],
    pending: [],
    coverage: emptyCoverage(),
  };
  const cover = coverer(result.coverage);
  const classifyOptions = { recordAwsServiceAssumes };
  const byReason = new Map<string, number>();
  const byEventName = new Map<string, number>();
  let bytes = 0;
  let records = 0;
  const options = {
    ...read,
    onBytes: (n: number) => {
      bytes += n;
    },
  };
  // Batches of items, each iterated with a plain loop: an asynchronous step per chunk read, not per record. A file
  // read whole is one batch with no step at all, so the loop lets timers and signals (Ctrl-C) run now and then.
  let lastTurn = performance.now();
  reading: for await (const batch of readInputBatches(path, options))
    for (const item of batch) {
      if ((result.items & 1023) === 0 && performance.now() - lastTurn > TURN_MS) {
        await yieldToEvents();
        lastTurn = performance.now();
      }
      if (hooks.signal?.aborted) break reading;
      const at = result.items++;
      if ('rejected' in item) {
        result.rejected.push({ at, source: item.source, reason: item.rejected });
        continue;
      }
      result.eventsRead++;
      const classified = classifyRecord(item.record, classifyOptions, item.envelopeId);
      if (classified.kind === 'ignored') {
        result.ignored++;
        count(byReason, classified.category);
        count(byEventName, classified.eventName);
      } else if (classified.kind === 'rejected') {
        result.rejected.push({ at, source: item.source, reason: classified.reason });
      } else {
        const json = serialised(item.record);
        if (json === null) result.rejected.push({ at, source: item.source, reason: UNSERIALISABLE });
        else
          result.pending.push({
            json,
            envelopeId: item.envelopeId,
            source: item.source,
            at,
            time: Date.parse(classified.kind === 'assume' ? classified.issuedAt : classified.eventTime),
            eventId: classified.eventId,
            recipientAccountId: classified.recipientAccountId,
          });
      }
      cover(item.record);
      if (++records >= 1000 || bytes >= 1 << 20) {
        hooks.onProgress?.(bytes, records);
        bytes = records = 0;
      }
    }
  hooks.onProgress?.(bytes, records);
  result.byReason = written(byReason);
  result.byEventName = written(byEventName);
  return result;
}
