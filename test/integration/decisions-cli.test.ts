import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ensureTable } from '../../lib/local/tables.js';
import { createDecisionStore, decisionsTableDefinition } from '../../lib/slack-actions/index.js';
import { runCli } from '../helpers/cli.js';
import { testDynamo, testEndpoint } from '../helpers/dynamo.js';

// `roleguard decisions`, in-process, against decisions recorded in DynamoDB Local as the action function records them.
const TABLE = `decisions-cli-${Date.now()}`;
const ROLE = 'arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit';
let doc: DynamoDBDocumentClient;

const run = (args: string[]) => runCli(['decisions', ...args, '--endpoint', testEndpoint(), '--table', TABLE]);

beforeAll(async () => {
  doc = testDynamo();
  await ensureTable(doc, decisionsTableDefinition(`${TABLE}-decisions`));
  const store = createDecisionStore(doc, `${TABLE}-decisions`);
  const base = { roleArn: ROLE, findingKind: 'unexpected-external-id', eventId: 'ev-1', userName: 'ana' };
  const claimed = await store.claim(
    { ...base, alertId: '0123456789abcdef0123', action: 'revoke-session', userId: 'UAUDIT001', at: '' },
    new Date('2026-11-02T23:50:00Z'),
  );
  if ('taken' in claimed) throw new Error('unexpected');
  await store.settle(claimed, { status: 'done', outcome: 'Revoked session AROA3XFRBF23EXAMPLE1:scan', dryRun: false });
  await store.refuse({
    ...base,
    alertId: '0123456789abcdef0123',
    action: 'revoke-role',
    userId: 'UNOBODY01',
    userName: null,
    at: '2026-11-02T23:51:00.000Z',
    outcome: 'you are not an approver',
  });
  // A request nonce is not a decision.
  await store.takeRequest('v0=abc', new Date('2026-11-02T23:52:00Z'));
});
afterAll(() => doc.destroy());

describe('roleguard decisions', () => {
  it('lists the audit trail newest first, as JSON: who, what, when, the finding, the outcome', async () => {
    const { status, stdout } = await run(['--json']);
    expect(status).toBe(0);
    const listed = JSON.parse(stdout);
    expect(listed).toHaveLength(2);
    expect(listed[0]).toMatchObject({
      userId: 'UNOBODY01',
      action: 'revoke-role',
      status: 'refused',
      at: '2026-11-02T23:51:00.000Z',
    });
    expect(listed[1]).toMatchObject({
      userId: 'UAUDIT001',
      userName: 'ana',
      action: 'revoke-session',
      status: 'done',
      at: '2026-11-02T23:50:00.000Z',
      alertId: '0123456789abcdef0123',
      roleArn: ROLE,
      findingKind: 'unexpected-external-id',
      outcome: 'Revoked session AROA3XFRBF23EXAMPLE1:scan',
    });
  });

  it('prints a table, and filters by time', async () => {
    const { status, stdout } = await run([]);
    expect(status).toBe(0);
    expect(stdout.split('\n')[0]).toMatch(/^when\s+who\s+what\s+finding\s+role\s+status\s+outcome$/);
    expect(stdout).toContain('ana (UAUDIT001)');
    const since = await run(['--since', '2026-11-02T23:50:30Z', '--json']);
    expect(JSON.parse(since.stdout).map((d: { userId: string }) => d.userId)).toEqual(['UNOBODY01']);
    expect((await run(['--since', 'yesterday'])).status).toBe(2);
  });
});
