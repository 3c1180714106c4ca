import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { classifyRecord } from '../../../lib/cloudtrail/index.js';
import { assumeRecord, EVENTS_DIR, loadJson } from '../../helpers/fixtures.js';

const options = { recordAwsServiceAssumes: false };
const classify = (record: unknown) => classifyRecord(record, options);
const reasonOf = (record: unknown) => {
  const result = classify(record);
  expect(result.kind).toBe('rejected');
  return (result as { reason: string }).reason;
};

describe('classifyRecord: assume events', () => {
  it('normalises a successful cross-account AssumeRole with an external ID', () => {
    expect(classify(assumeRecord())).toEqual({
      kind: 'assume',
      eventId: '8f1d3c52-9a7e-4b1f-b6a2-3c9d5e7f1a01',
      envelopeId: null,
      eventName: 'AssumeRole',
      recipientAccountId: '111122223333',
      roleArn: 'arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit',
      roleAccountId: '111122223333',
      roleSessionName: 'ExampleCorp-scan-1730538904',
      assumedRoleId: 'AROA3XFRBF23EXAMPLE1:ExampleCorp-scan-1730538904',
      accessKeyId: 'ASIA5EXAMPLEGOODKEY1',
      callerType: 'AWSAccount',
      callerAccountId: '999988887777',
      callerArn: null,
      callerPrincipalId: 'AIDAVENDOREXAMPLE0001',
      callerAccessKeyId: null,
      externalId: 'ec-7Hq2vN9xK4pL8mR3',
      sourceIdentity: null,
      sourceIpAddress: '203.0.113.25',
      userAgent: 'aws-sdk-java/2.25.0 Linux/5.10 OpenJDK_64-Bit_Server_VM/17',
      awsRegion: 'us-east-1',
      sharedEventId: '0f4e2b7c-31aa-4f0e-9a57-3c9d5e7f1a01',
      durationSeconds: 3600,
      issuedAt: '2026-11-02T09:15:04Z',
      expiresAt: '2026-11-02T10:15:04Z',
      outcome: 'success',
      errorCode: null,
      errorMessage: null,
    });
  });

  it('takes the role ARN of a denied AssumeRole from errorMessage, path included', () => {
    const denied = assumeRecord({
      errorCode: 'AccessDenied',
      errorMessage:
        'User: arn:aws:iam::111122223333:user/bob is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::111122223333:role/team/a/Deploy',
      requestParameters: null,
      responseElements: null,
    });
    expect(classify(denied)).toMatchObject({
      kind: 'assume',
      outcome: 'denied',
      roleArn: 'arn:aws:iam::111122223333:role/team/a/Deploy',
      roleSessionName: null,
      accessKeyId: null,
      assumedRoleId: null,
      expiresAt: null,
    });
  });

  it('keeps the requestParameters of a failed AssumeRoleWithWebIdentity and ignores its credentials', () => {
    const failed = assumeRecord({
      eventName: 'AssumeRoleWithWebIdentity',
      errorCode: 'AccessDenied',
      errorMessage: 'An unknown error occurred',
    });
    expect(classify(failed)).toMatchObject({
      outcome: 'denied',
      roleArn: 'arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit',
      accessKeyId: null,
      expiresAt: null,
    });
  });

  it('rejects a denied assume that names no role', () => {
    expect(
      reasonOf(
        assumeRecord({ errorCode: 'AccessDenied', errorMessage: 'An unknown error occurred', requestParameters: null }),
      ),
    ).toMatch(/names no role/);
  });

  it('treats an unparseable expiration as unknown', () => {
    const record = assumeRecord();
    (record.responseElements as { credentials: { expiration: string } }).credentials.expiration = 'soon';
    expect(classify(record)).toMatchObject({ kind: 'assume', expiresAt: null });
  });

  it('accepts booleans and numbers written as strings', () => {
    const record = assumeRecord({ readOnly: 'true', managementEvent: 'True' });
    (record.requestParameters as Record<string, unknown>).durationSeconds = '900';
    expect(classify(record)).toMatchObject({ kind: 'assume', durationSeconds: 900 });
  });

  it('ignores AWS-service assumes unless configured to record them', () => {
    const service = assumeRecord({ userIdentity: { type: 'AWSService', invokedBy: 'ec2.amazonaws.com' } });
    expect(classify(service)).toMatchObject({ kind: 'ignored', reason: expect.stringContaining('ec2.amazonaws.com') });
    expect(classifyRecord(service, { recordAwsServiceAssumes: true })).toMatchObject({
      kind: 'assume',
      callerType: 'AWSService',
      callerAccountId: null,
    });
  });

  it.each([
    [{ eventID: undefined }, /eventID: missing/],
    [{ eventID: 42 }, /eventID: Invalid input: expected string/],
    [{ eventTime: '2026-13-02T09:15:04Z' }, /eventTime: not a valid CloudTrail timestamp/],
    [{ eventSource: 'iam.amazonaws.com' }, /eventSource/],
    [{ recipientAccountId: '12345' }, /recipientAccountId: not a 12-digit account id/],
    [{ userIdentity: null }, /userIdentity/],
    [{ userIdentity: { type: 'IAMUser', accountId: 111122223333 } }, /userIdentity\.accountId/],
    [
      { requestParameters: { roleArn: 'arn:aws:iam::111122223333:user/alice', roleSessionName: 'x' } },
      /not a valid IAM role ARN/,
    ],
    [{ requestParameters: { roleArn: 'arn:aws:iam::1111:role/x', roleSessionName: 'x' } }, /not a valid IAM role ARN/],
    [{ requestParameters: { roleSessionName: 'x' } }, /has no requestParameters\.roleArn/],
    [
      { requestParameters: { roleArn: 'arn:aws:iam::111122223333:role/x', externalId: 'bad id with spaces' } },
      /externalId: not a valid external ID/,
    ],
    [{ requestParameters: { roleArn: 'arn:aws:iam::111122223333:role/x', externalId: 'x' } }, /externalId/],
    [
      { requestParameters: { roleArn: 'arn:aws:iam::111122223333:role/x', durationSeconds: 'forever' } },
      /durationSeconds/,
    ],
    [{ userAgent: 'u'.repeat(5000) }, /userAgent: longer than 4096/],
  ])('rejects a mistyped or missing field %#', (override, reason) => {
    expect(reasonOf(assumeRecord(override))).toMatch(reason);
  });
});

describe('classifyRecord: other records', () => {
  const trust = {
    eventID: 'e1',
    eventTime: '2026-11-02T15:20:45Z',
    eventSource: 'iam.amazonaws.com',
    eventName: 'UpdateAssumeRolePolicy',
    awsRegion: 'us-east-1',
    recipientAccountId: '111122223333',
    userIdentity: {
      type: 'AssumedRole',
      accountId: '111122223333',
      arn: 'arn:aws:sts::111122223333:assumed-role/roleguard-prod-rotate/x',
      sessionContext: { sessionIssuer: { arn: 'arn:aws:iam::111122223333:role/roleguard-prod-rotate' } },
    },
    requestParameters: { roleName: 'ExampleCorpAudit', policyDocument: '{"Version":"2012-10-17","Statement":[]}' },
  };

  it('classifies UpdateAssumeRolePolicy as a trust-policy change, with the caller behind the session', () => {
    expect(classify(trust)).toMatchObject({
      kind: 'trust-policy-change',
      roleName: 'ExampleCorpAudit',
      recipientAccountId: '111122223333',
      outcome: 'success',
      callerIssuerArn: 'arn:aws:iam::111122223333:role/roleguard-prod-rotate',
      policyDocument: '{"Version":"2012-10-17","Statement":[]}',
    });
  });

  it('keeps a failed trust change that names its role, and ignores one that names none', () => {
    expect(classify({ ...trust, errorCode: 'AccessDenied' })).toMatchObject({
      kind: 'trust-policy-change',
      outcome: 'denied',
      policyDocument: null,
    });
    expect(classify({ ...trust, errorCode: 'AccessDenied', requestParameters: null })).toMatchObject({
      kind: 'ignored',
    });
  });

  it('rejects an invalid role name in a trust change', () => {
    expect(reasonOf({ ...trust, requestParameters: { roleName: 'a/b' } })).toMatch(/roleName: not a valid role name/);
  });

  const iam = (file: string) => (loadJson(join(EVENTS_DIR, file)) as { detail: Record<string, any> }).detail;
  const TERRAFORM = 'arn:aws:sts::111122223333:assumed-role/PlatformAutomation/terraform-run-8812';

  it('classifies PutRolePolicy and DeleteRolePolicy as role changes naming the policy', () => {
    expect(classify(iam('eventbridge-put-role-policy-tamper.json'))).toEqual({
      kind: 'role-change',
      eventName: 'PutRolePolicy',
      eventId: 'a1f2e3d4-c5b6-4a79-8e1d-2c3b4a5f6e11',
      envelopeId: null,
      recipientAccountId: '111122223333',
      roleName: 'ExampleCorpAudit',
      policyName: 'roleguard-revocations',
      trustPolicy: null,
      roleId: null,
      callerType: 'AssumedRole',
      callerAccountId: '111122223333',
      callerArn: TERRAFORM,
      callerIssuerArn: 'arn:aws:iam::111122223333:role/PlatformAutomation',
      sourceIpAddress: '198.51.100.77',
      userAgent: expect.stringContaining('Terraform'),
      awsRegion: 'us-east-1',
      eventTime: '2026-11-03T00:05:12Z',
      outcome: 'success',
      errorCode: null,
    });
    expect(classify(iam('eventbridge-delete-role-policy-tamper.json'))).toMatchObject({
      kind: 'role-change',
      eventName: 'DeleteRolePolicy',
      policyName: 'roleguard-revocations',
    });
  });

  it('classifies DeleteRole and CreateRole, with the new RoleId and trust policy of a created role', () => {
    expect(classify(iam('eventbridge-delete-role.json'))).toMatchObject({
      kind: 'role-change',
      eventName: 'DeleteRole',
      roleName: 'ExampleCorpAudit',
      policyName: null,
      roleId: null,
    });
    const created = classify(iam('eventbridge-create-role.json'));
    expect(created).toMatchObject({ kind: 'role-change', eventName: 'CreateRole', roleId: 'AROA5XFRBF23RECREATED' });
    expect(JSON.parse((created as { trustPolicy: string }).trustPolicy).Statement[0].Principal).toEqual({
      AWS: 'arn:aws:iam::999988887777:root',
    });
    // A failed CreateRole created nothing: no RoleId, no trust policy.
    expect(classify({ ...iam('eventbridge-create-role.json'), errorCode: 'EntityAlreadyExists' })).toMatchObject({
      outcome: 'denied',
      roleId: null,
      trustPolicy: null,
    });
  });

  it('rejects a role event without a role name or policy name, and ignores a failed one that names nothing', () => {
    const put = iam('eventbridge-put-role-policy-tamper.json');
    expect(reasonOf({ ...put, requestParameters: { roleName: 'ExampleCorpAudit' } })).toBe(
      'PutRolePolicy has no requestParameters.policyName',
    );
    expect(reasonOf({ ...put, requestParameters: { policyName: 'x' } })).toMatch(/roleName: missing/);
    expect(reasonOf({ ...put, requestParameters: null })).toBe('PutRolePolicy has no requestParameters.roleName');
    expect(classify({ ...put, requestParameters: null, errorCode: 'AccessDenied' })).toMatchObject({
      kind: 'ignored',
    });
    // Other IAM calls on roles are not roleguard's business.
    expect(classify({ ...put, eventName: 'AttachRolePolicy' })).toMatchObject({ kind: 'ignored' });
  });

  it('ignores any other valid CloudTrail record', () => {
    expect(
      classify({ eventName: 'ListBuckets', eventSource: 's3.amazonaws.com', eventTime: '2026-11-02T09:20:00Z' }),
    ).toEqual({
      kind: 'ignored',
      eventName: 'ListBuckets',
      reason: 's3.amazonaws.com ListBuckets is not an assume or IAM role event',
      category: 'not an assume or IAM role event',
    });
  });

  it.each([
    [null, /expected an object, got null/],
    [[1, 2], /got an array/],
    ['AssumeRole', /got a string/],
    [{}, /eventName is missing/],
    [{ eventName: 7 }, /eventName is a number/],
    [{ eventName: 'Assume Role!', eventSource: 'sts.amazonaws.com' }, /unknown event name/],
    [{ eventName: '', eventSource: 'sts.amazonaws.com' }, /unknown event name/],
    [{ eventName: 'ListBuckets', eventSource: 'example.com', eventTime: '2026-11-02T09:20:00Z' }, /eventSource/],
    [{ eventName: 'ListBuckets', eventSource: 's3.amazonaws.com' }, /eventTime is missing/],
  ])('rejects %p with a reason', (record, reason) => {
    expect(reasonOf(record)).toMatch(reason);
  });

  it('does not let prototype keys change what it reads', () => {
    const hostile = JSON.parse(
      '{"__proto__": {"eventName": "AssumeRole"}, "constructor": {"prototype": {"x": 1}}, "eventSource": "s3.amazonaws.com", "eventTime": "2026-11-02T09:20:00Z"}',
    );
    expect(reasonOf(hostile)).toMatch(/eventName is missing/);
    expect(({} as Record<string, unknown>).eventName).toBeUndefined();
  });
});
