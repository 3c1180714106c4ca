import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ensureTable } from '../../lib/local/tables.js';
import { createCoverageStore } from '../../lib/org/coverage-store.js';
import { registryTableDefinition } from '../../lib/registry/index.js';
import { runCli } from '../helpers/cli.js';
import { testDynamo, testEndpoint } from '../helpers/dynamo.js';

// `roleguard org status` on a store filled the way the sync, the canary and the capture function fill it.
const TABLE = `org-status-${Date.now()}`;
const HUB = '111122223333';
const MEMBER = '444455556666';
let doc: DynamoDBDocumentClient;
const saved = process.env.COLUMNS;

beforeAll(async () => {
  process.env.COLUMNS = '220';
  doc = testDynamo();
  await ensureTable(doc, registryTableDefinition(`${TABLE}-registry`));
  const store = createCoverageStore(doc, `${TABLE}-registry`);
  const at = '2026-11-02T09:00:00.000Z';
  for (const account of [HUB, MEMBER])
    for (const region of ['us-east-1', 'eu-west-1'])
      await store.noteSync(account, region, { expected: true, deployStatus: 'CURRENT', at });
  await store.noteSync('777788889999', 'us-east-1', { expected: false, deployStatus: 'CURRENT', at });
  await store.noteEvent(HUB, 'us-east-1', '2026-11-02T09:12:00Z', 'AssumeRole');
  await store.canarySent({ account: HUB, region: 'us-east-1' }, 'aaaaaa0001', '2026-11-02T09:10:00.000Z', null);
  await store.canaryBack(HUB, 'us-east-1', 'aaaaaa0001', '2026-11-02T09:10:05Z');
  await store.canarySent({ account: MEMBER, region: 'eu-west-1' }, 'bbbbbb0001', '2026-11-02T08:10:00.000Z', null);
  await store.openGap(MEMBER, 'eu-west-1', 'canary', 'the canary assume bbbbbb0001 did not come back', at);
});
afterAll(() => {
  doc?.destroy();
  if (saved === undefined) delete process.env.COLUMNS;
  else process.env.COLUMNS = saved;
});

const store = (table = TABLE) => ['--endpoint', testEndpoint(), '--table', table];

describe('roleguard org status', () => {
  it('shows accounts × Regions with the last event, the last canary and the gaps, and exits 3 on a gap', async () => {
    const { status, stdout, stderr } = await runCli(['org', 'status', ...store()]);
    expect(stderr).toBe('');
    expect(status).toBe(3);
    const lines = stdout.split('\n');
    expect(lines[0]).toMatch(/^account\s+Region\s+spokes\s+last event \(UTC\)\s+last canary \(UTC\)\s+gap$/);
    const row = (account: string, region: string) => lines.find((l) => l.startsWith(`${account}  ${region}`)) ?? '';
    expect(row(HUB, 'us-east-1')).toMatch(
      /CURRENT\s+2026-11-02T09:12:00Z AssumeRole\s+2026-11-02T09:10:00.000Z back 2026-11-02T09:10:05Z\s+-$/,
    );
    expect(row(MEMBER, 'eu-west-1')).toMatch(
      /none seen\s+2026-11-02T08:10:00.000Z not back\s+canary since 2026-11-02T09:00:00.000Z: the canary assume/,
    );
    expect(row(HUB, 'eu-west-1')).toMatch(/none seen\s+none yet\s+-$/);
    // An account the sync no longer expects is left out unless asked for.
    expect(stdout).not.toContain('777788889999');
    expect(stdout).toContain('2 accounts × 2 Regions: 1 with a coverage gap');
    expect((await runCli(['org', 'status', '--all', ...store()])).stdout).toContain('CURRENT (not expected)');
  });

  it('prints one JSON document with --json', async () => {
    const { status, stdout } = await runCli(['org', 'status', '--json', ...store()]);
    expect(status).toBe(3);
    const doc = JSON.parse(stdout);
    expect(doc.summary).toEqual({ accounts: 2, regions: 2, cells: 4, gaps: 1 });
    expect(doc.cells.find((c: any) => c.account === HUB && c.region === 'us-east-1')).toEqual({
      account: HUB,
      region: 'us-east-1',
      expected: true,
      spokes: 'CURRENT',
      syncedAt: '2026-11-02T09:00:00.000Z',
      lastEvent: { at: '2026-11-02T09:12:00Z', eventName: 'AssumeRole' },
      canary: {
        id: 'aaaaaa0001',
        sentAt: '2026-11-02T09:10:00.000Z',
        back: true,
        backAt: '2026-11-02T09:10:05Z',
        error: null,
      },
      gaps: [],
    });
    expect(doc.cells.find((c: any) => c.account === MEMBER && c.region === 'eu-west-1').gaps).toEqual([
      {
        source: 'canary',
        openedAt: '2026-11-02T09:00:00.000Z',
        reason: 'the canary assume bbbbbb0001 did not come back',
      },
    ]);
  });

  it('says so when there is no coverage state yet, and exits 0', async () => {
    const { status, stdout } = await runCli(['org', 'status', ...store(`${TABLE}-empty`)]);
    expect(status).toBe(0);
    expect(stdout).toContain('No coverage state yet');
  });
});
