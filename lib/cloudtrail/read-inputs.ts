import type { Dirent } from 'node:fs';
import { createReadStream } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { type InputItem, isLookupEventsPage, unwrapDocument } from './envelope.js';

/** Limits and hooks for reading replay inputs. */
export interface ReadOptions {
  /** A single record (or JSON line) larger than this is rejected. CloudTrail's own limit is far lower. */
  maxRecordBytes: number;
  /** A JSON document (not JSON lines) is parsed whole, so it is capped. */
  maxDocumentBytes: number;
  /** Called with the bytes read from disk so far (compressed size for .gz). */
  onBytes?: (bytes: number) => void;
}

export const DEFAULT_READ_OPTIONS: ReadOptions = { maxRecordBytes: 1024 * 1024, maxDocumentBytes: 256 * 1024 * 1024 };

const INPUT_FILE = /\.(json|jsonl|ndjson|log)(\.gz)?$|\.gz$/i;
const utf8 = new TextDecoder('utf-8', { fatal: true });
const GUNZIP_CHUNK = 1 << 20;

/** A file to read, and its size on disk. */
export interface InputFile {
  path: string;
  bytes: number;
}

/**
 * Expand paths into the files to read: files as given, directories recursively (only JSON, JSON lines and
 * .gz files), in a stable order. A path that does not exist is reported as a rejection.
 */
export async function listInputFiles(paths: string[]): Promise<{ files: InputFile[]; missing: InputItem[] }> {
  const files: InputFile[] = [];
  const missing: InputItem[] = [];
  const walk = async (dir: string): Promise<void> => {
    let entries: Dirent[];
    try {
      // Code-unit order, not the locale's, so a run lists files the same way on every machine.
      entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
        a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
      );
    } catch (error) {
      missing.push({
        source: dir,
        rejected: `cannot read the directory: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      });
      return;
    }
    for (const entry of entries) {
      const full = join(dir, entry.name);
      // Beside the logs sit digest files (integrity hashes) in CloudTrail-Digest/ and Insights events (rate
      // anomalies, another record format with no API call in it) in CloudTrail-Insight/: neither holds events to decide.
      if (/^CloudTrail-(Digest|Insight)$|_CloudTrail-(Digest|Insight)_/.test(entry.name)) continue;
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile() && INPUT_FILE.test(entry.name)) {
        const info = await stat(full).catch(() => null);
        if (info) files.push({ path: full, bytes: info.size });
        else missing.push({ source: full, rejected: 'the file vanished while the run listed it' });
      }
    }
  };
  for (const path of paths) {
    let code = '';
    const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
      code = error.code ?? error.message;
      return null;
    });
    if (!info)
      missing.push({
        source: path,
        rejected: code === 'ENOENT' ? 'no such file or directory' : `cannot read: ${code}`,
      });
    else if (info.isDirectory()) await walk(path);
    else files.push({ path, bytes: info.size });
  }
  return { files, missing };
}

async function isGzip(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const { bytesRead, buffer } = await handle.read(Buffer.alloc(2), 0, 2, 0);
    return bytesRead === 2 && buffer[0] === 0x1f && buffer[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

/**
 * Yield every record (or rejection) in one file: one record, EventBridge event, Records document, lookup-events
 * output, array or JSON lines; gzip or not.
 */
export async function* readInputFile(
  path: string,
  options: ReadOptions = DEFAULT_READ_OPTIONS,
): AsyncGenerator<InputItem> {
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

/** Read every input path in order. */
export async function* readInputs(
  paths: string[],
  options: ReadOptions = DEFAULT_READ_OPTIONS,
): AsyncGenerator<InputItem> {
  const { files, missing } = await listInputFiles(paths);
  yield* missing;
  for (const file of files) yield* readInputFile(file.path, options);
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
