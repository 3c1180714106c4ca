import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { unwrapEventBridge } from '../../../lib/cloudtrail/envelope.js';
import { checkAssumeRecord, checkRoleChangeRecord, checkTrustChangeRecord } from '../../../lib/cloudtrail/schema.js';
import { assumeRecord } from '../../helpers/fixtures.js';
import {
  AssumeRecordSchema,
  describeIssues,
  EventBridgeSchema,
  RoleChangeRecordSchema,
  TrustChangeRecordSchema,
} from '../../helpers/zod-record-schemas.js';

// The hand-written check gives the same verdict and the same reason as the zod schemas it replaced, on valid
// records and on records with any field of any shape.
const odd = fc.oneof(
  fc.constantFrom<unknown>(undefined, null, true, 0, -1, 1.5, 2 ** 53, -(2 ** 60), '', [], {}, '900', '1234567890'),
  fc.constantFrom<unknown>('2026-10-01T00:00:00Z', '2026-02-30T00:00:00Z', '2026-10-01T00:00:00.5+01:00', 'yesterday'),
  fc.constantFrom<unknown>('111122223333', '12345', 'a/b', 'ok-name', 'AROA3XFRBF23EXAMPLE1', 'x'.repeat(70)),
  fc.constantFrom<unknown>('x'.repeat(5000), 'sts.amazonaws.com', 'iam.amazonaws.com', 'AssumeRole', 'CreateRole'),
  fc.string({ maxLength: 12 }),
  fc.integer(),
  fc.array(fc.oneof(fc.string({ maxLength: 3 }), fc.integer()), { maxLength: 2 }),
);
const PATHS = [
  'eventID',
  'eventTime',
  'eventSource',
  'eventName',
  'awsRegion',
  'recipientAccountId',
  'userAgent',
  'errorCode',
  'userIdentity',
  'userIdentity.type',
  'userIdentity.accountId',
  'userIdentity.sessionContext',
  'userIdentity.sessionContext.sessionIssuer',
  'userIdentity.sessionContext.sessionIssuer.arn',
  'requestParameters',
  'requestParameters.roleArn',
  'requestParameters.roleName',
  'requestParameters.policyName',
  'requestParameters.externalId',
  'requestParameters.durationSeconds',
  'responseElements',
  'responseElements.credentials',
  'responseElements.credentials.expiration',
  'responseElements.role',
  'responseElements.role.roleId',
];

function mutate(base: Record<string, unknown>, edits: [string, unknown][]): Record<string, unknown> {
  const record = structuredClone(base);
  for (const [path, value] of edits) {
    const keys = path.split('.');
    let at: Record<string, unknown> = record;
    for (const key of keys.slice(0, -1)) {
      if (typeof at[key] !== 'object' || at[key] === null || Array.isArray(at[key])) at[key] = {};
      at = at[key] as Record<string, unknown>;
    }
    if (value === undefined) delete at[keys.at(-1)!];
    else at[keys.at(-1)!] = value;
  }
  return record;
}

const zodReason = (schema: typeof AssumeRecordSchema | typeof TrustChangeRecordSchema, record: unknown) => {
  const parsed = (schema as typeof AssumeRecordSchema).safeParse(record);
  return parsed.success ? null : describeIssues(parsed.error);
};
const reason = (checked: { success: boolean; reason?: string }) => (checked.success ? null : checked.reason);

const trust = mutate(assumeRecord(), [
  ['eventSource', 'iam.amazonaws.com'],
  ['eventName', 'UpdateAssumeRolePolicy'],
  ['requestParameters', { roleName: 'ExampleCorpAudit', policyDocument: '{}' }],
]);
const roleChange = mutate(trust, [
  ['eventName', 'CreateRole'],
  ['responseElements', { role: { roleId: 'AROA3XFRBF23EXAMPLE1', assumeRolePolicyDocument: '{}' } }],
]);

describe('the hand-written record check', () => {
  const edits = fc.array(fc.tuple(fc.constantFrom(...PATHS), odd), { minLength: 0, maxLength: 4 });
  it.each([
    ['assume', assumeRecord(), AssumeRecordSchema, checkAssumeRecord],
    ['trust-policy change', trust, TrustChangeRecordSchema, checkTrustChangeRecord],
    ['role change', roleChange, RoleChangeRecordSchema, checkRoleChangeRecord],
  ] as const)('gives the zod schema’s verdict and reason on an %s record with any fields', (_, base, schema, check) => {
    expect(reason(check(base))).toBeNull();
    fc.assert(
      fc.property(edits, (list) => {
        const record = mutate(base, list);
        expect(reason(check(record))).toBe(zodReason(schema as typeof AssumeRecordSchema, record));
      }),
      { numRuns: 2000, seed: 16 },
    );
  });

  it('names the fields the classify tests rely on', () => {
    const reasonOf = (edits: [string, unknown][]) => reason(checkAssumeRecord(mutate(assumeRecord(), edits)));
    expect(reasonOf([['eventID', undefined]])).toBe('eventID: missing');
    expect(reasonOf([['eventID', 42]])).toBe('eventID: Invalid input: expected string, received number');
    expect(reasonOf([['eventTime', '2026-13-02T09:15:04Z']])).toBe('eventTime: not a valid CloudTrail timestamp');
    expect(reasonOf([['userIdentity', null]])).toBe('userIdentity: Invalid input: expected object, received null');
    expect(reasonOf([['requestParameters.durationSeconds', 'forever']])).toBe(
      'requestParameters.durationSeconds: not a whole number',
    );
    expect(reasonOf([['userAgent', 'u'.repeat(5000)]])).toBe('userAgent: longer than 4096 characters');
  });

  it('gives both of zod’s reasons for a whole number below the safe range', () => {
    const record = mutate(assumeRecord(), [['requestParameters.durationSeconds', -1e20]]);
    const expected =
      'requestParameters.durationSeconds: Too small: expected int to be >=-9007199254740991; ' +
      'requestParameters.durationSeconds: Too small: expected number to be >=0';
    expect(zodReason(AssumeRecordSchema, record)).toBe(expected);
    expect(reason(checkAssumeRecord(record))).toBe(expected);
  });
});

describe('the EventBridge envelope check', () => {
  const event = {
    version: '0',
    id: 'e1',
    'detail-type': 'AWS API Call via CloudTrail',
    source: 'aws.sts',
    account: '111122223333',
    time: '2026-11-02T09:15:04Z',
    region: 'us-east-1',
    resources: [],
    detail: assumeRecord(),
  };
  const keys = ['version', 'id', 'source', 'account', 'time', 'region', 'resources', 'detail-type', 'replay-name'];
  it('gives the reasons of Powertools’ EventBridge schema', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(...keys), odd), { maxLength: 3 }), (list) => {
        const doc = mutate(event, list);
        const parsed = EventBridgeSchema.safeParse(doc);
        const item = unwrapEventBridge(doc, 'f');
        if (parsed.success) expect('rejected' in item ? item.rejected : '').not.toMatch(/invalid EventBridge/);
        else
          expect(item).toEqual({ source: 'f', rejected: `invalid EventBridge event: ${describeIssues(parsed.error)}` });
      }),
      { numRuns: 1000, seed: 16 },
    );
  });
});
