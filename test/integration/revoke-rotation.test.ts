import { IAMClient } from '@aws-sdk/client-iam';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { classifyRecord } from '../../lib/cloudtrail/classify.js';
import { parseRegistryText } from '../../lib/registry/text.js';
import { createRevocationStore } from '../../lib/revoke/store.js';
import { revokeOldSessionsWith } from '../../lib/rotate/revoke-old.js';
import type { Rotation } from '../../lib/rotate/store.js';
import { createSessionStore } from '../../lib/sessions/index.js';
import { createSessionsTable, createTestTables, testDynamo } from '../helpers/dynamo.js';
import { memoryLogger } from '../helpers/logger.js';
import { type EmulatedIam, emulateIam, sessionDecision, vendorAssume } from '../helpers/revocation.js';

// At a rotation's finish, the sessions issued with the old ID are revoked; the vendor reuses one session name, so its
// new-ID sessions carry the same `aws:userid`. Sessions recorded in DynamoDB Local, IAM emulated, the evaluator judges.
const ROLE = 'arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit';
const OLD = 'ec-OLD-2025-a1b2c3';
const NEW = 'ec-NEW-2026-z9y8x7';
const registry = parseRegistryText(
  `
serviceRoleArns: []
protectedRoleArns: []
roles:
  - roleArn: ${ROLE}
    vendor: Example Corp
    trustedAccounts: ["999988887777"]
    externalIds: { current: "${NEW}", retired: ["${OLD}"] }
    response: revoke
`,
  'r.yaml',
);

let doc: DynamoDBDocumentClient;
let iam: EmulatedIam;
beforeAll(() => {
  doc = testDynamo();
  iam = emulateIam();
});
afterAll(() => {
  iam.restore();
  doc.destroy();
});

describe("revoking old-ID sessions at a rotation's finish", () => {
  it("denies the old-ID sessions and spares the vendor's new-ID sessions of the same name, even undelivered ones", async () => {
    const config = await createTestTables(doc, await createSessionsTable(doc));
    const sessions = createSessionStore(doc, config.sessionsTable, 90);
    const at = (hhmm: string) => `2026-11-02T${hhmm}:00Z`;
    const assumes: [string, string, string][] = [
      ['new-0', at('09:00'), NEW],
      ['old-1', at('10:00'), OLD],
      ['new-1', at('10:10'), NEW],
      ['old-2', at('10:20'), OLD],
      ['old-3', at('10:21'), OLD],
      ['new-2', at('10:40'), NEW],
    ];
    for (const [id, time, externalId] of assumes) {
      const event = classifyRecord(vendorAssume({ id, time, session: 'scanner', externalId }), {
        recordAwsServiceAssumes: false,
      });
      if (event.kind !== 'assume') throw new Error(`not an assume: ${id}`);
      await sessions.record(event, { processed: true, now: new Date(time) });
    }
    const revokeOld = revokeOldSessionsWith(
      {
        iam: new IAMClient({ region: 'us-east-1' }),
        dynamo: doc,
        store: createRevocationStore(doc, config.revocationsTable!),
        logger: memoryLogger().logger,
      },
      sessions,
      false,
    );
    const rotation = { roleArn: ROLE, rotationId: 'rot-1', previousId: OLD } as Rotation;
    const said = await revokeOld(registry.roles[0]!, rotation, new Date(at('10:50')));
    expect(said).toBe('3 sessions issued with the old ID revoked');
    const policy = iam.policy('ExampleCorpAudit');
    for (const old of ['10:00', '10:20', '10:21'])
      expect([old, await sessionDecision(policy, 'scanner', `2026-11-02T${old}:00.400Z`)]).toEqual([old, 'Denied']);
    // The new-ID sessions, recorded (before, between, after) and one CloudTrail has not delivered yet (10:45).
    for (const fresh of ['09:00', '10:10', '10:40', '10:45'])
      expect([fresh, await sessionDecision(policy, 'scanner', at(fresh))]).toEqual([fresh, 'Allowed']);
    // 10:20 and 10:21 with no new-ID session between them: one statement for both, two in all.
    expect((policy as { Statement: unknown[] }).Statement).toHaveLength(2);
  });
});
