import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import {
  AthenaClient,
  GetQueryExecutionCommand,
  type QueryExecutionState,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { AthenaQueryError, costOfScan, downloadResults, runQuery } from '../../lib/athena/run.js';
import { readInputs } from '../../lib/cloudtrail/read-inputs.js';
import { recordToAthenaRow } from '../helpers/athena.js';
import { runCli } from '../helpers/cli.js';
import { testEndpoint } from '../helpers/dynamo.js';
import { assumeRecord, EVENTS_DIR } from '../helpers/fixtures.js';

const athena = mockClient(AthenaClient);
const s3 = mockClient(S3Client);
let dir: string;
const noWait = async (): Promise<void> => {};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'roleguard-athena-run-'));
});
afterEach(() => {
  athena.reset();
  s3.reset();
});
afterAll(() => {
  athena.restore();
  s3.restore();
  rmSync(dir, { recursive: true, force: true });
});

const execution = (State: QueryExecutionState, scanned = 0, reason?: string) => ({
  QueryExecution: {
    QueryExecutionId: 'q-1',
    Status: { State, ...(reason ? { AthenaError: { ErrorMessage: reason } } : {}) },
    Statistics: { DataScannedInBytes: scanned },
  },
});

/** `count` rows of distinct successful assumes, as UNLOAD writes them. */
function rows(count: number, offset = 0): string {
  return Array.from({ length: count }, (_, i) =>
    JSON.stringify(recordToAthenaRow(assumeRecord({ eventID: `ev-${offset + i}` }), true)),
  ).join('\n');
}

/** Serve `files` (name → gzip bytes) under s3://results/run/, two listing pages. */
function serveFiles(files: Map<string, Buffer>): void {
  const keys = [...files.keys()];
  const half = Math.ceil(keys.length / 2);
  const page = (part: string[]) => part.map((k) => ({ Key: `run/${k}`, Size: files.get(k)!.length }));
  s3.on(ListObjectsV2Command, { ContinuationToken: undefined }).resolves({
    Contents: page(keys.slice(0, half)),
    IsTruncated: true,
    NextContinuationToken: 'page-2',
  });
  s3.on(ListObjectsV2Command, { ContinuationToken: 'page-2' }).resolves({
    Contents: page(keys.slice(half)),
    IsTruncated: false,
  });
  s3.on(GetObjectCommand).callsFake((input: { Key: string }) => ({
    Body: Readable.from([files.get(input.Key.slice('run/'.length))!]) as never,
  }));
}

describe('running an Athena query', () => {
  it('starts it, polls until it succeeds, and reports the state and the bytes scanned', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-1' });
    athena
      .on(GetQueryExecutionCommand)
      .resolvesOnce(execution('QUEUED'))
      .resolvesOnce(execution('RUNNING', 5e8))
      .resolves(execution('SUCCEEDED', 2e9));
    const seen: string[] = [];
    const result = await runQuery(athena as never, 'UNLOAD (…)', {
      workgroup: 'primary',
      sleep: noWait,
      onProgress: (state, bytes) => seen.push(`${state} ${bytes}`),
    });
    expect(result).toEqual({ queryExecutionId: 'q-1', dataScannedBytes: 2e9 });
    expect(seen).toEqual(['QUEUED 0', 'RUNNING 500000000', 'SUCCEEDED 2000000000']);
    expect(athena.commandCalls(StartQueryExecutionCommand)[0]!.args[0].input).toEqual({
      QueryString: 'UNLOAD (…)',
      WorkGroup: 'primary',
    });
    expect(costOfScan(2e9)).toBeCloseTo(0.01, 6);
  });

  it("throws Athena's own reason when the query fails", async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-1' });
    athena
      .on(GetQueryExecutionCommand)
      .resolves(execution('FAILED', 0, "TABLE_NOT_FOUND: Table 'default.cloudtrail_logs' does not exist"));
    const error = await runQuery(athena as never, 'q', { sleep: noWait }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AthenaQueryError);
    expect((error as Error).message).toBe(
      "query q-1 failed: TABLE_NOT_FOUND: Table 'default.cloudtrail_logs' does not exist",
    );
  });

  it('stops the query in Athena when interrupted (Ctrl-C)', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-1' });
    const abort = new AbortController();
    athena.on(GetQueryExecutionCommand).callsFake(() => {
      abort.abort();
      return execution('RUNNING');
    });
    athena.on(StopQueryExecutionCommand).resolves({});
    const error = await runQuery(athena as never, 'q', { sleep: noWait, signal: abort.signal }).catch(
      (e: unknown) => e,
    );
    expect((error as AthenaQueryError).state).toBe('CANCELLED');
    expect(athena.commandCalls(StopQueryExecutionCommand).map((c) => c.args[0].input)).toEqual([
      { QueryExecutionId: 'q-1' },
    ]);
  });
});

describe('reading UNLOAD results back from S3', () => {
  it('downloads every file of every listing page and reads all 10,000 rows back as records', async () => {
    const files = new Map<string, Buffer>();
    for (let f = 0; f < 20; f++) files.set(`20260101_000000_00001_abcde_${f}.gz`, gzipSync(rows(500, f * 500)));
    serveFiles(files);
    const out = join(dir, 'download');
    const paths = await downloadResults(s3 as never, 's3://results/run/', out);
    expect(paths).toHaveLength(20);
    let records = 0;
    const rejected: string[] = [];
    for await (const item of readInputs([out])) {
      if ('record' in item) records++;
      else rejected.push(item.rejected);
    }
    expect(rejected).toEqual([]);
    expect(records).toBe(10_000);
    expect(s3.commandCalls(ListObjectsV2Command)).toHaveLength(2);
  });
});

describe('roleguard athena', () => {
  it('setup prints the table, and lists every bad option with exit 2', async () => {
    const ok = await runCli([
      'athena',
      'setup',
      '--location',
      's3://trail',
      '--accounts',
      '111122223333',
      '--regions',
      'us-east-1',
    ]);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/^CREATE EXTERNAL TABLE IF NOT EXISTS `default`\.`cloudtrail_logs`/);
    const bad = await runCli(['athena', 'setup', '--location', 'trail', '--accounts', '1', '--regions', 'mars']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--location "trail"');
    expect(bad.stderr).toContain('--accounts: "1" is not 12 digits');
    expect(bad.stderr).toContain('--regions: "mars" is not a Region');
    expect(athena.commandCalls(StartQueryExecutionCommand)).toHaveLength(0);
  });

  it('replay unloads the window, reads it back and replays it, with the cost on stderr', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-1' });
    athena.on(GetQueryExecutionCommand).resolves(execution('SUCCEEDED', 3e9));
    const files = new Map([['part-0.gz', gzipSync(rows(3))]]);
    const prefixOf = (query: string) => /TO 's3:\/\/results\/(.*)'/.exec(query)![1]!;
    s3.on(ListObjectsV2Command).callsFake((input: { Prefix: string }) => {
      const query = athena.commandCalls(StartQueryExecutionCommand)[0]!.args[0].input.QueryString!;
      expect(input.Prefix).toBe(prefixOf(query));
      return { Contents: [{ Key: `${input.Prefix}part-0.gz`, Size: 10 }], IsTruncated: false };
    });
    s3.on(GetObjectCommand).callsFake(() => ({ Body: Readable.from([files.get('part-0.gz')!]) as never }));
    const result = await runCli([
      'athena',
      'replay',
      '--since',
      '2026-11-01T00:00:00Z',
      '--until',
      '2026-11-03T00:00:00Z',
      '--output',
      's3://results/',
      '--registry',
      join(EVENTS_DIR, 'registry.yaml'),
      '--json',
      '--endpoint',
      testEndpoint(),
    ]);
    expect(result.stderr).toContain('3.00 GB scanned, about $0.0150 at $5 per TB');
    expect(result.status).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.sessions.map((s: { eventId: string }) => s.eventId).sort()).toEqual(['ev-0', 'ev-1', 'ev-2']);
    const query = athena.commandCalls(StartQueryExecutionCommand)[0]!.args[0].input;
    expect(query.QueryString).toContain(
      "AND eventtime >= '2026-11-01T00:00:00Z' AND eventtime < '2026-11-03T00:00:00Z'",
    );
    expect(query.ResultConfiguration).toEqual({ OutputLocation: 's3://results/' });
  });

  it('replay of a window without events still prints its one JSON document', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-1' });
    athena.on(GetQueryExecutionCommand).resolves(execution('SUCCEEDED', 1e6));
    s3.on(ListObjectsV2Command).resolves({ Contents: [], IsTruncated: false });
    const result = await runCli([
      'athena',
      'replay',
      '--since',
      '2026-11-01T00:00:00Z',
      '--until',
      '2026-11-03T00:00:00Z',
      '--output',
      's3://results/',
      '--json',
      '--endpoint',
      testEndpoint(),
    ]);
    expect(result.stderr).toContain('the query found no STS or IAM events in that window');
    expect(JSON.parse(result.stdout).sessions).toEqual([]);
  });

  it('replay stops the download on Ctrl-C, exits 130 and leaves no temporary folder', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-1' });
    athena.on(GetQueryExecutionCommand).resolves(execution('SUCCEEDED', 1e6));
    s3.on(ListObjectsV2Command).callsFake((input: { Prefix: string }) => ({
      Contents: [0, 1, 2].map((i) => ({ Key: `${input.Prefix}part-${i}.gz`, Size: 10 })),
      IsTruncated: false,
    }));
    let gets = 0;
    s3.on(GetObjectCommand).callsFake(() => {
      gets++;
      process.emit('SIGINT');
      return { Body: Readable.from([gzipSync(rows(1))]) as never };
    });
    const before = readdirSync(tmpdir()).filter((f) => f.startsWith('roleguard-athena-')).length;
    const result = await runCli([
      'athena',
      'replay',
      '--since',
      '2026-11-01T00:00:00Z',
      '--until',
      '2026-11-03T00:00:00Z',
      '--output',
      's3://results/',
      '--endpoint',
      testEndpoint(),
    ]);
    expect(result.status).toBe(130);
    expect(result.stderr).toMatch(/stopped: interrupted/);
    expect(gets).toBe(1);
    expect(readdirSync(tmpdir()).filter((f) => f.startsWith('roleguard-athena-')).length).toBe(before);
  });

  it('replay fails with exit 1 and names the reason Athena gives', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-1' });
    athena.on(GetQueryExecutionCommand).resolves(execution('FAILED', 0, 'Access Denied (Service: Amazon S3)'));
    const result = await runCli([
      'athena',
      'replay',
      '--since',
      '2026-11-01T00:00:00Z',
      '--until',
      '2026-11-03T00:00:00Z',
      '--output',
      's3://results/',
      '--endpoint',
      testEndpoint(),
    ]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('roleguard athena replay: query q-1 failed: Access Denied (Service: Amazon S3)');
    expect(s3.commandCalls(ListObjectsV2Command)).toHaveLength(0);
  });
});
