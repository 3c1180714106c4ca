import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { InputFile, ReadOptions } from '../cloudtrail/read-inputs.js';
import type { FileResult } from './collect-file.js';

/** A file for a worker to read: its index in the listing and how to read it. */
export interface ReadJob {
  index: number;
  path: string;
  read: Omit<ReadOptions, 'onBytes'>;
  recordAwsServiceAssumes: boolean;
}

/** What a worker sends back: progress while it reads, then the file's result (or what went wrong). */
export type ReadMessage =
  | { index: number; progress: [bytes: number, records: number] }
  | { index: number; result: FileResult }
  | { index: number; error: string };

/**
 * Workers when none are asked for: the cores, at most 4. Each may hold a whole one-document file (up to 256 MiB)
 * parsed at once, so peak memory grows with the count; more threads than that rarely read faster.
 */
export const defaultWorkers = (cores = availableParallelism()): number => Math.min(4, cores);

/**
 * The worker's script: `replay-worker.js` beside this module once bundled (dist/). Null when running from the
 * TypeScript sources, where replay reads in its own thread.
 */
export function workerScript(): URL | null {
  const url = new URL('./replay-worker.js', import.meta.url);
  return url.protocol === 'file:' && existsSync(fileURLToPath(url)) ? url : null;
}

/**
 * Read files in `workers` worker threads, one file in flight per worker, so that at most that many files are held
 * at once. Each result is handed over as its file is done, in whatever order they finish. An abort stops the
 * workers; a worker that fails (an error, or any exit before the pool is done, even with code 0) fails the run,
 * naming the file it was reading.
 */
export async function readInWorkers(
  files: InputFile[],
  setup: { workers: number; script: URL; read: Omit<ReadOptions, 'onBytes'>; recordAwsServiceAssumes: boolean },
  hooks: {
    signal?: AbortSignal;
    onProgress: (bytes: number, records: number) => void;
    onFile: (index: number, result: FileResult) => void;
  },
): Promise<void> {
  let next = 0;
  const pool: Worker[] = [];
  const stopAll = () => Promise.all(pool.map((w) => w.terminate()));
  try {
    await new Promise<void>((resolve, reject) => {
      let running = 0;
      let finished = false;
      // The file each worker is reading, to name it when the worker fails.
      const reading = new Map<Worker, number>();
      const fail = (error: unknown) => {
        finished = true;
        reject(error instanceof Error ? error : new Error(String(error)));
      };
      const done = () => {
        finished = true;
        resolve();
      };
      const onAbort = () => done();
      hooks.signal?.addEventListener('abort', onAbort, { once: true });
      const failing = (worker: Worker, what: string): Error => {
        const index = reading.get(worker);
        return new Error(index === undefined ? what : `reading ${files[index]!.path}: ${what}`);
      };
      const give = (worker: Worker): void => {
        reading.delete(worker);
        if (hooks.signal?.aborted || next >= files.length) {
          if (--running === 0) done();
          return;
        }
        const index = next++;
        reading.set(worker, index);
        const job: ReadJob = {
          index,
          path: files[index]!.path,
          read: setup.read,
          recordAwsServiceAssumes: setup.recordAwsServiceAssumes,
        };
        worker.postMessage(job);
      };
      for (let i = 0; i < setup.workers; i++) {
        const worker = new Worker(setup.script);
        pool.push(worker);
        running++;
        worker.on('message', (message: ReadMessage) => {
          if ('progress' in message) hooks.onProgress(...message.progress);
          else if ('error' in message) fail(new Error(`reading ${files[message.index]!.path}: ${message.error}`));
          else {
            hooks.onFile(message.index, message.result);
            give(worker);
          }
        });
        worker.on('error', (error) => fail(failing(worker, error.message)));
        // Any exit before the pool is done leaves its file unread and its slot never freed: even code 0 fails.
        worker.on('exit', (code) => {
          if (!finished && !hooks.signal?.aborted)
            fail(failing(worker, `a replay worker stopped before it was done (exit code ${code})`));
        });
        give(worker);
      }
    });
  } finally {
    await stopAll();
  }
}
