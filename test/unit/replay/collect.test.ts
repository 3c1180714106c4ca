import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DEFAULT_READ_OPTIONS } from '../../../lib/cloudtrail/read-inputs.js';
import { collectRecords, type SeqRejection } from '../../../lib/replay/collect.js';
import { collectFile } from '../../../lib/replay/collect-file.js';
import { emptyReport } from '../../../lib/replay/report.js';

// The reading pass keeps no file's result until the end: counts go into the report, and rejections into the list,
// as each file is read (in file order), so memory does not grow with the number of files.
let dir: string;
const noise = (i: number) =>
  JSON.stringify({
    eventVersion: '1.08',
    eventID: `noise-${i}`,
    eventTime: '2026-10-01T00:00:00Z',
    eventSource: 'kms.amazonaws.com',
    eventName: 'Decrypt',
    awsRegion: 'eu-west-1',
    recipientAccountId: '111122223333',
  });

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'roleguard-collect-'));
  // File n: n ignored records, then a line that is not a record.
  for (const n of [1, 2, 3])
    writeFileSync(join(dir, `f${n}.jsonl`), `${[...Array(n).keys()].map(noise).join('\n')}\n42\n`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('collectRecords', () => {
  it('adds each file into the report and the rejections as soon as it is read', async () => {
    const report = emptyReport();
    const rejected: SeqRejection[] = [];
    const seen: [number, number, number][] = [];
    await collectRecords(
      [1, 2, 3].map((n) => ({ path: join(dir, `f${n}.jsonl`), bytes: 1 })),
      report,
      rejected,
      {
        read: DEFAULT_READ_OPTIONS,
        recordAwsServiceAssumes: false,
        workers: 1,
        onFile: () => seen.push([report.summary.eventsRead, report.summary.ignored, rejected.length]),
      },
    );
    expect(seen).toEqual([
      [1, 1, 1],
      [3, 3, 2],
      [6, 6, 3],
    ]);
    expect(rejected.map((r) => r.seq)).toEqual([1, 4, 8]);
  });
});

// A file read whole is one batch, iterated with no asynchronous step: reading in this thread (--workers 1, or one
// file) must still let a timer or a signal handler (Ctrl-C) run, between files and within a long file, and stop at
// the abort.
describe('an abort while files are read in this thread', () => {
  const lines = (count: number) => `${[...Array(count).keys()].map(noise).join('\n')}\n`;

  it('stops between small files', async () => {
    const files = [...Array(20).keys()].map((i) => {
      const path = join(dir, `small-${i}.jsonl.gz`);
      writeFileSync(path, gzipSync(lines(2000)));
      return { path, bytes: 1 };
    });
    const abort = new AbortController();
    let read = 0;
    await collectRecords(files, emptyReport(), [], {
      read: DEFAULT_READ_OPTIONS,
      recordAwsServiceAssumes: false,
      workers: 1,
      signal: abort.signal,
      // Aborted from the first file's end: only an event-loop turn before the next file lets it take effect.
      onFile: () => {
        if (read++ === 0) setImmediate(() => abort.abort());
      },
    });
    expect(read).toBeGreaterThan(0);
    expect(read).toBeLessThan(files.length);
  });

  it('stops within a long file read whole', async () => {
    const count = 400_000;
    const path = join(dir, 'long.jsonl.gz');
    writeFileSync(path, gzipSync(lines(count)));
    const abort = new AbortController();
    let asked = false;
    // Aborted from within the loop, once the file is read: only the loop's own turns let the abort run before its end.
    const result = await collectFile(path, DEFAULT_READ_OPTIONS, false, {
      signal: abort.signal,
      onProgress: () => {
        if (asked) return;
        asked = true;
        setImmediate(() => abort.abort());
      },
    });
    expect(result.items).toBeGreaterThan(0);
    expect(result.items).toBeLessThan(count);
  });
});
