import type { Dirent } from 'node:fs';
import { constants, createReadStream } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createGunzip, gunzipSync } from 'node:zlib';
import type { InputItem } from './envelope.js';
import { RecordSplitter } from './split-records.js';

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
const GUNZIP_CHUNK = 1 << 20;
// A file up to this size on disk, holding up to WHOLE_FILE_CONTENT_BYTES (and the document limit), is read whole:
// a CloudTrail log file is a few MB at most. A bigger one is streamed, so a huge JSON-lines file stays cheap to hold.
const WHOLE_FILE_BYTES = 32 * 1024 * 1024;
const WHOLE_FILE_CONTENT_BYTES = 128 * 1024 * 1024;

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
  for await (const batch of readInputBatches(path, options)) yield* batch;
}

/**
 * The items of one file as `readInputFile` yields them, in batches to iterate synchronously (one per chunk read, or
 * one for a file read whole): a reader pays for an asynchronous step per batch, not per record. Each batch must be
 * iterated before the next is asked for.
 *
 * A file of at most WHOLE_FILE_BYTES on disk whose content fits the document limit is read and decompressed in one
 * go, and split as one chunk; a larger one, or one that cannot be read so (a corrupt or truncated gzip, a read
 * error), is streamed, and says what is wrong with it exactly as when it is streamed.
 */
export async function* readInputBatches(
  path: string,
  options: ReadOptions = DEFAULT_READ_OPTIONS,
): AsyncGenerator<Iterable<InputItem>> {
  const whole = await readWhole(path, options.maxDocumentBytes);
  if (!whole) return yield* streamBatches(path, options);
  options.onBytes?.(whole.bytes);
  const splitter = new RecordSplitter(path, options);
  const guard = guarded(path, whole.gz);
  if (whole.content.length > 0) {
    yield guard.batch(splitter.push(whole.content));
    if (guard.failed) return;
  }
  yield guard.batch(splitter.end());
}

/** Read a file whole (and gunzip it) when it is small enough to; null to stream it instead. */
async function readWhole(
  path: string,
  maxDocumentBytes: number,
): Promise<{ content: Buffer; gz: boolean; bytes: number } | null> {
  try {
    const raw = await readSmallFile(path);
    if (!raw) return null;
    const gz = raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b;
    if (!gz) return raw.length <= maxDocumentBytes ? { content: raw, gz, bytes: raw.length } : null;
    // Over the limit, gunzipSync throws, and the file is streamed: split in chunks, as a too-big one must be. A
    // trailer that states more than the limit is believed (streaming is always right), so it is not inflated twice.
    const maxOutputLength = Math.min(maxDocumentBytes, WHOLE_FILE_CONTENT_BYTES);
    const stated = raw.length >= 18 ? raw.readUInt32LE(raw.length - 4) : 0;
    if (stated > maxOutputLength) return null;
    return {
      content: gunzipSync(raw, { maxOutputLength, chunkSize: outputHint(stated, raw.length, maxOutputLength) }),
      gz,
      bytes: raw.length,
    };
  } catch {
    return null;
  }
}

// A regular file of at most WHOLE_FILE_BYTES, read through one descriptor; null for anything else, or a file that grew
// past its size while it was read. Opened without blocking, so that a named pipe (left to the stream) is never waited
// on. Read asynchronously: a synchronous read saves a little time, but a worker whose event loop never turns between
// files lets V8 grow its heap with the run, and a 1M-record replay's peak memory then grew 10 to 20 % over a 250k
// one's (flat this way, measured).
async function readSmallFile(path: string): Promise<Buffer | null> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const info = await handle.stat();
    if (!info.isFile() || info.size > WHOLE_FILE_BYTES) return null;
    const buffer = Buffer.allocUnsafe(info.size + 1);
    let length = 0;
    for (let n = 1; n > 0 && length < buffer.length; length += n)
      n = (await handle.read(buffer, length, buffer.length - length, null)).bytesRead;
    return length > info.size ? null : buffer.subarray(0, length);
  } finally {
    await handle.close();
  }
}

// Room for the whole output in one piece, so that gunzipSync need not join pieces: the size the gzip trailer gives
// (that of its last member, modulo 4 GiB: only a hint), within what deflate can expand to and the output limit.
function outputHint(stated: number, rawLength: number, maxOutputLength: number): number {
  return Math.max(64 * 1024, Math.min(stated, rawLength * 1032, maxOutputLength) + 1);
}

// What ends a file early (a read error, a gzip error, a document too big) is reported as its last item.
function guarded(path: string, gz: boolean) {
  const rejection = (error: unknown): InputItem => {
    const message = (error as Error).message;
    return { source: path, rejected: gz ? `corrupt or truncated gzip: ${message}` : `cannot read: ${message}` };
  };
  const guard = {
    failed: false,
    rejection,
    *batch(items: Iterable<InputItem>): Generator<InputItem> {
      try {
        yield* items;
      } catch (error) {
        guard.failed = true;
        yield rejection(error);
      }
    },
  };
  return guard;
}

async function* streamBatches(path: string, options: ReadOptions): AsyncGenerator<Iterable<InputItem>> {
  let gz: boolean;
  try {
    gz = await isGzip(path);
  } catch (error) {
    yield [{ source: path, rejected: `cannot read: ${(error as Error).message}` }];
    return;
  }
  const raw = createReadStream(path, { highWaterMark: 256 * 1024 });
  // 1 MiB of output per chunk: at Node's default 16 KiB the reader waits on zlib's thread pool for every chunk and
  // runs at about half the speed of a synchronous gunzip.
  const stream = gz ? raw.pipe(createGunzip({ chunkSize: GUNZIP_CHUNK })) : raw;
  if (gz) raw.on('error', (error) => stream.destroy(error));
  let reported = 0;
  const splitter = new RecordSplitter(path, options);
  const guard = guarded(path, gz);
  // A read error (a truncated gzip) ends the loop; the line still held is given before the error is reported.
  let readError: unknown = null;
  const chunks = async function* (): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of stream) {
        if (options.onBytes && raw.bytesRead > reported) {
          options.onBytes(raw.bytesRead - reported);
          reported = raw.bytesRead;
        }
        yield chunk as Buffer;
      }
    } catch (error) {
      readError = error;
    }
  };
  try {
    for await (const chunk of chunks()) {
      yield guard.batch(splitter.push(chunk));
      if (guard.failed) return;
    }
    if (readError) {
      yield guard.batch(splitter.held());
      if (!guard.failed) yield [guard.rejection(readError)];
      return;
    }
    yield guard.batch(splitter.end());
  } catch (error) {
    yield [guard.rejection(error)];
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
