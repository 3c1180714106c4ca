import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { InputItem } from '../../../lib/cloudtrail/envelope.js';
import { DEFAULT_READ_OPTIONS, type ReadOptions, readInputFile } from '../../../lib/cloudtrail/read-inputs.js';
import { collectFile } from '../../../lib/replay/collect-file.js';
import { assumeRecord, EVENTS_DIR, ROOT } from '../../helpers/fixtures.js';
import { referenceCollectFile, referenceReadInputFile } from '../../helpers/reference-reader.js';

// The reader hands records over in batches, and reads a small file whole: every file, under every limit, must give
// exactly the items (sources, reasons, order) and the per-file result of the reader that streamed every file.
let dir: string;
const record = (i: number, extra: Record<string, unknown> = {}) => assumeRecord({ eventID: `e${i}`, ...extra });
const line = (i: number, extra: Record<string, unknown> = {}) => JSON.stringify(record(i, extra));
const three = { Records: [record(0), record(1), record(2)] };
const pretty = JSON.stringify(three, null, 2);

// Under these the same file is read whole or streamed (document limit below its size), and lines over the record or
// document limit are rejected.
const LIMITS: [string, Omit<ReadOptions, 'onBytes'>][] = [
  ['the default limits', DEFAULT_READ_OPTIONS],
  ['a 1 kB record limit', { maxRecordBytes: 1000, maxDocumentBytes: DEFAULT_READ_OPTIONS.maxDocumentBytes }],
  ['a 5 kB document limit', { maxRecordBytes: 1024 * 1024, maxDocumentBytes: 5000 }],
  ['a 1 kB document limit', { maxRecordBytes: 1024 * 1024, maxDocumentBytes: 1000 }],
  ['a 100 kB document limit', { maxRecordBytes: 1024 * 1024, maxDocumentBytes: 100_000 }],
];

const TEXTS: Record<string, string | Buffer> = {
  'records-one-line.json': JSON.stringify(three),
  'records-one-line-newline.json': `${JSON.stringify(three)}\n`,
  'records-blank-lines-first.json': `\n \r\n${JSON.stringify(three)}\n\n`,
  'pretty.json': pretty,
  'pretty-broken.json': pretty.slice(0, -3),
  'empty.json': '',
  'blank.json': ' \n\r\n\t\n',
  'bare-record.json': JSON.stringify(record(0), null, 2),
  'lines.jsonl': [line(0), '', line(1), '{"eventName": "AssumeRole", ', 'null', `${line(2)}\r`, line(3)].join('\n'),
  'lines-final-newline.jsonl': `${line(0)}\n${line(1)}\n`,
  'lines-bad-first.jsonl': `{"eventID": "cut-off", "eventTi\n${line(0)}\n${line(1)}\n`,
  'lines-long.jsonl': [
    line(0),
    line(1, { userAgent: 'x'.repeat(6000) }),
    line(2),
    line(3, { a: 'y'.repeat(1200) }),
  ].join('\n'),
  'lines-long-first.jsonl': [line(0, { userAgent: 'x'.repeat(6000) }), line(1)].join('\n'),
  'lines-long-last.jsonl': [line(0), line(1, { userAgent: 'x'.repeat(6000) })].join('\n'),
  'one-line-long.jsonl': line(0, { userAgent: 'x'.repeat(6000) }),
  'not-utf8.jsonl': Buffer.concat([
    Buffer.from(`${line(0)}\n{"a":"`),
    Buffer.from([0xff]),
    Buffer.from(`"}\n${line(1)}`),
  ]),
  'not-utf8-first.jsonl': Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xe9]), Buffer.from(`"}\n${line(1)}`)]),
  'not-utf8.json': Buffer.concat([
    Buffer.from(pretty.slice(0, 40)),
    Buffer.from([0xe9]),
    Buffer.from(pretty.slice(40)),
  ]),
  'bom.json': `\ufeff${JSON.stringify(three)}`,
  'bom-lines.jsonl': `\ufeff${line(0)}\n${line(1)}`,
  // Whitespace JSON does not allow around a first line that is otherwise JSON, and whitespace it does.
  'nbsp-first.jsonl': `\u00a0${line(0)}\n${line(1)}`,
  'line-separator-last.jsonl': `${line(0)}\u2028\n${line(1)}`,
  'records-one-line-crlf.json': ` ${JSON.stringify(three)}\t\r\n`,
  'non-ascii.jsonl': `${line(0, { userAgent: 'café ☕ 𝄞' })}\n${line(1, { userAgent: 'naïve' })}`,
  'lookup-events.json': JSON.stringify({ Events: [{ CloudTrailEvent: line(0) }, { CloudTrailEvent: '{"x' }, {}] }),
  'eventbridge.jsonl': readdirSync(EVENTS_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.stringify(JSON.parse(readFileSync(join(EVENTS_DIR, f), 'utf8'))))
    .join('\n'),
  // Ignored records counted by names an object already has, and in an order to keep.
  'odd-event-names.jsonl': ['toString', 'GetObject', 'constructor', '__proto__', 'toString', 'ListBuckets']
    .map((eventName, i) => line(i, { eventName, eventSource: 's3.amazonaws.com' }))
    .join('\n'),
  'scalar.json': '42',
  'deep.json': JSON.stringify([[[[[[record(0)]]]]]]),
  'text.txt': 'hello\nworld\n',
  'array-pretty.json': JSON.stringify([record(0), three], null, 1),
  // Lines across the 256 KiB chunks of a plain file, one of 150 kB (over the 100 kB limit) among them.
  'big-lines.jsonl': Array.from({ length: 400 }, (_, i) =>
    i === 170 ? line(i, { userAgent: 'z'.repeat(150_000) }) : line(i),
  ).join('\n'),
};

// Gzip files the stream and a whole read may see differently: cut off, followed by bytes that are not gzip, two
// members, an empty member, and files too short to be gzip.
function gzipOddities(): Record<string, Buffer> {
  // A second line that does not compress, so that a cut falls inside it or after it.
  const lines = gzipSync(`${line(0)}\n${line(1, { pad: randomBytes(3000).toString('base64') })}\n${line(2)}\n`);
  const doc = gzipSync(pretty);
  const cuts = Object.fromEntries(
    [0.2, 0.5, 0.8, 0.97].map((at) => [
      `truncated-lines-${at}.jsonl.gz`,
      lines.subarray(0, Math.floor(lines.length * at)),
    ]),
  );
  return {
    ...cuts,
    'truncated-doc.json.gz': doc.subarray(0, doc.length - 20),
    'truncated-header.json.gz': doc.subarray(0, 6),
    'trailing-garbage.json.gz': Buffer.concat([doc, Buffer.from('garbage')]),
    'trailing-zeros.json.gz': Buffer.concat([doc, Buffer.alloc(32)]),
    'two-members.jsonl.gz': Buffer.concat([gzipSync(`${line(0)}\n`), gzipSync(`${line(1)}\n`)]),
    'empty-member.json.gz': gzipSync(''),
    'magic-only.json.gz': Buffer.from([0x1f, 0x8b]),
    'one-byte.json': Buffer.from([0x1f]),
    'wrong-size-trailer.json.gz': Buffer.concat([doc.subarray(0, doc.length - 4), Buffer.from([1, 0, 0, 0])]),
  };
}

const files: string[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'roleguard-reference-'));
  for (const [name, text] of Object.entries(TEXTS)) {
    writeFileSync(join(dir, name), text);
    writeFileSync(join(dir, `${name}.gz`), gzipSync(text));
    files.push(join(dir, name), join(dir, `${name}.gz`));
  }
  for (const [name, bytes] of Object.entries(gzipOddities())) {
    writeFileSync(join(dir, name), bytes);
    files.push(join(dir, name));
  }
  mkdirSync(join(dir, 'a-directory.json'));
  files.push(join(dir, 'a-directory.json'), join(dir, 'missing.json'));
  const samples = join(ROOT, 'test', 'fixtures', 'cloudtrail-samples');
  for (const name of readdirSync(samples).sort()) files.push(join(samples, name));
  for (const name of readdirSync(EVENTS_DIR).sort()) files.push(join(EVENTS_DIR, name));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function items(
  read: (path: string, options: ReadOptions) => AsyncIterable<InputItem>,
  path: string,
  limits: Omit<ReadOptions, 'onBytes'>,
): Promise<{ items: InputItem[]; bytes: number }> {
  let bytes = 0;
  const out: InputItem[] = [];
  for await (const item of read(path, { ...limits, onBytes: (n) => (bytes += n) })) out.push(item);
  return { items: out, bytes };
}

describe('the batched reader gives what the streaming reader gave', () => {
  it.each(LIMITS)('every file, item for item, under %s', async (_, limits) => {
    expect(files.length).toBeGreaterThan(80);
    for (const path of files) {
      const expected = await items(referenceReadInputFile, path, limits);
      const actual = await items(readInputFile, path, limits);
      expect({ path, items: actual.items }).toStrictEqual({ path, items: expected.items });
      // Progress: a file read whole counts all its bytes, where the stream counted them up to its last output.
      expect(actual.bytes).toBeGreaterThanOrEqual(expected.bytes);
    }
  });

  it.each(LIMITS)("every file's collected result, under %s", async (_, limits) => {
    for (const path of files)
      for (const recordAwsServiceAssumes of [false, true]) {
        const expected = await referenceCollectFile(path, limits, recordAwsServiceAssumes);
        const actual = await collectFile(path, limits, recordAwsServiceAssumes);
        expect({ path, ...actual }).toStrictEqual({ path, ...expected });
        expect(Object.keys(actual.byEventName)).toEqual(Object.keys(expected.byEventName));
      }
  });
});
