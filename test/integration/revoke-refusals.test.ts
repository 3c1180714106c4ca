import { IAMClient } from '@aws-sdk/client-iam';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from '@jest/globals';
import { slackSender } from '../../lib/alert/index.js';
import { createDeps } from '../../lib/deps.js';
import { processRecord } from '../../lib/pipeline.js';
import { parseRegistryText } from '../../lib/registry/text.js';
import { RevocationRefused, revokeByHand } from '../../lib/revoke/manual.js';
import type { RevocationState } from '../../lib/revoke/policy.js';
import {
  liveRevoker,
  type RevocationDeps,
  reapplyRevocationPolicy,
  revoke,
  sweepRevocations,
} from '../../lib/revoke/service.js';
import { createRevocationStore, intentIdFor } from '../../lib/revoke/store.js';
import { createSessionStore } from '../../lib/sessions/index.js';
import { createSessionsTable, createTestTables } from '../helpers/dynamo.js';
import type { FakeServer } from '../helpers/fake-aws.js';
import { useLiveParts } from '../helpers/live-parts.js';
import { memoryLogger } from '../helpers/logger.js';
import { type EmulatedIam, ROLE_ID, vendorAssume } from '../helpers/revocation.js';

// Revocations that can never be applied are refused once, with their reason, and said in a critical alert; they are
// not deferred to a sweep that would retry them until the sessions expire.
const ACCOUNT = '111122223333';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/vendors/ExampleCorpAudit`;
const ELSEWHERE = 'arn:aws:iam::444455556666:role/vendors/ExampleCorpAudit';
const NOW = new Date('2026-11-02T10:10:00Z');

let doc: DynamoDBDocumentClient;
let iam: EmulatedIam;
let slack: FakeServer;
useLiveParts((parts) => {
  ({ doc, iam, slack } = parts);
});

async function world() {
  const config = await createTestTables(doc, await createSessionsTable(doc));
  const { logger, lines } = memoryLogger();
  const alerts: { roleArn: string; intentIds: string[]; message: string }[] = [];
  const revoking: RevocationDeps = {
    iam: new IAMClient({ region: 'us-east-1' }),
    dynamo: doc,
    store: createRevocationStore(doc, config.revocationsTable!),
    logger,
    retry: { baseMs: 1 },
    accountId: ACCOUNT,
    alert: async (notice) => void alerts.push(notice),
  };
  return { config, revoking, alerts, lines };
}

const session = (name: string): RevocationState => ({
  role: null,
  sessions: [
    { assumedRoleId: `${ROLE_ID}:${name}`, decidedAt: '2026-11-02T10:10:00Z', pruneAfter: '2026-11-02T11:00:00Z' },
  ],
});
const request = (roleArn: string, name: string) => ({
  intentId: intentIdFor('refusal', roleArn, name),
  roleArn,
  addition: session(name),
  source: { kind: 'manual' as const, requestedBy: null, reason: null },
  caller: null,
  dryRun: false,
});
// Another inline policy of the role that leaves no room, not even for the whole-role statement.
const crowd = () =>
  iam.policies.set(
    'ExampleCorpAudit/vendor-managed',
    JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::${'x'.repeat(10_100)}` }],
    }),
  );

describe('a revocation that does not fit even as a whole-role revocation', () => {
  it('is refused once with its reason, not deferred, and the assume flow says so in its critical alert', async () => {
    const { config, revoking } = await world();
    crowd();
    const deps = createDeps(config, {
      dynamo: doc,
      logger: memoryLogger().logger,
      registry: parseRegistryText(
        `serviceRoleArns: []\nprotectedRoleArns: []\nroles:\n  - roleArn: ${ROLE}\n    vendor: Example Corp\n    trustedAccounts: ["999988887777"]\n    externalIds: { current: "ec-7Hq2vN9xK4pL8mR3" }\n    response: revoke\n`,
        'r.yaml',
      ),
      senders: { slack: slackSender(`${slack.url}/services/T0/B0/secret`) },
      revoker: liveRevoker(revoking),
    });
    await processRecord(
      vendorAssume({ id: 'bad-1', time: '2026-11-02T10:05:00Z', session: 'odd', externalId: 'wrong-one' }),
      deps,
      { now: () => NOW },
    );
    // Nothing written: the write first tried without counting the other inline policies is refused by IAM.
    expect(iam.written()).toBe(0);
    const intent = await revoking.store.get(intentIdFor(ACCOUNT, 'bad-1', 'revoke-session'));
    expect(intent).toMatchObject({ state: 'refused', lastError: expect.stringContaining('does not fit') });
    // Nothing left for the sweep to retry.
    expect(await revoking.store.due(new Date('2026-11-02T10:30:00Z'))).toEqual([]);
    expect(slack.received).toHaveLength(1);
    const text = JSON.stringify(slack.received[0]!.body);
    expect(text).toContain('CRITICAL');
    expect(text).toContain('Not revoked: even revoking the whole role does not fit');
  });

  it('found by the sweep: refused and alerted once', async () => {
    const { revoking, alerts } = await world();
    // Recorded by a function that then died; the role filled up meanwhile.
    await revoking.store.record(
      { ...request(ROLE, 'left-over'), roleName: 'ExampleCorpAudit', createdAt: NOW.toISOString() },
      { dueAt: NOW },
    );
    crowd();
    expect(await sweepRevocations(revoking, new Date('2026-11-02T10:12:00Z'))).toMatchObject({ refused: 1 });
    expect(await sweepRevocations(revoking, new Date('2026-11-02T10:20:00Z'))).not.toHaveProperty('refused');
    expect(alerts).toEqual([
      {
        roleArn: ROLE,
        intentIds: [request(ROLE, 'left-over').intentId],
        message: expect.stringContaining('does not fit'),
      },
    ]);
    expect(iam.written()).toBe(0);
  });
});

describe('a role of another account', () => {
  it('is never written: refused with a clear reason, by the live path, the sweep, a manual revocation and a re-apply', async () => {
    const { config, revoking, alerts } = await world();
    const outcome = await revoke(revoking, request(ELSEWHERE, 'scan'), NOW);
    expect(outcome).toMatchObject({
      applied: false,
      refused: expect.stringContaining(
        'the role is in account 444455556666, but roleguard runs in account 111122223333',
      ),
      intent: { state: 'refused' },
    });
    expect(iam.mock.calls()).toHaveLength(0);
    // Asked again (a redelivery): still refused, still nothing written.
    expect(await revoke(revoking, request(ELSEWHERE, 'scan'), NOW)).toMatchObject({ refused: expect.any(String) });
    // An intent recorded earlier (by a deployment that did not check) is refused by the sweep, with an alert.
    await revoking.store.record(
      { ...request(ELSEWHERE, 'old'), roleName: 'ExampleCorpAudit', createdAt: NOW.toISOString() },
      { dueAt: NOW },
    );
    expect(await sweepRevocations(revoking, new Date('2026-11-02T10:12:00Z'))).toMatchObject({ refused: 1 });
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.message).toContain('account 444455556666');
    const sessions = createSessionStore(doc, config.sessionsTable, 90);
    await expect(
      revokeByHand(
        { ...revoking, sessions },
        { protectedRoleArns: [], serviceRoleArns: [] },
        { roleArn: ELSEWHERE, target: { all: true }, dryRun: false },
        NOW,
      ),
    ).rejects.toThrow(RevocationRefused);
    await expect(reapplyRevocationPolicy(revoking, ELSEWHERE, NOW)).rejects.toThrow(/account 444455556666/);
    expect(iam.mock.calls()).toHaveLength(0);
    // The same account's role is written as usual.
    expect(await revoke(revoking, request(ROLE, 'scan'), NOW)).toMatchObject({ applied: true });
  });
});
