import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { alertsTableDefinition, createOutbox } from '../../lib/alert/index.js';
import { type AssumeEvent, classifyRecord } from '../../lib/cloudtrail/index.js';
import type { Finding } from '../../lib/detect/types.js';
import { ensureTable } from '../../lib/local/tables.js';
import { createRevocationStore, revocationsTableDefinition } from '../../lib/revoke/store.js';
import { createSessionStore, sessionsTableDefinition } from '../../lib/sessions/index.js';
import { buildCli, runBuiltCli } from '../helpers/built-cli.js';
import { testDynamo, testEndpoint } from '../helpers/dynamo.js';
import { EVENTS_DIR, ROOT } from '../helpers/fixtures.js';
import { ROLE_ID, vendorAssume } from '../helpers/revocation.js';

// `roleguard findings`, `roleguard revocations` and the revoked mark of `roleguard sessions`, run as the built CLI
// against a store filled the way the service fills it.
const TABLE = `findings-cli-${Date.now()}`;
const ROLE = 'arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit';
const OTHER_ROLE = 'arn:aws:iam::111122223333:role/vendors/OtherVendor';
const now = Date.now();
const iso = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
let doc: DynamoDBDocumentClient;
const store = () => ['--endpoint', testEndpoint(), '--table', TABLE];
// Wide: each row on one line. The narrow default (100 columns when not a terminal) is checked on its own.
const cli = (args: string[], columns = '200') =>
  runBuiltCli([...args, ...store()], { ...process.env, COLUMNS: columns });
const fits = (text: string, width: number) => text.split('\n').every((line) => line.length <= width);
/** The text of a table's last column (from its header on), its folded lines joined again. */
const lastColumn = (table: string, header: string) => {
  const lines = table.split('\n');
  const at = lines[0]!.indexOf(header);
  return lines
    .slice(2)
    .map((l) => l.slice(at).trim())
    .filter(Boolean)
    .join(' ');
};

beforeAll(async () => {
  buildCli();
  doc = testDynamo();
  await ensureTable(doc, sessionsTableDefinition(TABLE));
  await ensureTable(doc, revocationsTableDefinition(`${TABLE}-revocations`));
  await ensureTable(doc, alertsTableDefinition(`${TABLE}-alerts`));
  const sessions = createSessionStore(doc, TABLE, 90);
  for (const [id, session, roleArn] of [
    ['f-a', 'scan-a', ROLE],
    ['f-b', 'scan-b', ROLE],
    ['f-c', 'scan-c', ROLE],
    ['f-o', 'other-1', OTHER_ROLE],
  ] as const)
    await sessions.record(
      classifyRecord(
        vendorAssume({
          id,
          time: iso(now - 20 * 60_000),
          session,
          externalId: null,
          roleArn,
          expiration: new Date(now + 40 * 60_000).toISOString(),
        }),
        { recordAwsServiceAssumes: false },
      ) as AssumeEvent,
      { processed: true, now: new Date() },
    );
  const revocations = createRevocationStore(doc, `${TABLE}-revocations`);
  const decidedAt = iso(now - 60_000);
  const pruneAfter = iso(now + 3600_000);
  const intent = (intentId: string, roleArn: string, addition: object, dryRun: boolean) => ({
    intentId,
    roleArn,
    roleName: roleArn.split('/').pop()!,
    addition: addition as never,
    source: { kind: 'finding' as const, eventId: intentId, findingKind: 'missing-external-id' },
    caller: null,
    dryRun,
    createdAt: new Date(now - 60_000).toISOString(),
  });
  const at = new Date(now - 60_000);
  await revocations.record(
    intent(
      'i-applied',
      ROLE,
      { role: null, sessions: [{ assumedRoleId: `${ROLE_ID}:scan-a`, decidedAt, pruneAfter }] },
      false,
    ),
    { dueAt: at },
  );
  await revocations.settle('i-applied', { state: 'applied', at, policyDocument: null, fellBack: false });
  await revocations.record(
    intent(
      'i-dry',
      ROLE,
      { role: null, sessions: [{ assumedRoleId: `${ROLE_ID}:scan-b`, decidedAt, pruneAfter }] },
      true,
    ),
    { dueAt: at },
  );
  await revocations.settle('i-dry', { state: 'dry-run', at, policyDocument: null, fellBack: false });
  await revocations.record(intent('i-pending', OTHER_ROLE, { role: { decidedAt, pruneAfter }, sessions: [] }, false), {
    dueAt: at,
  });
  await revocations.defer('i-pending', {
    error: 'AccessDenied: not authorized to perform iam:PutRolePolicy',
    retryAt: at,
  });
  const finding: Finding = {
    kind: 'missing-external-id',
    severity: 'critical',
    roleArn: ROLE,
    eventId: 'f-a',
    assumedRoleId: `${ROLE_ID}:scan-a`,
    callerAccountId: '999988887777',
    message: "999988887777 assumed Example Corp's role from another account without an external ID",
    context: {
      recipientAccountId: '111122223333',
      vendor: 'Example Corp',
      at: iso(now - 20 * 60_000),
      callerArn: null,
      callerType: 'AWSAccount',
      sourceIpAddress: '198.51.100.7',
      roleSessionName: 'scan-a',
      externalId: null,
      userAgent: null,
    },
  };
  await createOutbox(doc, `${TABLE}-alerts`).admit(
    finding,
    { action: 'revoked the session', nextStep: 'ask the vendor' },
    { now: new Date(now - 60_000), windowSeconds: 300, channels: [] },
  );
});
afterAll(() => doc.destroy());

describe('roleguard findings, revocations and sessions', () => {
  it('findings lists what the alert outbox holds, filtered by kind and role', () => {
    const listed = cli(['findings']);
    expect(listed.status).toBe(0);
    expect(listed.stderr).toBe('');
    expect(listed.stdout).toMatch(/^seen \(UTC\)\s+severity\s+kind\s+role/);
    expect(listed.stdout).toMatch(/critical\s+missing-external-id\s+ExampleCorpAudit\s+1\s+999988887777 assumed/);
    const narrow = cli(['findings'], '100').stdout;
    expect(fits(narrow, 100)).toBe(true);
    expect(lastColumn(narrow.split('\n(')[0]!, 'what happened')).toBe(
      "999988887777 assumed Example Corp's role from another account without an external ID",
    );
    expect(narrow).toMatch(/ ExampleCorpAudit /);
    const json = JSON.parse(cli(['findings', '--json']).stdout) as { kind: string; count: number; eventId: string }[];
    expect(json).toEqual([expect.objectContaining({ kind: 'missing-external-id', count: 1, eventId: 'f-a' })]);
    expect(cli(['findings', '--kind', 'denied-assume']).stdout).toBe('No finding.\n');
    expect(JSON.parse(cli(['findings', '--role', OTHER_ROLE, '--json']).stdout)).toEqual([]);
    expect(cli(['findings', '--role', 'nope']).status).toBe(2);
  });

  it('revocations lists every revocation with its state and why; --state filters', () => {
    const listed = cli(['revocations']);
    expect(listed.status).toBe(0);
    expect(listed.stdout).toMatch(
      /ExampleCorpAudit\s+AROA3XFRBF23EXAMPLE1:scan-a\s+applied\s+finding missing-external-id/,
    );
    expect(listed.stdout).toMatch(/OtherVendor\s+whole role\s+pending \(1 tries\)/);
    expect(listed.stdout).toContain('AccessDenied');
    expect(fits(cli(['revocations'], '100').stdout, 100)).toBe(true);
    const pending = JSON.parse(cli(['revocations', '--state', 'pending', '--json']).stdout) as { intentId: string }[];
    expect(pending.map((i) => i.intentId)).toEqual(['i-pending']);
    const bad = cli(['revocations', '--state', 'done']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--state must be one of');
  });

  it('sessions marks the sessions roleguard revoked, is revoking, or revoked in a dry run', () => {
    const json = JSON.parse(cli(['sessions', '--role', ROLE, '--json']).stdout) as {
      roleSessionName: string;
      revoked: { state: string; intentId: string } | null;
    }[];
    const byName = Object.fromEntries(json.map((s) => [s.roleSessionName, s.revoked]));
    expect(byName['scan-a']).toMatchObject({ state: 'applied', intentId: 'i-applied' });
    expect(byName['scan-b']).toMatchObject({ state: 'dry-run', intentId: 'i-dry' });
    expect(byName['scan-c']).toBeNull();
    const other = JSON.parse(cli(['sessions', '--role', OTHER_ROLE, '--json']).stdout) as { revoked: unknown }[];
    expect(other[0]!.revoked).toMatchObject({ state: 'pending' });
    const table = cli(['sessions', '--role', ROLE]).stdout;
    expect(table).toMatch(/scan-a.*\brevoked\b/m);
    expect(table).toMatch(/scan-b.*active, dry-run revoke/m);
    expect(table).toMatch(/scan-c.*\bactive\b/m);
    expect(table).toContain('203.0.113.'); // the source IP fits in 200 columns
    // In 100 columns the optional columns are left out, and the table says so.
    const narrow = cli(['sessions', '--role', ROLE], '100').stdout;
    expect(fits(narrow, 100)).toBe(true);
    expect(narrow).toMatch(/^\(left out to fit 100 columns: .*source IP; --json has every field\)$/m);
    expect(narrow).toMatch(/scan-a.*\brevoked$/m);
  });

  it('says when the store is in memory and so empty; --data-dir keeps it', () => {
    const memory = runBuiltCli(['findings']);
    expect(memory.status).toBe(0);
    expect(memory.stdout).toBe('No finding.\n');
    expect(memory.stderr).toMatch(/roleguard findings: note: the embedded DynamoDB Local is in memory/);
    const dir = mkdtempSync(join(tmpdir(), 'roleguard-findings-data-'));
    try {
      const kept = runBuiltCli(['revocations', '--data-dir', dir]);
      expect(kept.status).toBe(0);
      expect(kept.stdout).toBe('No revocation.\n');
      expect(kept.stderr).toBe('');
      // Every command that takes --data-dir keeps its data there: the registry imported is what audit reads next.
      const imported = runBuiltCli([
        'roles',
        'import',
        '--registry',
        join(EVENTS_DIR, 'registry.yaml'),
        '--data-dir',
        dir,
      ]);
      expect(imported.status).toBe(0);
      expect(imported.stderr).toBe('');
      const audit = runBuiltCli([
        'audit',
        '--data-dir',
        dir,
        '--authorization-details',
        join(ROOT, 'examples', 'authorization-details.json'),
      ]);
      expect(audit.stderr).toBe('');
      expect(audit.stdout).toContain('1 guarded roles; 1 ok');
      expect(audit.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);
});
