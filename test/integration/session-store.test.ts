import { type DynamoDBDocumentClient, GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type AssumeEvent, classifyRecord } from '../../lib/cloudtrail/index.js';
import { createSessionStore, type SessionStore, sessionKey } from '../../lib/sessions/index.js';
import { createSessionsTable, testDynamo } from '../helpers/dynamo.js';
import { assumeRecord } from '../helpers/fixtures.js';

let doc: DynamoDBDocumentClient;
let table: string;
let store: SessionStore;
const now = new Date('2026-11-02T09:15:05Z');

// Without a sharedEventID (a same-account assume) unless a test gives one: each event is its own item, keyed by
// account and event id (cross-account copies sharing one are the subject of shared-event.test.ts).
function event(overrides: Record<string, unknown> = {}, response: Record<string, unknown> = {}): AssumeEvent {
  const record = assumeRecord({ sharedEventID: null, ...overrides });
  const elements = record.responseElements as { credentials: Record<string, unknown> } | null;
  if (elements) Object.assign(elements.credentials, response);
  const result = classifyRecord(record, { recordAwsServiceAssumes: false });
  if (result.kind !== 'assume') throw new Error(`fixture did not classify: ${JSON.stringify(result)}`);
  return result;
}

beforeAll(async () => {
  doc = testDynamo();
  table = await createSessionsTable(doc, { ttl: true });
  store = createSessionStore(doc, table, 90);
});
afterAll(() => doc.destroy());

describe('session store on DynamoDB Local', () => {
  it('records a new event once and tells the caller when it sees it again', async () => {
    const e = event({ eventID: 'once' });
    expect(await store.record(e, { processed: true, now })).toBe('new');
    expect(await store.record(e, { processed: true, now })).toBe('duplicate');
    const { Item } = await doc.send(
      new GetCommand({ TableName: table, Key: { pk: sessionKey('111122223333', 'once') } }),
    );
    expect(Item).toMatchObject({
      roleArn: e.roleArn,
      externalId: 'ec-7Hq2vN9xK4pL8mR3',
      state: 'done',
      recordedAt: now.toISOString(),
    });
  });

  it('keeps one item when the same event arrives three times at once', async () => {
    const e = event({ eventID: 'concurrent' });
    const outcomes = await Promise.all([1, 2, 3].map(() => store.record(e, { processed: true, now })));
    expect(outcomes.filter((o) => o === 'new')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'duplicate')).toHaveLength(2);
    const { Items } = await doc.send(
      new ScanCommand({
        TableName: table,
        FilterExpression: 'eventId = :e',
        ExpressionAttributeValues: { ':e': 'concurrent' },
      }),
    );
    expect(Items).toHaveLength(1);
  });

  it('treats the same eventID in another recipient account as another event when no sharedEventID ties them', async () => {
    const a = event({ eventID: 'shared-id' });
    const b = event({ eventID: 'shared-id', recipientAccountId: '999988887777' });
    expect(await store.record(a, { processed: true, now })).toBe('new');
    expect(await store.record(b, { processed: true, now })).toBe('new');
  });

  it("records the other account's copy of a cross-account assume (same sharedEventID) as that copy, not anew", async () => {
    const a = event({ eventID: 'owner-copy', sharedEventID: 'tie-1' });
    const b = event({ eventID: 'caller-copy', sharedEventID: 'tie-1', recipientAccountId: '999988887777' });
    expect(await store.record(a, { processed: true, now })).toBe('new');
    expect(await store.record(b, { processed: true, now })).toEqual({
      decidedBy: { recipientAccountId: '111122223333', eventId: 'owner-copy' },
    });
    // The same account with another event id is not a copy of that assume: recorded on its own, never dropped.
    const c = event({ eventID: 'not-a-copy', sharedEventID: 'tie-1' });
    expect(await store.record(c, { processed: true, now })).toBe('new');
    expect(await store.record(c, { processed: true, now })).toBe('duplicate');
  });

  it('reports an event recorded but never finished as unfinished, until it is marked processed', async () => {
    const e = event({ eventID: 'crashed-midway' });
    expect(await store.record(e, { processed: false, now })).toBe('new');
    expect(await store.record(e, { processed: true, now })).toBe('unfinished');
    await store.markProcessed(e);
    expect(await store.record(e, { processed: true, now })).toBe('duplicate');
  });

  it('sets the TTL to the session expiry plus the retention period, or the longest session when expiry is unknown', async () => {
    const known = event({ eventID: 'ttl-known' });
    const unknown = event({ eventID: 'ttl-unknown' }, { expiration: 'unreadable' });
    await store.record(known, { processed: true, now });
    await store.record(unknown, { processed: true, now });
    const ttl = async (id: string) =>
      (await doc.send(new GetCommand({ TableName: table, Key: { pk: sessionKey('111122223333', id) } }))).Item?.ttl;
    expect(await ttl('ttl-known')).toBe(Date.parse('2026-11-02T10:15:04Z') / 1000 + 90 * 86400);
    expect(await ttl('ttl-unknown')).toBe(Date.parse('2026-11-02T21:15:04Z') / 1000 + 90 * 86400);
  });

  describe('incident queries', () => {
    const role = 'arn:aws:iam::111122223333:role/vendors/QueryRole';
    beforeAll(async () => {
      const at = (i: number) => `2026-11-0${i}T12:00:00Z`;
      for (let i = 1; i <= 4; i++) {
        const e = event(
          {
            eventID: `q${i}`,
            eventTime: at(i),
            requestParameters: { roleArn: role, roleSessionName: `s${i}`, externalId: 'ec-7Hq2vN9xK4pL8mR3' },
          },
          { accessKeyId: `ASIAQUERY0000000000${i}` },
        );
        await store.record(e, { processed: true, now });
      }
      const denied = event({
        eventID: 'q-denied',
        eventTime: '2026-11-05T00:00:00Z',
        errorCode: 'AccessDenied',
        requestParameters: null,
        responseElements: null,
        userIdentity: { type: 'IAMUser', accountId: '444455556666', arn: 'arn:aws:iam::444455556666:user/eve' },
        errorMessage: `User: arn:aws:iam::444455556666:user/eve is not authorized to perform: sts:AssumeRole on resource: ${role}`,
      });
      await store.record(denied, { processed: true, now });
    });

    it('by role over a time range, in time order', async () => {
      const all = await store.byRole(role);
      expect(all.map((s) => s.eventId)).toEqual(['q1', 'q2', 'q3', 'q4', 'q-denied']);
      const window = await store.byRole(role, { from: '2026-11-02T00:00:00Z', to: '2026-11-03T12:00:00Z' });
      expect(window.map((s) => s.eventId)).toEqual(['q2', 'q3']);
    });

    it('by access key: whose is ASIA…?', async () => {
      const [hit, ...rest] = await store.byAccessKey('ASIAQUERY00000000003');
      expect(rest).toEqual([]);
      expect(hit).toMatchObject({
        eventId: 'q3',
        roleArn: role,
        roleSessionName: 's3',
        callerAccountId: '999988887777',
        outcome: 'success',
      });
    });

    it('by caller account', async () => {
      const eve = await store.byCallerAccount('444455556666');
      expect(eve).toEqual([
        expect.objectContaining({ eventId: 'q-denied', outcome: 'denied', accessKeyId: null, assumedRoleId: null }),
      ]);
      const vendor = await store.byCallerAccount('999988887777', { from: '2026-11-04T00:00:00Z' });
      expect(vendor.map((s) => s.eventId)).toEqual(['q4']);
    });
  });
});
