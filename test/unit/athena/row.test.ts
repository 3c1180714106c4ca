import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { athenaRowToRecord, isAthenaRow } from '../../../lib/athena/row.js';
import { classifyRecord } from '../../../lib/cloudtrail/classify.js';
import { unwrapDocument } from '../../../lib/cloudtrail/envelope.js';
import { recordToAthenaRow } from '../../helpers/athena.js';
import { EVENTS_DIR, loadJson, SAMPLES_DIR, sampleFiles } from '../../helpers/fixtures.js';

const OPTIONS = { recordAwsServiceAssumes: false };

/** Every record of the published samples and of events/, with where it came from. */
function allRecords(): { source: string; record: Record<string, unknown> }[] {
  const files = [
    ...sampleFiles().map((f) => join(SAMPLES_DIR, f)),
    join(EVENTS_DIR, 'eventbridge-assume-role-vendor.json'),
    join(EVENTS_DIR, 'eventbridge-assume-role-wrong-external-id.json'),
    join(EVENTS_DIR, 'eventbridge-update-assume-role-policy.json'),
  ];
  return files.flatMap((file) =>
    [...unwrapDocument(loadJson(file), file)].flatMap((item) =>
      'record' in item && typeof item.record === 'object' && item.record !== null
        ? [{ source: item.source, record: item.record as Record<string, unknown> }]
        : [],
    ),
  );
}

describe('Athena rows turned back into CloudTrail records', () => {
  const records = allRecords();

  it('covers every published sample', () => {
    expect(records.length).toBeGreaterThanOrEqual(sampleFiles().length);
  });

  it.each([
    ['roleguard athena setup', false],
    ["AWS's documented table", true],
  ])('classify exactly as the original record, for a table made by %s', (_name, documented) => {
    for (const { source, record } of records) {
      const row = recordToAthenaRow(record, documented);
      expect({ source, isRow: isAthenaRow(row) }).toEqual({ source, isRow: true });
      const back = athenaRowToRecord(row);
      if (!('record' in back)) throw new Error(`${source}: ${back.rejected}`);
      expect({ source, classified: classifyRecord(back.record, OPTIONS) }).toEqual({
        source,
        classified: classifyRecord(record, OPTIONS),
      });
    }
  });

  it('restores names, JSON columns and readOnly, and leaves out partition columns', () => {
    const row = {
      eventtime: '2026-01-02T03:04:05Z',
      eventid: 'e-1',
      eventsource: 'sts.amazonaws.com',
      eventname: 'AssumeRole',
      sourceipaddress: '203.0.113.7',
      readonly: 'true',
      requestparameters: '{"roleArn":"arn:aws:iam::111122223333:role/R","externalId":"ec-1"}',
      useridentity: { type: 'AWSAccount', principalid: 'AIDA', accountid: '999988887777', unknownfield: 'x' },
      resources: [{ arn: 'arn:aws:iam::111122223333:role/R', accountid: '111122223333', type: 'AWS::IAM::Role' }],
      account: '111122223333',
      region: 'us-east-1',
      day: '2026/01/02',
    };
    expect(athenaRowToRecord(row)).toEqual({
      record: {
        eventTime: '2026-01-02T03:04:05Z',
        eventID: 'e-1',
        eventSource: 'sts.amazonaws.com',
        eventName: 'AssumeRole',
        sourceIPAddress: '203.0.113.7',
        readOnly: true,
        requestParameters: { roleArn: 'arn:aws:iam::111122223333:role/R', externalId: 'ec-1' },
        userIdentity: { type: 'AWSAccount', principalId: 'AIDA', accountId: '999988887777' },
        resources: [{ ARN: 'arn:aws:iam::111122223333:role/R', accountId: '111122223333', type: 'AWS::IAM::Role' }],
      },
    });
  });

  it('treats a null column written out like a missing one', () => {
    const back = athenaRowToRecord({ eventid: 'e', eventtime: '2026-01-01T00:00:00Z', requestparameters: null });
    expect(back).toEqual({ record: { eventID: 'e', eventTime: '2026-01-01T00:00:00Z' } });
  });

  it.each([
    [{ eventid: 'e', requestparameters: '{not json' }, 'Athena row: requestparameters is not valid JSON'],
    [{ eventid: 'e', useridentity: 'AWSAccount' }, 'Athena row: useridentity is not an object'],
    [{ eventid: 'e', resources: {} }, 'Athena row: resources is not an array'],
    [{ eventid: 'e', eventname: ['AssumeRole'] }, 'Athena row: eventname is an array, expected a string'],
    [
      { eventid: 'e', useridentity: { sessioncontext: { sessionissuer: 7 } } },
      'Athena row: useridentity.sessioncontext.sessionissuer is not an object',
    ],
  ])('rejects a row that cannot be a record, with the reason: %j', (row, reason) => {
    expect(athenaRowToRecord(row)).toEqual({ rejected: reason });
  });

  it('does not take a CloudTrail record for a row', () => {
    expect(isAthenaRow({ eventID: 'e', eventid: 'e' })).toBe(false);
    expect(isAthenaRow({ eventTime: '2026-01-01T00:00:00Z' })).toBe(false);
    expect(isAthenaRow({ eventid: 'e' })).toBe(true);
    expect(isAthenaRow(['e'])).toBe(false);
  });
});
