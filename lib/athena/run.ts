import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  type AthenaClient,
  GetQueryExecutionCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';

/** An Athena query that failed or was cancelled, with Athena's own reason. */
export class AthenaQueryError extends Error {
  override name = 'AthenaQueryError';
  constructor(
    message: string,
    readonly queryExecutionId: string | null,
    readonly state: string,
  ) {
    super(message);
  }
}

/** What a finished query cost. */
export interface QueryResult {
  queryExecutionId: string;
  dataScannedBytes: number;
}

export interface QueryOptions {
  workgroup?: string;
  /** Where Athena keeps the query's own result and manifest; optional when the workgroup sets one. */
  resultLocation?: string;
  signal?: AbortSignal;
  onProgress?: (state: string, scannedBytes: number) => void;
  /** Injected for tests; waits between polls. */
  sleep?: (ms: number) => Promise<void>;
}

/** Athena bills $5 per TB scanned (10 MB at least per query). */
export const costOfScan = (bytes: number): number => (Math.max(bytes, 10_000_000) / 1e12) * 5;

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Run one query and wait for it: poll with a growing interval (1 s, up to 5 s), report the state and the bytes
 * scanned, stop the query when `signal` aborts (Ctrl-C), and throw Athena's reason when it fails.
 */
export async function runQuery(athena: AthenaClient, query: string, options: QueryOptions = {}): Promise<QueryResult> {
  const sleep = options.sleep ?? defaultSleep;
  const started = await athena.send(
    new StartQueryExecutionCommand({
      QueryString: query,
      ...(options.workgroup ? { WorkGroup: options.workgroup } : {}),
      ...(options.resultLocation ? { ResultConfiguration: { OutputLocation: options.resultLocation } } : {}),
    }),
  );
  const id = started.QueryExecutionId;
  if (!id) throw new AthenaQueryError('Athena started no query (no QueryExecutionId)', null, 'UNKNOWN');
  for (let wait = 1000; ; wait = Math.min(wait * 1.5, 5000)) {
    if (options.signal?.aborted) {
      await athena.send(new StopQueryExecutionCommand({ QueryExecutionId: id }));
      throw new AthenaQueryError(`query ${id} stopped: interrupted`, id, 'CANCELLED');
    }
    const { QueryExecution: execution } = await athena.send(new GetQueryExecutionCommand({ QueryExecutionId: id }));
    const state = execution?.Status?.State ?? 'UNKNOWN';
    const scanned = execution?.Statistics?.DataScannedInBytes ?? 0;
    options.onProgress?.(state, scanned);
    if (state === 'SUCCEEDED') return { queryExecutionId: id, dataScannedBytes: scanned };
    if (state === 'FAILED' || state === 'CANCELLED') {
      const reason =
        execution?.Status?.AthenaError?.ErrorMessage ?? execution?.Status?.StateChangeReason ?? 'no reason given';
      throw new AthenaQueryError(`query ${id} ${state.toLowerCase()}: ${reason}`, id, state);
    }
    await sleep(wait);
  }
}

/** Split `s3://bucket/prefix/` into its bucket and key prefix. */
export function parseS3Location(location: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(location);
  if (!match) throw new Error(`not an S3 location: ${location}`);
  return { bucket: match[1]!, prefix: match[2]! };
}

/**
 * Download every file UNLOAD wrote under `location` into `dir`, one page of the listing at a time, streaming each
 * object to disk, so a large result never sits in memory. Returns the paths in listing order.
 */
export async function downloadResults(
  s3: S3Client,
  location: string,
  dir: string,
  options: { onFile?: (count: number, bytes: number) => void; signal?: AbortSignal } = {},
): Promise<string[]> {
  const { onFile, signal } = options;
  const stopIfInterrupted = (): void => {
    if (signal?.aborted)
      throw new AthenaQueryError(`download from ${location} stopped: interrupted`, null, 'CANCELLED');
  };
  const { bucket, prefix } = parseS3Location(location);
  await mkdir(dir, { recursive: true });
  const paths: string[] = [];
  let bytes = 0;
  let token: string | undefined;
  do {
    stopIfInterrupted();
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }), {
      abortSignal: signal,
    });
    for (const object of page.Contents ?? []) {
      if (!object.Key || object.Key.endsWith('/')) continue;
      stopIfInterrupted();
      const { Body } = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: object.Key }), {
        abortSignal: signal,
      });
      if (!(Body instanceof Readable)) throw new Error(`s3://${bucket}/${object.Key}: no readable body`);
      // The reader detects gzip by its magic bytes; the name only has to end in .gz for it to be listed.
      const name = `${String(paths.length).padStart(6, '0')}-${object.Key.slice(prefix.length).replace(/[^\w.-]+/g, '_')}`;
      const path = join(dir, /\.gz$/.test(name) ? name : `${name}.gz`);
      await pipeline(Body, createWriteStream(path), signal ? { signal } : {});
      paths.push(path);
      bytes += object.Size ?? 0;
      onFile?.(paths.length, bytes);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return paths;
}
