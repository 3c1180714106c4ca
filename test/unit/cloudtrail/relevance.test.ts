import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { classifyRecord, readInputFile, relevantKind } from '../../../lib/cloudtrail/index.js';
import { SAMPLES_DIR, sampleFiles } from '../../helpers/fixtures.js';

const IGNORED = 'not an assume or IAM role event';

async function sampleRecords(): Promise<{ name: string; record: Record<string, unknown> }[]> {
  const out: { name: string; record: Record<string, unknown> }[] = [];
  for (const name of sampleFiles())
    for await (const item of readInputFile(join(SAMPLES_DIR, name)))
      if ('record' in item) out.push({ name, record: item.record as Record<string, unknown> });
  return out;
}

describe('relevantKind: the cheap check before validation', () => {
  it('never skips a published sample roleguard handles, and skips only what it ignores', async () => {
    const records = await sampleRecords();
    expect(records.length).toBeGreaterThan(20);
    for (const { name, record } of records) {
      const kind = relevantKind(record.eventName, record.eventSource);
      for (const recordAwsServiceAssumes of [false, true]) {
        const classified = classifyRecord(record, { recordAwsServiceAssumes });
        const handled = ['assume', 'trust-policy-change', 'role-change'].includes(classified.kind);
        if (handled) expect([name, kind]).toEqual([name, classified.kind]);
        if (kind === null)
          expect([name, classified.kind === 'ignored' ? classified.category : classified.kind]).toEqual([
            name,
            expect.stringMatching(new RegExp(`^(${IGNORED}|rejected)$`)),
          ]);
      }
    }
  });

  it('sends every assume name to validation whatever its source, and IAM role writes only from IAM', () => {
    for (const name of ['AssumeRole', 'AssumeRoleWithSAML', 'AssumeRoleWithWebIdentity'])
      for (const source of ['sts.amazonaws.com', 'iam.amazonaws.com', undefined, 42])
        expect(relevantKind(name, source)).toBe('assume');
    expect(relevantKind('UpdateAssumeRolePolicy', 'iam.amazonaws.com')).toBe('trust-policy-change');
    for (const name of ['PutRolePolicy', 'DeleteRolePolicy', 'DeleteRole', 'CreateRole'])
      expect(relevantKind(name, 'iam.amazonaws.com')).toBe('role-change');
    expect(relevantKind('UpdateAssumeRolePolicy', 'sts.amazonaws.com')).toBeNull();
    expect(relevantKind('Decrypt', 'kms.amazonaws.com')).toBeNull();
    expect(relevantKind(undefined, 'sts.amazonaws.com')).toBeNull();
  });
});

describe('classifyRecord on ignored records: the remembered source and time', () => {
  const ok = { eventName: 'Decrypt', eventSource: 'kms.amazonaws.com', eventTime: '2026-11-02T09:20:00Z' };
  it.each([
    [{ eventTime: null }, /eventTime is null/],
    [{ eventTime: undefined }, /eventTime is missing/],
    [{ eventTime: '2026-11-02T09:20:60Z' }, /eventTime is "2026-11-02T09:20:60Z"/],
    [{ eventSource: 'kms.example.com' }, /eventSource is "kms.example.com"/],
    [{ eventSource: null }, /eventSource is null/],
  ])('still rejects %p right after a valid record with the same fields', (override, reason) => {
    for (let i = 0; i < 3; i++) {
      expect(classifyRecord(ok, { recordAwsServiceAssumes: false })).toMatchObject({ kind: 'ignored' });
      expect(classifyRecord({ ...ok, ...override }, { recordAwsServiceAssumes: false })).toEqual({
        kind: 'rejected',
        reason: expect.stringMatching(reason),
      });
    }
  });
});
