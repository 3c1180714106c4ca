// The replay reader as it was before records came in batches (lib/cloudtrail/read-inputs.ts and
// lib/replay/collect-file.ts at the time): every chunk streamed, each record an asynchronous step. Kept only as the
// reference the batched reader must match item for item (test/unit/cloudtrail/read-inputs-reference.test.ts).
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { classifyRecord } from '../../lib/cloudtrail/classify.js';
import { type InputItem, isLookupEventsPage, unwrapDocument } from '../../lib/cloudtrail/envelope.js';
import type { ReadOptions } from '../../lib/cloudtrail/read-inputs.js';
import { emptyCoverage, type FileResult, type ReadCoverage } from '../../lib/replay/collect-file.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });
const GUNZIP_CHUNK = 1 << 20;

async function isGzip(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const { bytesRead, buffer } = await handle.read(Buffer.alloc(2), 0, 2, 0);
    return bytesRead === 2 && buffer[0] === 0x1f && buffer[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

/** The reference readInputFile. */
export async function* referenceReadInputFile(path: string, options: ReadOptions): AsyncGenerator<InputItem> {
  let gz: boolean;
  try {
    gz = await isGzip(path);
  } catch (error) {
    yield { source: path, rejected: `cannot read: ${(error as Error).message}` };
    return;
  }
  const raw = createReadStream(path, { highWaterMark: 256 * 1024 });
  // 1 MiB of output per chunk: at Node's default 16 KiB the reader waits on zlib's thread pool for every chunk and
  // runs at about half the speed of a synchronous gunzip.
  const stream = gz ? raw.pipe(createGunzip({ chunkSize: GUNZIP_CHUNK })) : raw;
  if (gz) raw.on('error', (error) => stream.destroy(error));
  let reported = 0;
  const counted = async function* (): AsyncGenerator<Buffer> {
    for await (const chunk of stream) {
      if (options.onBytes && raw.bytesRead > reported) {
        options.onBytes(raw.bytesRead - reported);
        reported = raw.bytesRead;
      }
      yield chunk as Buffer;
    }
  };
  try {
    yield* splitRecords(counted(), path, options);
  } catch (error) {
    const message = (error as Error).message;
    yield { source: path, rejected: gz ? `corrupt or truncated gzip: ${message}` : `cannot read: ${message}` };
  } finally {
    raw.destroy();
    stream.destroy();
  }
}

// JSON lines are streamed line by line; anything else is one JSON document, parsed whole. A line may itself be a
// whole CloudTrail log file (S3 writes them on one line), so lines are capped at the document size, and only a
// line holding a single record is held to the record limit.
async function* splitRecords(
  stream: AsyncIterable<Buffer>,
  path: string,
  options: ReadOptions,
): AsyncGenerator<InputItem> {
  const { maxRecordBytes, maxDocumentBytes } = options;
  const tooBig = `over ${maxDocumentBytes} bytes; split it or use JSON lines`;
  let mode: 'undecided' | 'lines' | 'document' = 'undecided';
  let parts: Buffer[] = [];
  let length = 0;
  let lineIndex = 0;
  let skipping = false; // inside a line already rejected as too long
  let firstLine: Buffer | null = null;

  // A read error (a truncated gzip) ends the loop; the line still held is flushed before the error is reported.
  let readError: unknown = null;
  const guarded = async function* (): AsyncGenerator<Buffer> {
    try {
      yield* stream;
    } catch (error) {
      readError = error;
    }
  };
  for await (const chunk of guarded()) {
    if (mode === 'document') {
      length += chunk.length;
      if (length > maxDocumentBytes) throw new Error(`a JSON document ${tooBig}`);
      parts.push(chunk);
      continue;
    }
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, nl);
      start = nl + 1;
      if (skipping) {
        skipping = false;
        continue;
      }
      const line = length ? Buffer.concat([...parts, piece]) : piece;
      parts = [];
      length = 0;
      if (mode === 'undecided') {
        if (line.every((byte) => byte === 32 || byte === 9 || byte === 13)) {
          lineIndex++;
          continue;
        }
        if (!isJsonLine(line)) {
          // Pretty-printed JSON: keep everything and parse it whole at the end.
          mode = 'document';
          parts = [Buffer.from(line), Buffer.from('\n'), Buffer.from(chunk.subarray(start))];
          length = parts.reduce((n, b) => n + b.length, 0);
          break;
        }
        // Hold the first line: a file of one line is named by the file alone, like its pretty-printed form.
        mode = 'lines';
        firstLine = Buffer.from(line);
        lineIndex++;
        continue;
      }
      if (firstLine) {
        yield* parseText(firstLine, `${path}:0`, maxRecordBytes);
        firstLine = null;
      }
      yield* parseText(line, `${path}:${lineIndex++}`, maxRecordBytes);
    }
    if (mode === 'document' || skipping) continue;
    const rest = chunk.subarray(start);
    if (rest.length === 0) continue;
    if (length + rest.length > maxDocumentBytes) {
      if (mode === 'undecided') throw new Error(`a JSON document ${tooBig}`);
      if (firstLine) {
        yield* parseText(firstLine, `${path}:0`, maxRecordBytes);
        firstLine = null;
      }
      yield { source: `${path}:${lineIndex++}`, rejected: `line ${tooBig}` };
      parts = [];
      length = 0;
      skipping = true;
      continue;
    }
    parts.push(Buffer.from(rest));
    length += rest.length;
  }
  if (readError) {
    if (firstLine) yield* parseText(firstLine, `${path}:0`, maxRecordBytes);
    throw readError;
  }
  const tail = Buffer.concat(parts);
  const blankTail = tail.every((byte) => byte === 32 || byte === 9 || byte === 13 || byte === 10);
  if (firstLine) yield* parseText(firstLine, blankTail ? path : `${path}:0`, maxRecordBytes);
  if (mode === 'document') yield* parseDocumentOrLines(tail, path, maxRecordBytes);
  else if (mode === 'lines' && !skipping && tail.length > 0)
    yield* parseText(tail, `${path}:${lineIndex}`, maxRecordBytes);
  else if (mode === 'undecided' && tail.length > 0) yield* parseText(tail, path, maxRecordBytes);
  else if (mode === 'undecided') yield { source: path, rejected: 'empty file' };
}

// A document that does not parse whole may be JSON lines whose first line is broken: then read it line by line,
// so one bad line does not lose the rest of the file.
function* parseDocumentOrLines(buffer: Buffer, path: string, maxRecordBytes: number): Generator<InputItem> {
  const whole = [...parseText(buffer, path, maxRecordBytes)];
  const unparsable = whole.length === 1 && 'rejected' in whole[0]! && whole[0].rejected.startsWith('not JSON');
  if (!unparsable) return yield* whole;
  const lines: Buffer[] = [];
  for (let start = 0; start <= buffer.length; ) {
    const nl = buffer.indexOf(10, start);
    const end = nl === -1 ? buffer.length : nl;
    lines.push(buffer.subarray(start, end));
    start = end + 1;
  }
  // Only whole JSON objects count: a pretty-printed document has lines like `"arn:…"` that parse on their own.
  if (!lines.slice(1).some((line) => line.subarray(0, 1).toString() === '{' && isJsonLine(line))) return yield* whole;
  for (const [index, line] of lines.entries()) yield* parseText(line, `${path}:${index}`, maxRecordBytes);
}

function isJsonLine(line: Buffer): boolean {
  try {
    const text = utf8.decode(line).trim();
    if (text === '') return false;
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function* parseText(buffer: Buffer, source: string, maxRecordBytes: number): Generator<InputItem> {
  let text: string;
  try {
    text = utf8.decode(buffer);
  } catch {
    yield { source, rejected: 'not valid UTF-8' };
    return;
  }
  if (text.trim() === '') return;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    yield { source, rejected: `not JSON or JSON lines: ${(error as Error).message}` };
    return;
  }
  const container =
    Array.isArray(value) ||
    (typeof value === 'object' &&
      value !== null &&
      (Object.hasOwn(value, 'Records') || isLookupEventsPage(value as Record<string, unknown>)));
  if (!container && buffer.length > maxRecordBytes) {
    yield { source, rejected: `record is ${buffer.length} bytes, over the ${maxRecordBytes}-byte record limit` };
    return;
  }
  yield* unwrapDocument(value, source);
}
const ACCOUNT = /^\d{12}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
const count = (counts: Record<string, number>, key: string) => {
  // Own keys only: an event could be named `constructor` or `toString`.
  counts[key] = (Object.hasOwn(counts, key) ? counts[key]! : 0) + 1;
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

/** The reference collectFile. */
export async function referenceCollectFile(
  path: string,
  read: ReadOptions,
  recordAwsServiceAssumes: boolean,
  hooks: { onProgress?: (bytes: number, records: number) => void; signal?: AbortSignal } = {},
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
  let bytes = 0;
  let records = 0;
  const options = {
    ...read,
    onBytes: (n: number) => {
      bytes += n;
    },
  };
  for await (const item of referenceReadInputFile(path, options)) {
    if (hooks.signal?.aborted) break;
    const at = result.items++;
    if ('rejected' in item) {
      result.rejected.push({ at, source: item.source, reason: item.rejected });
      continue;
    }
    result.eventsRead++;
    const classified = classifyRecord(item.record, { recordAwsServiceAssumes }, item.envelopeId);
    if (classified.kind === 'ignored') {
      result.ignored++;
      count(result.byReason, classified.category);
      count(result.byEventName, classified.eventName);
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
  return result;
}
