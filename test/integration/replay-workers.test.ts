import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { build } from 'esbuild';
import { createDeps } from '../../lib/deps.js';
import { parseRegistryText } from '../../lib/registry/text.js';
import { runReplay } from '../../lib/replay/run-replay.js';
import { emulatedRevoker } from '../../lib/revoke/respond.js';
import { createRevocationStore } from '../../lib/revoke/store.js';
import { buildCli, runBuiltCli } from '../helpers/built-cli.js';
import { createSessionsTable, createTestTables, testDynamo, testEndpoint } from '../helpers/dynamo.js';
import { assumeRecord, EVENTS_DIR, loadJson, ROOT } from '../helpers/fixtures.js';
import { memoryLogger } from '../helpers/logger.js';
import { prng } from '../helpers/prng.js';

// Replay reads and classifies its files in worker threads. However many there are, and whichever file finishes
// first, the report is the same as when one thread reads everything.
const REGISTRY = readFileSync(join(EVENTS_DIR, 'registry.yaml'), 'utf8');
const ROLE = 'arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit';
type Rec = Record<string, unknown>;

let doc: DynamoDBDocumentClient;
let dir: string;
let trail: string;
let worker: URL;

// The vendor assuming ExampleCorpAudit with an external ID (a wrong one is a finding and, for this role, a revocation).
function vendor(id: string, time: string, externalId: string, region: string, account = '111122223333'): Rec {
  const base = assumeRecord({ eventID: id, eventTime: time, awsRegion: region, recipientAccountId: account });
  return {
    ...base,
    requestParameters: { ...(base.requestParameters as object), roleArn: ROLE, roleSessionName: `s-${id}`, externalId },
    responseElements: {
      ...(base.responseElements as object),
      assumedRoleUser: { assumedRoleId: `AROA3XFRBF23EXAMPLE1:s-${id}`, arn: `${ROLE}/s-${id}` },
    },
  };
}

const noise = (i: number, time: string, region: string, account: string): Rec => ({
  eventVersion: '1.08',
  eventID: `noise-${i}`,
  eventTime: time,
  eventSource: ['kms.amazonaws.com', 's3.amazonaws.com', 'ec2.amazonaws.com'][i % 3],
  eventName: ['Decrypt', 'ListBuckets', 'DescribeInstances', 'constructor'][i % 4],
  awsRegion: region,
  recipientAccountId: account,
  userIdentity: { type: 'AssumedRole', accountId: account },
});

/**
 * A trail of several accounts and Regions (a file per account, Region and hour), with every sample event, noise,
 * the vendor's good and wrong assumes in several Regions, a redelivered copy in another file, malformed records, a
 * file that is not JSON and one that is cut short.
 */
function writeTrail(root: string): string {
  const random = prng(16);
  const records: Rec[] = [];
  for (const name of readdirSync(EVENTS_DIR).sort())
    if (name.endsWith('.json')) records.push((loadJson(join(EVENTS_DIR, name)) as { detail: Rec }).detail);
  const accounts = ['111122223333', '444455556666', '777788889999'];
  const regions = ['us-east-1', 'eu-west-1', 'ap-southeast-2'];
  for (let i = 0; i < 1500; i++) {
    const at = new Date(Date.parse('2026-11-02T08:00:00Z') + Math.floor(random() * 6 * 3600_000));
    const time = at.toISOString().replace(/\.\d{3}Z$/, 'Z');
    const region = regions[i % 3]!;
    if (i % 97 === 5) records.push(vendor(`wrong-${i}`, time, 'tenant-4711', region));
    else if (i % 41 === 3) records.push(vendor(`good-${i}`, time, 'ec-7Hq2vN9xK4pL8mR3', region));
    else records.push(noise(i, time, region, accounts[i % 3]!));
  }
  records.push({ ...vendor('bad-id', '2026-11-02T09:00:00Z', 'x', 'us-east-1') });
  records.push({ ...noise(9001, '2026-11-02T09:00:00Z', 'us-east-1', accounts[0]!), eventTime: 'yesterday' });
  records.push(vendor('wrong-37', '2026-11-02T09:13:00Z', 'tenant-4711', 'eu-west-1'));
  const files = new Map<string, Rec[]>();
  for (const r of records) {
    const account = String(r.recipientAccountId ?? '111122223333');
    const region = String(r.awsRegion ?? 'us-east-1');
    const hour = String(r.eventTime).slice(11, 13);
    const folder = join(root, 'AWSLogs', account, 'CloudTrail', region, '2026', '11', '02');
    const file = join(folder, `${account}_CloudTrail_${region}_20261102T${hour}00Z_x.json.gz`);
    files.set(file, [...(files.get(file) ?? []), r]);
  }
  for (const [file, rs] of files) {
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, gzipSync(JSON.stringify({ Records: [...rs, rs.length % 2 ? 42 : null] })));
  }
  writeFileSync(join(root, 'not-json.json'), 'this is not JSON');
  writeFileSync(join(root, 'cut.json.gz'), gzipSync(JSON.stringify({ Records: records.slice(0, 5) })).subarray(0, 60));
  writeFileSync(
    join(root, 'copies.jsonl'),
    records
      .slice(0, 30)
      .map((r) => JSON.stringify(r))
      .join('\n'),
  );
  return root;
}

async function replay(workers: number, script: URL | null) {
  const config = await createTestTables(doc, await createSessionsTable(doc));
  const deps = createDeps(config, {
    dynamo: doc,
    logger: memoryLogger().logger,
    registry: parseRegistryText(REGISTRY, 'registry.yaml'),
    revoker: emulatedRevoker({ store: createRevocationStore(doc, config.revocationsTable!) }),
    now: () => {
      throw new Error('replay must use the event clock');
    },
  });
  const files = new Set<number>();
  const report = await runReplay(deps, {
    paths: [trail],
    concurrency: 8,
    workers,
    workerScript: script,
    onProgress: (p) => files.add(p.filesDone),
  });
  return { report, files };
}

beforeAll(async () => {
  doc = testDynamo();
  dir = mkdtempSync(join(tmpdir(), 'roleguard-workers-'));
  trail = writeTrail(join(dir, 'trail'));
  // The worker as the CLI bundle ships it, built from the sources under test.
  await build({
    entryPoints: { 'replay-worker': join(ROOT, 'lib', 'replay', 'replay-worker.ts') },
    outdir: dir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    logLevel: 'warning',
  });
  worker = pathToFileURL(join(dir, 'replay-worker.js'));
});
afterAll(() => {
  doc.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe('replay in worker threads', () => {
  it('gives the same report with one thread and with several workers', async () => {
    const one = await replay(1, null);
    expect(one.report.summary).toMatchObject({ eventsRead: expect.any(Number), recorded: expect.any(Number) });
    expect(one.report.summary.eventsRead).toBeGreaterThan(1500);
    expect(one.report.findings.length).toBeGreaterThan(10);
    expect(one.report.actions.some((a) => a.kind !== 'alert')).toBe(true);
    expect(one.report.rejected.map((r) => r.reason)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/externalId: not a valid external ID/),
        expect.stringMatching(/eventTime is "yesterday"/),
        expect.stringMatching(/not a CloudTrail record: expected an object, got a number/),
        expect.stringMatching(/not JSON or JSON lines/),
        expect.stringMatching(/corrupt or truncated gzip/),
      ]),
    );
    expect(one.report.coverage.accounts).toEqual(['111122223333', '444455556666', '777788889999']);
    expect(one.report.summary.duplicates).toBeGreaterThan(0);
    for (const workers of [2, 5]) {
      const several = await replay(workers, worker);
      expect({ workers, ...several.report }).toEqual({ workers, ...one.report });
      expect(JSON.stringify(several.report)).toBe(JSON.stringify(one.report));
      expect(Math.max(...several.files)).toBe(Math.max(...one.files));
    }
  });

  it('reads in the workers it is given: a worker that fails fails the run', async () => {
    const broken = join(dir, 'broken-worker.mjs');
    writeFileSync(broken, 'throw new Error("worker could not start");\n');
    await expect(replay(2, pathToFileURL(broken))).rejects.toThrow(/worker could not start/);
  });
});

describe('roleguard replay --workers (the built CLI)', () => {
  beforeAll(() => buildCli());

  it('prints the same JSON report with --workers 1 and --workers 3', () => {
    const run = (workers: string, table: string) =>
      runBuiltCli([
        'replay',
        trail,
        '--registry',
        join(EVENTS_DIR, 'registry.yaml'),
        '--json',
        '--workers',
        workers,
        '--endpoint',
        testEndpoint(),
        '--table',
        `${table}-${process.pid}`,
      ]);
    const one = run('1', 'workers-one');
    const three = run('3', 'workers-three');
    expect(one.status).toBe(0);
    expect(three).toMatchObject({ status: 0, stdout: one.stdout });
    expect(JSON.parse(one.stdout).summary.recorded).toBeGreaterThan(10);
    expect(runBuiltCli(['replay', trail, '--workers', '0']).status).toBe(2);
  });
});
