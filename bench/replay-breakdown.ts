import { createReadStream } from 'node:fs';
import { availableParallelism } from 'node:os';
import { createGunzip } from 'node:zlib';
import { classifyRecord } from '../lib/cloudtrail/classify.js';
import { DEFAULT_READ_OPTIONS, readInputFile } from '../lib/cloudtrail/read-inputs.js';
import { collectRecords } from '../lib/replay/collect.js';
import { emptyReport } from '../lib/replay/report.js';
import { runReplay } from '../lib/replay/run-replay.js';
import { parseFloor } from './replay.js';
import { round2, say, timed } from './stats.js';
import { type BenchStore, benchDocumentClient, replayDeps } from './store.js';
import { stubDocumentClient, timeCalls } from './stub-dynamo.js';

/** One stage of the replay, paired with floor runs around it on the same files. */
export interface Stage {
  stage: string;
  recordsPerSecond: number;
  ratioToParseFloor: number;
}

// Streaming gunzip into one buffer, then one parse: how lib/cloudtrail/read-inputs.ts decompresses, with a chunk size.
async function streamedParse(files: string[], chunkSize?: number): Promise<number> {
  let records = 0;
  for (const file of files) {
    const parts: Buffer[] = [];
    for await (const chunk of createReadStream(file, { highWaterMark: 256 * 1024 }).pipe(
      createGunzip(chunkSize ? { chunkSize } : {}),
    ))
      parts.push(chunk as Buffer);
    records += (JSON.parse(Buffer.concat(parts).toString('utf8')) as { Records: unknown[] }).Records.length;
  }
  return records;
}

async function readAll(files: string[], classify: boolean): Promise<number> {
  let records = 0;
  for (const file of files) {
    for await (const item of readInputFile(file)) {
      if (classify && 'record' in item)
        classifyRecord(item.record, { recordAwsServiceAssumes: false }, item.envelopeId);
      records++;
    }
  }
  return records;
}

// The replay's whole reading pass: read, classify and keep the records to decide, in worker threads (or one).
async function readingPass(files: string[], workers: number): Promise<number> {
  const report = emptyReport();
  await collectRecords(
    files.map((path) => ({ path, bytes: 0 })),
    report,
    [],
    { read: DEFAULT_READ_OPTIONS, recordAwsServiceAssumes: false, workers },
  );
  return report.summary.eventsRead;
}

/**
 * Where a replay's time goes: the same files through each stage of the replay in turn, from the parse floor to the
 * whole replay on DynamoDB Local. Each stage is timed twice between two floor runs, and reported as a ratio to them.
 */
export async function measureReplayBreakdown(
  store: BenchStore,
  files: string[],
): Promise<{
  records: number;
  stages: Stage[];
  dynamodbCalls: Record<string, { calls: number; totalMs: number; meanMs: number }>;
}> {
  const timedClient = benchDocumentClient(store.local.endpoint);
  const times = timeCalls(timedClient);
  const noRoles = { ...store.registry, roles: [] };
  const stages: [string, () => Promise<number>][] = [
    ['gunzip stream (Node default 16 KiB chunks) + JSON.parse', () => streamedParse(files)],
    ['gunzip stream (1 MiB chunks) + JSON.parse', () => streamedParse(files, 1 << 20)],
    ['roleguard reader (readInputFile)', () => readAll(files, false)],
    ['reader + classifyRecord', () => readAll(files, true)],
    ['reading pass in one thread (collectRecords, --workers 1)', () => readingPass(files, 1)],
    [
      `reading pass in worker threads (collectRecords, --workers ${availableParallelism()})`,
      () => readingPass(files, availableParallelism()),
    ],
    [
      'runReplay, zero-latency store (in-process stub)',
      async () =>
        (await runReplay(replayDeps(stubDocumentClient(), store.registry, await store.freshTables()), { paths: files }))
          .summary.eventsRead,
    ],
    [
      'runReplay, DynamoDB Local, no registered role',
      async () =>
        (await runReplay(replayDeps(store.dynamo, noRoles, await store.freshTables()), { paths: files })).summary
          .eventsRead,
    ],
    [
      'runReplay, DynamoDB Local, events/registry.yaml',
      async () =>
        (await runReplay(replayDeps(timedClient, store.registry, await store.freshTables()), { paths: files })).summary
          .eventsRead,
    ],
  ];
  const out: Stage[] = [];
  let records = 0;
  try {
    for (const [stage, run] of stages) {
      // Floor, stage, stage, floor: a drift of the machine's speed during the four runs cancels out.
      let floorSeconds = 0;
      let stageSeconds = 0;
      for (const order of [
        ['floor', 'stage'],
        ['stage', 'floor'],
      ]) {
        for (const what of order) {
          if (what === 'floor') {
            const floor = await timed(async () => parseFloor(files));
            floorSeconds += floor.seconds;
            records = floor.result;
          } else {
            const measured = await timed(run);
            if (records && measured.result !== records)
              throw new Error(`${stage}: ${measured.result} records of ${records}`);
            stageSeconds += measured.seconds;
          }
        }
      }
      out.push({
        stage,
        recordsPerSecond: Math.round((2 * records) / stageSeconds),
        ratioToParseFloor: round2(floorSeconds / stageSeconds),
      });
      say(`replay breakdown: ${stage}: ${out.at(-1)!.ratioToParseFloor} of the floor`);
    }
  } finally {
    timedClient.destroy();
  }
  const dynamodbCalls = Object.fromEntries(
    Object.entries(times.byCommand).map(([k, v]) => [
      k,
      { calls: v.calls, totalMs: Math.round(v.totalMs), meanMs: round2(v.totalMs / v.calls) },
    ]),
  );
  return { records, stages: out, dynamodbCalls };
}
