import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createDeps } from '../../lib/deps.js';
import { parseRegistryText } from '../../lib/registry/text.js';
import type { ReplayReport } from '../../lib/replay/report.js';
import { runReplay } from '../../lib/replay/run-replay.js';
import { emulatedRevoker } from '../../lib/revoke/respond.js';
import { createRevocationStore } from '../../lib/revoke/store.js';
import { createSessionsTable, createTestTables, testDynamo } from '../helpers/dynamo.js';
import { assumeRecord, EVENTS_DIR, loadJson } from '../helpers/fixtures.js';
import { memoryLogger } from '../helpers/logger.js';
import { prng } from '../helpers/prng.js';

// Replay decides every event as of its own eventTime, so the report may not depend on how the same records are
// split into files, how those are named, or in what order they come: the same corpus is laid out several ways here
// and every report is compared with the one from a single time-sorted file.
const REGISTRY = readFileSync(join(EVENTS_DIR, 'registry.yaml'), 'utf8');
const ROLE = 'arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit';

let doc: DynamoDBDocumentClient;
let dir: string;

type Rec = Record<string, unknown>;

// The vendor's caller with a given external ID, in a given Region (STS regional endpoints log in that Region).
function assume(id: string, time: string, session: string, externalId: string, region: string): Rec {
  const base = assumeRecord({ eventID: id, eventTime: time, awsRegion: region });
  return {
    ...base,
    requestParameters: { ...(base.requestParameters as object), roleArn: ROLE, roleSessionName: session, externalId },
    responseElements: {
      ...(base.responseElements as object),
      credentials: {
        accessKeyId: `ASIA${id
          .toUpperCase()
          .replace(/[^A-Z0-9]/g, '')
          .padEnd(16, 'X')
          .slice(0, 16)}`,
        sessionToken: '<redacted>',
        expiration: 'Nov 3, 2026, 11:00:00 PM',
      },
      assumedRoleUser: {
        assumedRoleId: `AROA3XFRBF23EXAMPLE1:${session}`,
        arn: `arn:aws:sts::111122223333:assumed-role/ExampleCorpAudit/${session}`,
      },
    },
  };
}

// The sample events (13 records, one of them a redelivered copy, four of them IAM role changes), plus the vendor going wrong three times in other
// Regions, one record that is not valid, and one that shares its time, id and account with another but not its Region.
function corpus(): Rec[] {
  const records: Rec[] = [];
  for (const name of readdirSync(EVENTS_DIR).sort()) {
    if (name.endsWith('.json')) records.push((loadJson(join(EVENTS_DIR, name)) as { detail: Rec }).detail);
  }
  const trail = readdirSync(join(EVENTS_DIR, 'trail'))[0]!;
  records.push(...(loadJson(join(EVENTS_DIR, 'trail', trail)) as { Records: Rec[] }).Records);
  records.push(
    assume('v1-wrong', '2026-11-02T10:05:00Z', 'vendor-scan', 'tenant-4711', 'eu-west-1'),
    assume('v2-wrong-again', '2026-11-02T10:20:00Z', 'other-scan', 'tenant-4711', 'ap-southeast-2'),
    assume('v3-good', '2026-11-02T10:20:00Z', 'vendor-good', 'ec-7Hq2vN9xK4pL8mR3', 'us-west-2'),
    { ...assumeRecord({ eventID: 'bad-time', awsRegion: 'us-west-2' }), eventTime: 'yesterday' },
  );
  return records;
}

const time = (r: Rec) => Date.parse(String(r.eventTime)) || 0;
const hour = (r: Rec) =>
  String(r.eventTime)
    .replace(/[-:]/g, '')
    .replace(/^(\d{8}T\d{2}).*$/, '$1');

/** The layout of an S3 trail: AWSLogs/<account>/CloudTrail/<Region>/<yyyy>/<mm>/<dd>/<file>.json.gz, per hour. */
function trailLayout(root: string, records: Rec[], renameRegion: (r: string) => string = (r) => r): string {
  const files = new Map<string, Rec[]>();
  for (const r of records) {
    const region = renameRegion(String(r.awsRegion));
    const account = String(r.recipientAccountId);
    const folder = join(root, 'AWSLogs', account, 'CloudTrail', region, '2026', '11', '02');
    const file = join(folder, `${account}_CloudTrail_${region}_${hour(r)}00Z_a1B2.json.gz`);
    files.set(file, [...(files.get(file) ?? []), r]);
  }
  for (const [file, rs] of files) {
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, gzipSync(JSON.stringify({ Records: rs })));
  }
  return root;
}

/** The records shuffled (seeded) into `count` files of every form: JSON lines, a log file, an array, gzip or not. */
function shuffledLayout(root: string, records: Rec[], seed: number, count: number): string {
  const random = prng(seed);
  const shuffled = [...records];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  mkdirSync(root, { recursive: true });
  for (let f = 0; f < count; f++) {
    const part = shuffled.filter((_, i) => i % count === f);
    const name = `${Math.floor(random() * 1e6)}-part${f}`;
    if (f % 3 === 0) writeFileSync(join(root, `${name}.jsonl`), part.map((r) => JSON.stringify(r)).join('\n'));
    else if (f % 3 === 1) writeFileSync(join(root, `${name}.json.gz`), gzipSync(JSON.stringify({ Records: part })));
    else writeFileSync(join(root, `${name}.json`), JSON.stringify(part, null, 2));
  }
  return root;
}

async function replay(path: string): Promise<ReplayReport> {
  const config = await createTestTables(doc, await createSessionsTable(doc));
  // Wired as `roleguard replay` wires it: the emulation remembers whose sessions it revoked.
  const deps = createDeps(config, {
    dynamo: doc,
    logger: memoryLogger().logger,
    registry: parseRegistryText(REGISTRY, 'registry.yaml'),
    revoker: emulatedRevoker({ store: createRevocationStore(doc, config.revocationsTable!) }),
    now: () => {
      throw new Error('replay must use the event clock');
    },
  });
  const { aborted: _, coverage: _c, ...report } = await runReplay(deps, { paths: [path], concurrency: 8 });
  return report;
}

// Everything but where a rejection came from: the file names differ between layouts by construction.
const comparable = (report: ReplayReport) => ({
  ...report,
  rejected: report.rejected.map((r) => r.reason).sort(),
});

beforeAll(() => {
  doc = testDynamo();
  dir = mkdtempSync(join(tmpdir(), 'roleguard-order-'));
});
afterAll(() => {
  doc.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe('replay decides events in eventTime order, whatever the files', () => {
  it('gives the same report for any order and split of the same records', async () => {
    const records = corpus();
    const sorted = [...records].sort((a, b) => time(a) - time(b));
    writeFileSync(join(dir, 'sorted.jsonl'), sorted.map((r) => JSON.stringify(r)).join('\n'));
    const reference = await replay(join(dir, 'sorted.jsonl'));

    // The reference itself: each event decided as of its own time, and nothing decided later leaks into it.
    expect(reference.summary).toMatchObject({ eventsRead: 17, recorded: 7, duplicates: 1, ignored: 3, rejected: 1 });
    expect(reference.findings.map((f) => [f.kind, f.eventId])).toEqual([
      ['unexpected-external-id', 'v1-wrong'],
      ['assumed-after-revocation', 'v2-wrong-again'],
      ['unexpected-external-id', 'v2-wrong-again'],
      // The vendor's good session at noon (a trusted account with the current ID) is not a return of a revoked caller.
      ['denied-assume', '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c03'],
      ['trust-policy-changed', '7e6d5c4b-3a2f-4e1d-9c8b-7a6f5e4d3c04'],
      ['assumed-after-revocation', 'c4b7e2a9-1d3f-4e6a-8b5c-7f2e9d1a3b02'],
      ['unexpected-external-id', 'c4b7e2a9-1d3f-4e6a-8b5c-7f2e9d1a3b02'],
      // The IAM fixtures: roleguard's policy rewritten and deleted, then the role deleted and created again.
      ['revocation-tampered', 'a1f2e3d4-c5b6-4a79-8e1d-2c3b4a5f6e11'],
      ['revocation-tampered', 'b2a3f4e5-d6c7-4b8a-9f2e-3d4c5b6a7f12'],
      ['role-recreated', 'c3b4a5f6-e7d8-4c9b-8a3f-4e5d6c7b8a13'],
      ['role-recreated', 'd4c5b6a7-f8e9-4dac-9b4a-5f6e7d8c9b14'],
    ]);
    for (const action of reference.actions.filter((a) => a.kind !== 'alert')) {
      const statements = (action.policyDocument as { Statement: { Condition: unknown }[] }).Statement;
      for (const s of statements) {
        const before = JSON.stringify(s.Condition).match(/"aws:TokenIssueTime":"([^"]+)"/)?.[1];
        if (before) expect(Date.parse(before)).toBeLessThanOrEqual(Date.parse(action.at));
      }
    }

    writeFileSync(join(dir, 'reversed.json'), JSON.stringify({ Records: [...sorted].reverse() }));
    const layouts = [
      join(dir, 'reversed.json'),
      trailLayout(join(dir, 'trail'), records),
      // Renaming a Region folder changes the path order, and nothing else.
      trailLayout(join(dir, 'renamed'), records, (r) => (r === 'us-east-1' ? 'a-renamed' : r)),
      shuffledLayout(join(dir, 'shuffled-1'), records, 1, 4),
      shuffledLayout(join(dir, 'shuffled-2'), records, 2, 5),
      shuffledLayout(join(dir, 'shuffled-3'), [...records].reverse(), 3, 13),
    ];
    // Each on its own tables, so they can run at once.
    const reports = await Promise.all(layouts.map(replay));
    for (const [i, report] of reports.entries()) {
      const layout = layouts[i]!;
      expect({ layout: layout.slice(dir.length + 1), ...comparable(report) }).toEqual({
        layout: layout.slice(dir.length + 1),
        ...comparable(reference),
      });
    }
  });
});
