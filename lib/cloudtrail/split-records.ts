import { isAscii } from 'node:buffer';
import { type InputItem, isLookupEventsPage, unwrapDocument } from './envelope.js';

/** The limits a file is split under (lib/cloudtrail/read-inputs.ts ReadOptions). */
export interface SplitLimits {
  maxRecordBytes: number;
  maxDocumentBytes: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Text under this size that is all ASCII is copied rather than decoded. A bigger latin1 string is made external by
 * Node (held outside V8's heap until a full collection), and a replay's memory then grows with the number of files.
 */
const COPY_ASCII_BELOW = 1_000_000;

// UTF-8 text, or a TypeError when it is not UTF-8. Short text all ASCII (a JSON line nearly always is) is copied as
// it is: the same string, at a fraction of the cost of decoding (and ASCII has no byte-order mark to drop).
function decodeUtf8(buffer: Buffer): string {
  return buffer.length < COPY_ASCII_BELOW && isAscii(buffer) ? buffer.toString('latin1') : utf8.decode(buffer);
}

// What one chunk yields, worked out as the chunk arrives and parsed only when its items are iterated: a line to
// parse (its bytes and source), or an item as it is.
type Job = InputItem | [text: Buffer, source: string, parsed?: Parsed];

// A value already parsed from a text, so as not to parse it twice.
type Parsed = { value: unknown };

/**
 * Splits one file's bytes, chunk by chunk, into records (and rejections). JSON lines are split line by line; anything
 * else is one JSON document, parsed whole. A line may itself be a whole CloudTrail log file (S3 writes them on one
 * line), so lines are capped at the document size, and only a line holding a single record is held to the record
 * limit.
 *
 * Each call hands back the items of what it was given, synchronously: a reader iterates them with a plain loop. The
 * items of one call must be iterated before the next call. Which items come out does not depend on how the file is
 * cut into chunks as long as the whole file is within `maxDocumentBytes` (no limit can be reached then), so a file
 * read whole may be given as one chunk.
 */
export class RecordSplitter {
  private mode: 'undecided' | 'lines' | 'document' = 'undecided';
  private parts: Buffer[] = [];
  private length = 0;
  private lineIndex = 0;
  private skipping = false; // inside a line already rejected as too long
  private firstLine: Buffer | null = null;
  private firstValue: Parsed | undefined; // the first line's value, when parsing it as it is gives that value

  constructor(
    private readonly path: string,
    private readonly limits: SplitLimits,
  ) {}

  private tooBig(): string {
    return `over ${this.limits.maxDocumentBytes} bytes; split it or use JSON lines`;
  }

  /** The items of the next chunk. Throws when a JSON document (or the first line) outgrows the document limit. */
  push(chunk: Buffer): Iterable<InputItem> {
    const { path } = this;
    const jobs: Job[] = [];
    // Only the two throws below end a file early, and neither can follow a job of the same chunk: jobs come only in
    // 'lines' mode, never followed by 'undecided' or 'document'.
    if (this.mode === 'document') {
      this.length += chunk.length;
      if (this.length > this.limits.maxDocumentBytes) throw new Error(`a JSON document ${this.tooBig()}`);
      this.parts.push(chunk);
      return jobs as InputItem[];
    }
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, nl);
      start = nl + 1;
      if (this.skipping) {
        this.skipping = false;
        continue;
      }
      const line = this.length ? Buffer.concat([...this.parts, piece]) : piece;
      this.parts = [];
      this.length = 0;
      if (this.mode === 'undecided') {
        if (isBlank(line, false)) {
          this.lineIndex++;
          continue;
        }
        const first = jsonLine(line);
        if (!first) {
          // Pretty-printed JSON: keep everything and parse it whole at the end.
          this.mode = 'document';
          this.parts = [Buffer.from(line), Buffer.from('\n'), Buffer.from(chunk.subarray(start))];
          this.length = this.parts.reduce((n, b) => n + b.length, 0);
          break;
        }
        // Hold the first line: a file of one line is named by the file alone, like its pretty-printed form.
        this.mode = 'lines';
        this.firstLine = Buffer.from(line);
        this.firstValue = first.exact ? { value: first.value } : undefined;
        this.lineIndex++;
        continue;
      }
      if (this.firstLine) {
        jobs.push([this.firstLine, `${path}:0`, this.firstValue]);
        this.firstLine = null;
        this.firstValue = undefined;
      }
      jobs.push([line, `${path}:${this.lineIndex++}`]);
    }
    if (this.mode === 'document' || this.skipping) return this.run(jobs);
    const rest = chunk.subarray(start);
    if (rest.length === 0) return this.run(jobs);
    if (this.length + rest.length > this.limits.maxDocumentBytes) {
      if (this.mode === 'undecided') throw new Error(`a JSON document ${this.tooBig()}`);
      if (this.firstLine) {
        jobs.push([this.firstLine, `${path}:0`, this.firstValue]);
        this.firstLine = null;
        this.firstValue = undefined;
      }
      jobs.push({ source: `${path}:${this.lineIndex++}`, rejected: `line ${this.tooBig()}` });
      this.parts = [];
      this.length = 0;
      this.skipping = true;
      return this.run(jobs);
    }
    // A copy, so that a short tail does not hold its whole chunk; a chunk that is all tail is kept as it is.
    this.parts.push(start === 0 ? chunk : Buffer.from(rest));
    this.length += rest.length;
    return this.run(jobs);
  }

  /** After a read error: the first line still held, if any (the error itself is the reader's to report). */
  *held(): Generator<InputItem> {
    if (this.firstLine) yield* parseText(this.firstLine, `${this.path}:0`, this.limits.maxRecordBytes, this.firstValue);
  }

  /** The items left once the whole file is read. */
  *end(): Generator<InputItem> {
    const { path, mode, firstLine, firstValue, parts } = this;
    const max = this.limits.maxRecordBytes;
    const tail = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    if (firstLine) yield* parseText(firstLine, isBlank(tail, true) ? path : `${path}:0`, max, firstValue);
    if (mode === 'document') yield* parseDocumentOrLines(tail, path, max);
    else if (mode === 'lines' && !this.skipping && tail.length > 0)
      yield* parseText(tail, `${path}:${this.lineIndex}`, max);
    else if (mode === 'undecided' && tail.length > 0) yield* parseText(tail, path, max);
    else if (mode === 'undecided') yield { source: path, rejected: 'empty file' };
  }

  private *run(jobs: Job[]): Generator<InputItem> {
    const max = this.limits.maxRecordBytes;
    for (const job of jobs) {
      if (Array.isArray(job)) yield* parseText(job[0], job[1], max, job[2]);
      else yield job;
    }
  }
}

// Spaces, tabs and carriage returns (and newlines, when asked) only.
function isBlank(buffer: Buffer, newlines: boolean): boolean {
  for (let i = 0; i < buffer.length; i++) {
    const byte = buffer[i];
    if (byte !== 32 && byte !== 9 && byte !== 13 && (!newlines || byte !== 10)) return false;
  }
  return true;
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
  return jsonLine(line) !== null;
}

// The value of a line holding one JSON value (surrounded by any whitespace), or null. `exact` when parsing the line
// as it is gives that value too: only JSON's own whitespace was trimmed (not a byte-order mark, say).
function jsonLine(line: Buffer): { value: unknown; exact: boolean } | null {
  try {
    const decoded = decodeUtf8(line);
    const text = decoded.trim();
    if (text === '') return null;
    const value: unknown = JSON.parse(text);
    const start = decoded.length - decoded.trimStart().length;
    const exact = JSON_SPACE.test(decoded.slice(0, start)) && JSON_SPACE.test(decoded.slice(start + text.length));
    return { value, exact };
  } catch {
    return null;
  }
}
const JSON_SPACE = /^[ \t\n\r]*$/;

/**
 * The items of one JSON text (a document or a line): its records, or why it cannot be used. `parsed` is its value
 * when it was parsed already (only from a text that parses as it is).
 */
export function* parseText(
  buffer: Buffer,
  source: string,
  maxRecordBytes: number,
  parsed?: Parsed,
): Generator<InputItem> {
  let value: unknown;
  if (parsed) value = parsed.value;
  else {
    let text: string;
    try {
      text = decodeUtf8(buffer);
    } catch {
      yield { source, rejected: 'not valid UTF-8' };
      return;
    }
    if (text.trim() === '') return;
    try {
      value = JSON.parse(text);
    } catch (error) {
      yield { source, rejected: `not JSON or JSON lines: ${(error as Error).message}` };
      return;
    }
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
