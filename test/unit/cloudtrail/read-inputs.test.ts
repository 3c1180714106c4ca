import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type InputItem, readInputFile, readInputs } from '../../../lib/cloudtrail/index.js';
import { assumeRecord, EVENTS_DIR, SAMPLES_DIR, sampleFiles } from '../../helpers/fixtures.js';

let dir: string;
const record = assumeRecord();
const other = assumeRecord({ eventID: 'second-event' });
const eventBridge = JSON.parse(readFileSync(join(EVENTS_DIR, 'eventbridge-assume-role-vendor.json'), 'utf8'));

function write(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

async function read(...paths: string[]): Promise<InputItem[]> {
  const out: InputItem[] = [];
  for await (const item of readInputs(paths)) out.push(item);
  return out;
}

const ids = (items: InputItem[]) =>
  items.map((i) => ('record' in i ? (i.record as { eventID: string }).eventID : `rejected: ${i.rejected}`));
const sources = (items: InputItem[]) => items.map((i) => i.source.slice(dir.length + 1));

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'roleguard-inputs-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readInputs: every input form, plain and gzip', () => {
  const forms: [string, () => string][] = [
    ['a bare record, pretty-printed', () => JSON.stringify(record, null, 2)],
    ['an EventBridge event', () => JSON.stringify(eventBridge, null, 2)],
    ['a CloudTrail log file on one line', () => JSON.stringify({ Records: [record, other] })],
    ['a CloudTrail log file, pretty-printed', () => JSON.stringify({ Records: [record, other] }, null, 2)],
    ['an array of records', () => JSON.stringify([record, other], null, 1)],
    ['JSON lines', () => `${JSON.stringify(record)}\n\n${JSON.stringify(other)}\n`],
    ['JSON lines with CRLF and no final newline', () => `${JSON.stringify(record)}\r\n${JSON.stringify(other)}`],
    [
      'JSON lines of EventBridge events',
      () => `${JSON.stringify(eventBridge)}\n${JSON.stringify({ ...eventBridge, id: 'x', detail: other })}\n`,
    ],
  ];

  it.each(forms)('%s', async (name, content) => {
    const expected =
      name.includes('bare') || name === 'an EventBridge event' ? [record.eventID] : [record.eventID, other.eventID];
    const plain = write(`${name}.json`, content());
    const gz = write(`${name}.json.gz`, gzipSync(content()));
    const noExtension = write(`${name}.gz-without-extension`, gzipSync(content()));
    for (const path of [plain, gz, noExtension]) expect(ids(await read(path))).toEqual(expected);
  });

  it('carries the EventBridge id and names each record by file and index', async () => {
    const path = write(
      'indexed.jsonl',
      `${JSON.stringify(eventBridge)}\n${JSON.stringify({ Records: [record, other] })}\n`,
    );
    const items = await read(path);
    expect(sources(items)).toEqual(['indexed.jsonl:0', 'indexed.jsonl:1:0', 'indexed.jsonl:1:1']);
    expect(items[0]).toMatchObject({ envelopeId: 'd2a1c3e4-0b5f-4a6e-9d7c-8b1a2f3e4d51' });
  });

  it('walks directories recursively, in order, reading only JSON, JSON lines and gzip files', async () => {
    const tree = join(dir, 'tree');
    mkdirSync(join(tree, 'b'), { recursive: true });
    writeFileSync(join(tree, 'b', 'two.json'), JSON.stringify(other));
    writeFileSync(join(tree, 'a.jsonl.gz'), gzipSync(JSON.stringify(record)));
    writeFileSync(join(tree, 'README.md'), '# not an event');
    expect(ids(await read(tree))).toEqual([record.eventID, other.eventID]);
  });

  it('streams a CloudTrail log file line larger than the record limit (S3 writes them on one line)', async () => {
    const many = Array.from({ length: 800 }, (_, i) => ({ ...record, eventID: `e${i}`, userAgent: 'x'.repeat(1500) }));
    const path = write('big-log.json', JSON.stringify({ Records: many }));
    expect(readFileSync(path).length).toBeGreaterThan(1024 * 1024);
    const items = await read(path);
    expect(items).toHaveLength(800);
    expect(items.every((i) => 'record' in i)).toBe(true);
  });
});

describe('readInputs: bad input is rejected with a reason naming the source, and the batch goes on', () => {
  it.each([
    ['not-json.json', 'this is not JSON', /not JSON or JSON lines/],
    ['truncated.json', JSON.stringify({ Records: [record, other] }, null, 2).slice(0, 500), /not JSON or JSON lines/],
    ['empty.json', '', /empty file/],
    ['scalar.json', '42', /expected a CloudTrail record, EventBridge event or \{"Records": \[\.\.\.\]\}, got number/],
    ['records-not-array.json', '{"Records": {"a": 1}}', /Records is not an array/],
    [
      'wrong-detail-type.json',
      JSON.stringify({ ...eventBridge, 'detail-type': 'EC2 Instance State-change Notification' }),
      /detail-type "EC2 Instance State-change Notification" is not/,
    ],
    ['bad-envelope.json', JSON.stringify({ ...eventBridge, time: 'yesterday' }), /invalid EventBridge event: time/],
    ['latin1.json', Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xe9, 0x22, 0x7d]), /not valid UTF-8/],
  ])('%s', async (name, content, reason) => {
    const bad = write(name, content);
    const good = write(`after-${name}`, JSON.stringify(record));
    const items = await read(bad, good);
    expect(items).toHaveLength(2);
    expect(items[0]).toMatchObject({ source: bad });
    expect((items[0] as { rejected: string }).rejected).toMatch(reason);
    expect(ids(items.slice(1))).toEqual([record.eventID]);
  });

  it('rejects a truncated gzip file', async () => {
    const full = gzipSync(JSON.stringify({ Records: [record, other] }, null, 2));
    const bad = write('truncated.json.gz', full.subarray(0, full.length - 20));
    const items = await read(bad);
    expect(items).toEqual([
      { source: bad, rejected: expect.stringMatching(/corrupt or truncated gzip: unexpected end of file/) },
    ]);
  });

  it('rejects bad lines of a JSON-lines file and keeps the good ones', async () => {
    const path = write(
      'mixed.jsonl',
      [JSON.stringify(record), '{"eventName": "AssumeRole", ', JSON.stringify(other), 'null'].join('\n'),
    );
    const items = await read(path);
    expect(sources(items)).toEqual(['mixed.jsonl:0', 'mixed.jsonl:1', 'mixed.jsonl:2', 'mixed.jsonl:3']);
    expect(ids(items)).toEqual([
      record.eventID,
      expect.stringMatching(/rejected: not JSON/),
      other.eventID,
      expect.stringMatching(/rejected: expected a CloudTrail record.*got null/),
    ]);
  });

  it('rejects a single record over 1 MB, alone or as a JSON line', async () => {
    const huge = { ...record, userAgent: 'x'.repeat(1024 * 1024) };
    const alone = write('huge.json', JSON.stringify(huge));
    const lines = write('huge.jsonl', `${JSON.stringify(record)}\n${JSON.stringify(huge)}\n${JSON.stringify(other)}\n`);
    expect((await read(alone))[0]).toMatchObject({
      rejected: expect.stringMatching(/over the 1048576-byte record limit/),
    });
    const items = await read(lines);
    expect(ids(items)).toEqual([
      record.eventID,
      expect.stringMatching(/over the 1048576-byte record limit/),
      other.eventID,
    ]);
  });

  it('reports a path that does not exist', async () => {
    expect(await read(join(dir, 'nope.json'))).toEqual([
      { source: join(dir, 'nope.json'), rejected: 'no such file or directory' },
    ]);
  });

  it('rejects nesting deeper than any real input', async () => {
    const path = write('deep.json', JSON.stringify([[[[[[record]]]]]]));
    expect((await read(path))[0]).toMatchObject({ rejected: expect.stringMatching(/nested more than 4 levels/) });
  });
});

describe('readInputs: a CloudTrail bucket layout', () => {
  it('skips digest files, lists in code-unit order whatever the locale, and names an unreadable directory', async () => {
    const root = join(dir, 'AWSLogs');
    mkdirSync(join(root, 'CloudTrail-Digest'), { recursive: true });
    mkdirSync(join(root, 'CloudTrail'), { recursive: true });
    writeFileSync(
      join(
        root,
        'CloudTrail-Digest',
        '111122223333_CloudTrail-Digest_us-east-1_trail_us-east-1_20261102T0920Z.json.gz',
      ),
      gzipSync('{"awsAccountId":"111122223333","digestStartTime":"x"}'),
    );
    writeFileSync(
      join(root, 'CloudTrail', 'b.json'),
      JSON.stringify({ Records: [assumeRecord({ eventID: 'lower-b' })] }),
    );
    writeFileSync(
      join(root, 'CloudTrail', 'B.json'),
      JSON.stringify({ Records: [assumeRecord({ eventID: 'upper-B' })] }),
    );
    const locked = join(root, 'locked');
    mkdirSync(locked, { mode: 0o000 });
    const items = await read(root);
    // 'B' (0x42) sorts before 'b' (0x62) by code unit; a locale-aware sort would put b first.
    const records = items.filter((i) => 'record' in i);
    expect(ids(records)).toEqual(['upper-B', 'lower-b']);
    if (process.getuid?.() !== 0) expect(items.filter((i) => 'rejected' in i).map((i) => i.source)).toEqual([locked]);
    expect(items.some((i) => i.source.includes('Digest'))).toBe(false);
  });
});

describe('readInputs: JSON lines with a broken first line', () => {
  it('rejects that line and keeps every other one', async () => {
    const path = write(
      'broken-first.jsonl',
      `{"eventID": "cut-off", "eventTi\n${JSON.stringify(record)}\n${JSON.stringify(other)}\n`,
    );
    const items = await read(path);
    expect(ids(items)).toEqual([expect.stringMatching(/^rejected: not JSON/), record.eventID, 'second-event']);
    expect(sources(items)).toEqual(['broken-first.jsonl:0', 'broken-first.jsonl:1', 'broken-first.jsonl:2']);
  });

  it('still reads a pretty-printed document whole, and rejects a broken one once', async () => {
    expect(ids(await read(write('pretty.json', JSON.stringify({ Records: [record, other] }, null, 2))))).toEqual([
      record.eventID,
      'second-event',
    ]);
    const broken = await read(
      write('pretty-broken.json', JSON.stringify({ Records: [record, other] }, null, 2).slice(0, -3)),
    );
    expect(broken).toHaveLength(1);
    expect(sources(broken)).toEqual(['pretty-broken.json']);
  });
});

describe('readInputs: a truncated gzip of JSON lines', () => {
  it('keeps the complete first line and names the corruption', async () => {
    // A long second line of incompressible text, cut off: the first line was read long before the error.
    const gz = gzipSync(
      `${JSON.stringify(record)}\n${JSON.stringify({ ...other, padding: randomBytes(600_000).toString('base64') })}\n`,
    );
    const path = write('truncated-lines.jsonl.gz', gz.subarray(0, Math.floor(gz.length * 0.8)));
    const items = await read(path);
    expect(ids(items)[0]).toBe(record.eventID);
    expect(items.at(-1)).toMatchObject({ rejected: expect.stringMatching(/^corrupt or truncated gzip/) });
  });
});

// `aws cloudtrail lookup-events --output json`: the AWS CLI prints one document (pages merged) with each record as a
// JSON string in CloudTrailEvent. Built here from the published samples, with the fields the API returns beside it.
async function sampleRecords(): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (const name of sampleFiles())
    for await (const item of readInputFile(join(SAMPLES_DIR, name)))
      if ('record' in item) out.push(item.record as Record<string, unknown>);
  return out;
}

function lookupEventsPage(records: Record<string, unknown>[], nextToken?: string): Record<string, unknown> {
  return {
    Events: records.map((r) => ({
      EventId: r.eventID,
      EventName: r.eventName,
      ReadOnly: 'false',
      EventTime: r.eventTime,
      EventSource: r.eventSource,
      Username: 'JohnDoe',
      Resources: [],
      CloudTrailEvent: JSON.stringify(r),
    })),
    ...(nextToken ? { NextToken: nextToken } : {}),
  };
}

describe('readInputs: the output of aws cloudtrail lookup-events', () => {
  it('reads every record of the published samples from it, plain, gzip, and as an array of pages', async () => {
    const records = await sampleRecords();
    expect(records.length).toBeGreaterThan(20);
    const doc = JSON.stringify(lookupEventsPage(records, 'eyJuZXh0VG9rZW4iOiBudWxsfQ=='), null, 4);
    const plain = write('lookup-events.json', doc);
    const gz = write('lookup-events.json.gz', gzipSync(doc));
    const pages = write(
      'lookup-events-pages.json',
      JSON.stringify([lookupEventsPage(records.slice(0, 10), 'abc'), lookupEventsPage(records.slice(10))]),
    );
    for (const path of [plain, gz, pages]) {
      const items = await read(path);
      expect(items.map((i) => ('record' in i ? i.record : i))).toEqual(records);
    }
    expect(sources(await read(plain)).slice(0, 2)).toEqual(['lookup-events.json:0', 'lookup-events.json:1']);
  });

  it('rejects an entry whose CloudTrailEvent is missing or not JSON, naming it, and keeps the others', async () => {
    const page = lookupEventsPage([record, other]);
    const events = page.Events as Record<string, unknown>[];
    const path = write(
      'lookup-events-bad.json',
      JSON.stringify({
        Events: [events[0], { EventId: 'x', CloudTrailEvent: '{"eventID": "cut' }, { EventId: 'y' }, events[1]],
      }),
    );
    const items = await read(path);
    expect(sources(items)).toEqual([
      'lookup-events-bad.json:0',
      'lookup-events-bad.json:1',
      'lookup-events-bad.json:2',
      'lookup-events-bad.json:3',
    ]);
    expect(ids(items)).toEqual([
      record.eventID,
      expect.stringMatching(/^rejected: CloudTrailEvent is not JSON/),
      'rejected: lookup-events entry has no CloudTrailEvent string',
      other.eventID,
    ]);
    expect(ids(await read(write('lookup-events-scalar.json', '{"Events": 3}')))).toEqual([
      expect.stringMatching(/^rejected: Events is not an array/),
    ]);
  });
});
