import { IAMClient } from '@aws-sdk/client-iam';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from '@jest/globals';
import { slackSender } from '../../lib/alert/index.js';
import { classifyRecord } from '../../lib/cloudtrail/classify.js';
import { createDeps } from '../../lib/deps.js';
import { processRecord } from '../../lib/pipeline.js';
import { parseRegistryText } from '../../lib/registry/text.js';
import { revokeByHand } from '../../lib/revoke/manual.js';
import {
  EMPTY_STATE,
  mergeRevocations,
  policySize,
  ROLE_INLINE_POLICY_BUDGET,
  renderRevocationPolicy,
} from '../../lib/revoke/policy.js';
import { sessionRevocation } from '../../lib/revoke/respond.js';
import { liveRevoker } from '../../lib/revoke/service.js';
import { createRevocationStore } from '../../lib/revoke/store.js';
import { createSessionsTable, createTestTables } from '../helpers/dynamo.js';
import type { FakeServer } from '../helpers/fake-aws.js';
import { useLiveParts } from '../helpers/live-parts.js';
import { memoryLogger } from '../helpers/logger.js';
import { accessKeyOf, type EmulatedIam, ROLE_ID, sessionDecision, vendorAssume } from '../helpers/revocation.js';

// The vendor reuses one session name, and a confused-deputy session comes through the vendor with that name: the
// whole assume flow on DynamoDB Local, IAM emulated, each policy judged by an IAM evaluator.
const ROLE = 'arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit';
const GOOD = 'ec-7Hq2vN9xK4pL8mR3';
const WRONG = 'tenant-4711-of-example-corp';
const REGISTRY = `
serviceRoleArns: ["arn:aws:iam::111122223333:role/roleguard-*"]
protectedRoleArns: []
roles:
  - roleArn: ${ROLE}
    vendor: Example Corp
    trustedAccounts: ["999988887777"]
    externalIds: { current: "${GOOD}" }
    response: revoke
`;

let doc: DynamoDBDocumentClient;
let iam: EmulatedIam;
let slack: FakeServer;
useLiveParts((parts) => {
  ({ doc, iam, slack } = parts);
});

async function world() {
  const config = await createTestTables(doc, await createSessionsTable(doc), { dryRun: false });
  const { logger } = memoryLogger();
  const store = createRevocationStore(doc, config.revocationsTable!);
  const revoker = liveRevoker({ iam: new IAMClient({ region: 'us-east-1' }), dynamo: doc, store, logger });
  const deps = createDeps(config, {
    dynamo: doc,
    logger,
    registry: parseRegistryText(REGISTRY, 'r.yaml'),
    revoker,
    senders: { slack: slackSender(`${slack.url}/services/T0/B0/secret`) },
  });
  // CloudTrail delivers each event about 7 minutes after it happened.
  return (record: Record<string, unknown>) =>
    processRecord(record, deps, {
      now: (e) => new Date(Date.parse('issuedAt' in e ? e.issuedAt : e.eventTime) + 7 * 60_000),
    });
}

describe('revoking a session whose name the vendor reuses', () => {
  it("denies the offending session and spares the vendor's sessions of the same name, earlier and later", async () => {
    const process = await world();
    // The vendor's own session, with the registered ID, 20 minutes before.
    await process(vendorAssume({ id: 'good-1', time: '2026-11-02T09:45:00Z', session: 'scanner', externalId: GOOD }));
    const outcome = await process(
      vendorAssume({ id: 'bad-1', time: '2026-11-02T10:05:00Z', session: 'scanner', externalId: WRONG }),
    );
    expect('findings' in outcome && outcome.findings.map((f) => f.kind)).toEqual(['unexpected-external-id']);
    const policy = iam.policy('ExampleCorpAudit');
    expect(await sessionDecision(policy, 'scanner', '2026-11-02T09:45:00.250Z')).toBe('Allowed');
    expect(await sessionDecision(policy, 'scanner', '2026-11-02T10:05:00.734Z')).toBe('Denied');
    expect(await sessionDecision(policy, 'scanner', '2026-11-02T10:05:03Z')).toBe('Denied');
    // Issued during CloudTrail's delivery delay, and after the decision: the vendor's, allowed.
    expect(await sessionDecision(policy, 'scanner', '2026-11-02T10:08:00Z')).toBe('Allowed');
    expect(await sessionDecision(policy, 'scanner', '2026-11-02T10:13:00Z')).toBe('Allowed');
    // The alert says whom the deny covers.
    expect(JSON.stringify(slack.received.at(-1)!.body)).toContain(
      'its tokens issued from 2026-11-02T10:04:55Z to 2026-11-02T10:05:05Z, its own issue time give or take 5 seconds',
    );
  });

  it('denies everything of a name used once issued up to the minute after the offending one, nothing later', async () => {
    const process = await world();
    await process(vendorAssume({ id: 'good-1', time: '2026-11-02T09:45:00Z', session: 'scanner', externalId: GOOD }));
    await process(vendorAssume({ id: 'bad-1', time: '2026-11-02T10:05:00Z', session: 'odd-one', externalId: WRONG }));
    const policy = iam.policy('ExampleCorpAudit');
    expect(await sessionDecision(policy, 'odd-one', '2026-11-02T10:05:00.734Z')).toBe('Denied');
    // Earlier sessions of that name (none was recorded) and those of the same minute: denied. A later one, even
    // issued during the delivery delay (it may be the vendor's, not yet recorded when the name was checked): allowed.
    expect(await sessionDecision(policy, 'odd-one', '2026-11-02T09:30:00Z')).toBe('Denied');
    expect(await sessionDecision(policy, 'odd-one', '2026-11-02T10:05:59Z')).toBe('Denied');
    expect(await sessionDecision(policy, 'odd-one', '2026-11-02T10:07:00Z')).toBe('Allowed');
    expect(await sessionDecision(policy, 'odd-one', '2026-11-02T10:09:00Z')).toBe('Allowed');
    expect(await sessionDecision(policy, 'odd-one', '2026-11-02T10:12:01Z')).toBe('Allowed');
    expect(await sessionDecision(policy, 'scanner', '2026-11-02T09:45:00Z')).toBe('Allowed');
  });

  it('coarsens used-once ends when the policy is full, instead of revoking the whole role, and says until when', async () => {
    const process = await world();
    // 39 names used once, each issued in a minute of its own: one statement each, the policy nearly full.
    const seeded = mergeRevocations(
      EMPTY_STATE,
      ...Array.from({ length: 39 }, (_, i) => {
        const issuedAt = new Date(Date.parse('2026-11-02T09:00:30Z') + i * 60_000).toISOString();
        return sessionRevocation({
          assumedRoleId: `${ROLE_ID}:ExampleCorp-${1793610000 + i}`,
          issuedAt,
          expiresAt: new Date(Date.parse(issuedAt) + 12 * 3600_000).toISOString(),
          nameShared: false,
          now: new Date('2026-11-02T10:00:00Z'),
        });
      }),
    );
    const seededPolicy = renderRevocationPolicy(seeded)!;
    expect(policySize(seededPolicy)).toBeLessThanOrEqual(ROLE_INLINE_POLICY_BUDGET);
    iam.policies.set('ExampleCorpAudit/roleguard-revocations', JSON.stringify(seededPolicy));
    await process(vendorAssume({ id: 'bad-1', time: '2026-11-02T10:05:00Z', session: 'odd-one', externalId: WRONG }));
    const policy = iam.policy('ExampleCorpAudit');
    expect(JSON.stringify(policy)).not.toContain('RoleguardRoleUntil');
    expect(await sessionDecision(policy, 'odd-one', '2026-11-02T10:05:00.734Z')).toBe('Denied');
    for (let i = 0; i < 39; i++)
      expect(
        await sessionDecision(
          policy,
          `ExampleCorp-${1793610000 + i}`,
          new Date(Date.parse('2026-11-02T09:00:30.5Z') + i * 60_000).toISOString(),
        ),
      ).toBe('Denied');
    // Coarsened to 5 minutes: a same-name session issued before 10:10 is denied too; one issued after it is not.
    expect(await sessionDecision(policy, 'odd-one', '2026-11-02T10:09:59Z')).toBe('Denied');
    expect(await sessionDecision(policy, 'odd-one', '2026-11-02T10:10:00Z')).toBe('Allowed');
    // The vendor's other sessions of the role: allowed (no whole-role revocation).
    expect(await sessionDecision(policy, 'scanner', '2026-11-02T10:05:00Z')).toBe('Allowed');
    expect(JSON.stringify(slack.received.at(-1)!.body)).toContain('its tokens issued before 2026-11-02T10:10:00Z');
  });

  it('a manual revocation by access key denies that one session when its name is shared', async () => {
    const config = await createTestTables(doc, await createSessionsTable(doc), { dryRun: false });
    const { logger } = memoryLogger();
    const deps = createDeps(config, { dynamo: doc, logger, registry: parseRegistryText(REGISTRY, 'r.yaml') });
    for (const [id, time] of [
      ['good-1', '2026-11-02T09:45:00Z'],
      ['bad-1', '2026-11-02T10:05:00Z'],
    ] as const) {
      const event = classifyRecord(vendorAssume({ id, time, session: 'scanner', externalId: GOOD }), {
        recordAwsServiceAssumes: false,
      });
      if (event.kind !== 'assume') throw new Error('not an assume');
      await deps.sessions.record(event, { processed: true, now: new Date(time) });
    }
    const revoking = {
      iam: new IAMClient({ region: 'us-east-1' }),
      dynamo: doc,
      store: createRevocationStore(doc, config.revocationsTable!),
      logger,
      sessions: deps.sessions,
    };
    await revokeByHand(
      revoking,
      { protectedRoleArns: [], serviceRoleArns: [] },
      { roleArn: ROLE, target: { accessKeyId: accessKeyOf('bad-1') }, dryRun: false },
      new Date('2026-11-02T10:20:00Z'),
    );
    const policy = iam.policy('ExampleCorpAudit');
    expect(await sessionDecision(policy, 'scanner', '2026-11-02T10:05:00.600Z')).toBe('Denied');
    expect(await sessionDecision(policy, 'scanner', '2026-11-02T09:45:00Z')).toBe('Allowed');
    expect(await sessionDecision(policy, 'scanner', '2026-11-02T10:15:00Z')).toBe('Allowed');
  });
});
