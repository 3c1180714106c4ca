import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { runReplay } from '../lib/replay/run-replay.js';
import type { Corpus } from './corpus.js';
import { median, round2, say, timed } from './stats.js';
import { type BenchStore, replayDeps } from './store.js';

/** The replay figure of contract §3, with the rounds it is the median of. */
export interface ReplayFigure {
  records: number;
  recordsPerSecond: number;
  parseFloorPerSecond: number;
  ratioToParseFloor: number;
  rounds: { recordsPerSecond: number; parseFloorPerSecond: number }[];
}

/** The floor: the same files only gunzipped and parsed, as fast as Node does it (one synchronous call each). */
export function parseFloor(files: string[]): number {
  let records = 0;
  for (const file of files)
    records += (JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')) as { Records: unknown[] }).Records.length;
  return records;
}

/**
 * `runReplay` over the corpus, as `roleguard replay --registry events/registry.yaml` runs it (fresh tables each round,
 * the CLI's default concurrency of 16), against the floor, in alternating order round by round.
 */
export async function measureReplay(store: BenchStore, corpus: Corpus, rounds: number): Promise<ReplayFigure> {
  const samples: ReplayFigure['rounds'] = [];
  for (let round = 0; round < rounds; round++) {
    const tables = await store.freshTables();
    const floor = async () => corpus.records / (await timed(async () => parseFloor(corpus.files))).seconds;
    const replay = async () => {
      const { seconds, result } = await timed(() =>
        runReplay(replayDeps(store.dynamo, store.registry, tables), { paths: [corpus.dir] }),
      );
      if (result.summary.eventsRead !== corpus.records)
        throw new Error(`replay read ${result.summary.eventsRead} records of ${corpus.records}`);
      return corpus.records / seconds;
    };
    let floorRate: number;
    let replayRate: number;
    if (round % 2 === 0) {
      floorRate = await floor();
      replayRate = await replay();
    } else {
      replayRate = await replay();
      floorRate = await floor();
    }
    samples.push({ recordsPerSecond: Math.round(replayRate), parseFloorPerSecond: Math.round(floorRate) });
    say(
      `replay round ${round + 1}/${rounds}: ${samples.at(-1)!.recordsPerSecond} records/s, floor ${samples.at(-1)!.parseFloorPerSecond}`,
    );
  }
  const recordsPerSecond = median(samples.map((s) => s.recordsPerSecond));
  const parseFloorPerSecond = median(samples.map((s) => s.parseFloorPerSecond));
  return {
    records: corpus.records,
    recordsPerSecond,
    parseFloorPerSecond,
    ratioToParseFloor: round2(recordsPerSecond / parseFloorPerSecond),
    rounds: samples,
  };
}

/** Peak memory of one replay, measured in a fresh process so that nothing else counts. */
export interface ReplayMemory {
  records: number;
  peakRssMB: number;
  peakHeapUsedMB: number;
  retainedHeapMB: number;
  sessionsInReport: number;
  seconds: number;
}

/**
 * Replay each prefix of the corpus (the first files, up to N records) in a fresh Node process; report its peaks.
 * A peak depends on when the garbage collector happens to run (the same replay varies by 10 % or more), so each size
 * is replayed `rounds` times, the sizes in turn, and the run with the median peak RSS is reported.
 */
export async function measureReplayMemory(
  store: BenchStore,
  corpus: Corpus,
  sizes: number[],
  work: string,
  rounds = 3,
): Promise<ReplayMemory[]> {
  const lists: string[] = [];
  for (const size of sizes) {
    const files: string[] = [];
    let counted = 0;
    // Files hold 2,000 to 4,000 records: take whole files up to the size.
    for (const file of corpus.files) {
      if (counted >= size) break;
      files.push(file);
      counted += (JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')) as { Records: unknown[] }).Records.length;
    }
    lists.push(files.join('\n'));
  }
  const runs: ReplayMemory[][] = sizes.map(() => []);
  for (let round = 0; round < rounds; round++)
    for (const [i, size] of sizes.entries()) {
      const list = join(work, `memory-${size}.json`);
      const files = lists[i]!.split('\n');
      writeFileSync(list, JSON.stringify({ files, endpoint: store.local.endpoint, tables: await store.freshTables() }));
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ['--expose-gc', process.argv[1]!, '--child-replay', list],
        { maxBuffer: 1 << 20 },
      );
      runs[i]!.push(JSON.parse(stdout) as ReplayMemory);
      say(
        `replay memory ${round + 1}/${rounds}: ${runs[i]!.at(-1)!.records} records, peak RSS ${runs[i]!.at(-1)!.peakRssMB} MiB`,
      );
    }
  return runs.map((r) => [...r].sort((a, b) => a.peakRssMB - b.peakRssMB)[Math.floor(r.length / 2)]!);
}
