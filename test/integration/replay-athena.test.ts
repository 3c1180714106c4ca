import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { unwrapDocument } from '../../lib/cloudtrail/envelope.js';
import { createDeps } from '../../lib/deps.js';
import { parseRegistryText } from '../../lib/registry/text.js';
import { runReplay } from '../../lib/replay/run-replay.js';
import { recordToAthenaRow } from '../helpers/athena.js';
import { createSessionsTable, createTestTables, testDynamo } from '../helpers/dynamo.js';
import { EVENTS_DIR, loadJson, SAMPLES_DIR, sampleFiles } from '../helpers/fixtures.js';
import { memoryLogger } from '../helpers/logger.js';

let doc: DynamoDBDocumentClient;
let dir: string;

beforeAll(() => {
  doc = testDynamo();
  dir = mkdtempSync(join(tmpdir(), 'roleguard-athena-'));
});
afterAll(() => {
  doc.destroy();
  rmSync(dir, { recursive: true, force: true });
});

async function replay(paths: string[]) {
  const config = await createTestTables(doc, await createSessionsTable(doc));
  const deps = createDeps(config, {
    dynamo: doc,
    logger: memoryLogger().logger,
    registry: parseRegistryText(readFileSync(join(EVENTS_DIR, 'registry.yaml'), 'utf8'), 'registry.yaml'),
    now: () => {
      throw new Error('replay must use the event clock');
    },
  });
  return runReplay(deps, { paths });
}

const records = () =>
  [
    ...sampleFiles().map((f) => join(SAMPLES_DIR, f)),
    ...readdirSync(EVENTS_DIR)
      .filter((f) => f.endsWith('.json'))
      .map((f) => join(EVENTS_DIR, f)),
    ...readdirSync(join(EVENTS_DIR, 'trail')).map((f) => join(EVENTS_DIR, 'trail', f)),
  ].flatMap((path) => [...unwrapDocument(loadJson(path), path)].flatMap((i) => ('record' in i ? [i.record] : [])));

describe('replay of Athena UNLOAD results', () => {
  it('gives the same sessions, findings and revocations as the original records', async () => {
    const originals = records() as Record<string, unknown>[];
    const original = join(dir, 'original.jsonl');
    writeFileSync(original, originals.map((r) => JSON.stringify(r)).join('\n'));
    // What UNLOAD … WITH (format = 'JSON', compression = 'GZIP') writes: gzip JSON lines, one row a line.
    const unloaded = join(dir, '20260101_000000_00001_abcde_0.gz');
    writeFileSync(unloaded, gzipSync(originals.map((r) => JSON.stringify(recordToAthenaRow(r, true))).join('\n')));
    const a = await replay([original]);
    const b = await replay([unloaded]);
    expect(b.summary).toEqual(a.summary);
    expect(b.sessions).toEqual(a.sessions);
    expect(b.findings).toEqual(a.findings);
    expect(b.actions).toEqual(a.actions);
    expect(b.rejected.map((r) => r.reason)).toEqual(a.rejected.map((r) => r.reason));
    expect(a.findings.length).toBeGreaterThan(0);
    // What the input covered, for the HTML report: every record read counts, ignored ones included.
    expect(a.coverage.files).toBe(1);
    expect(a.coverage.accounts).toEqual(expect.arrayContaining(['111122223333', '123456789012']));
    expect(a.coverage.regions).toEqual(expect.arrayContaining(['us-east-1', 'us-east-2']));
    expect(a.coverage.from! < a.coverage.to!).toBe(true);
    expect(a.sessions.length).toBeGreaterThan(5);
  });

  it('lists a row that cannot be turned back into a record in rejected, with the reason, and goes on', async () => {
    const file = join(dir, 'bad.gz');
    const valid = records().find(
      (r) => (r as Record<string, unknown>).eventName === 'AssumeRole' && 'eventID' in (r as object),
    );
    const good = recordToAthenaRow(valid as Record<string, unknown>);
    const bad = { ...good, requestparameters: '{"roleArn": ' };
    writeFileSync(file, gzipSync([JSON.stringify(bad), JSON.stringify(good)].join('\n')));
    const report = await replay([file]);
    expect(report.rejected).toEqual([
      { source: `${file}:0`, reason: 'Athena row: requestparameters is not valid JSON' },
    ]);
    expect(report.summary.rejected).toBe(1);
    expect(report.sessions).toHaveLength(1);
  });
});
