import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { type ClassifiedRecord, classifyRecord, readInputFile } from '../../../lib/cloudtrail/index.js';
import { SAMPLES_DIR, sampleFiles } from '../../helpers/fixtures.js';

type Expected =
  | { kind: 'assume'; fields: Record<string, unknown> }
  | { kind: 'ignored'; reason: RegExp }
  | { kind: 'rejected'; reason: RegExp };

// Every published sample, with what it must classify as and the fields that matter. A new sample without a row fails.
const EXPECTED: Record<string, Expected> = {
  'aws-repost_assumerolewithwebidentity-accessdenied-eks-abbreviated.json': {
    // AWS abbreviated it: no eventID or eventTime, so it cannot be recorded idempotently or placed in time.
    kind: 'rejected',
    reason: /AssumeRoleWithWebIdentity record is invalid: eventID: missing; eventTime: missing/,
  },
  'awsdocs-cloudtrail_records-logfile-form-error-updatetrail-nonsts.json': {
    kind: 'ignored',
    reason: /cloudtrail\.amazonaws\.com UpdateTrail/,
  },
  'awsdocs-current_assumerole-global-endpoint-requestdetails.json': {
    kind: 'assume',
    fields: {
      eventId: 'EXAMPLEc-3d26-4c3a-9c94-722a9EXAMPLE',
      eventName: 'AssumeRole',
      roleArn: 'arn:aws:iam::777788889999:role/test-role',
      roleSessionName: 'test-global-assume-role',
      assumedRoleId: 'AROA987654321EXAMPLE:test-global-assume-role',
      accessKeyId: 'ASIAIOSFODNN7EXAMPLE',
      callerType: 'AssumedRole',
      callerAccountId: '777788889999',
      callerArn: 'arn:aws:sts::777788889999:assumed-role/Admin/developer',
      recipientAccountId: '777788889999',
      awsRegion: 'us-east-1',
      issuedAt: '2025-02-12T22:16:48Z',
      expiresAt: '2025-02-12T23:16:48Z',
      outcome: 'success',
      externalId: null,
      sharedEventId: null,
      sourceIpAddress: '192.0.2.0',
      durationSeconds: null,
    },
  },
  'awsdocs-current_assumerole-regional-endpoint-requestdetails.json': {
    kind: 'assume',
    fields: {
      eventId: 'EXAMPLEd-219a-48ed-bc54-00e3cEXAMPLE',
      awsRegion: 'eu-north-1',
      issuedAt: '2025-02-12T22:16:30Z',
      expiresAt: '2025-02-12T23:16:30Z',
      outcome: 'success',
    },
  },
  'awsdocs-current_assumerolewithsaml-sessiontags-sourceidentity-tlsdetails.json': {
    kind: 'assume',
    fields: {
      eventName: 'AssumeRoleWithSAML',
      roleArn: 'arn:aws:iam::444455556666:role/SAMLTestRoleShibboleth',
      roleSessionName: 'MyAssignedRoleSessionName',
      callerType: 'SAMLUser',
      callerAccountId: '444455556666',
      sourceIdentity: 'MySAMLUser',
      durationSeconds: 1800,
      issuedAt: '2023-08-28T18:30:58Z',
      expiresAt: '2023-08-28T19:00:58Z',
      sourceIpAddress: 'AWS Internal',
      recipientAccountId: '444455556666',
      assumedRoleId: 'AROAD35QRSTUVWEXAMPLE:MyAssignedRoleSessionName',
    },
  },
  'awsdocs-current_assumerolewithwebidentity-oidc-sessiontags-additionaleventdata.json': {
    kind: 'assume',
    fields: {
      eventName: 'AssumeRoleWithWebIdentity',
      callerType: 'WebIdentityUser',
      callerAccountId: '444455556666',
      sourceIdentity: 'MyWebIdentityUser',
      durationSeconds: 3600,
      issuedAt: '2024-07-09T15:41:37Z',
      expiresAt: '2024-07-09T16:41:37Z',
      roleSessionName: '`<assigned role session name>`',
    },
  },
  'awsdocs-current_assumeroot-abbreviated.json': { kind: 'ignored', reason: /sts\.amazonaws\.com AssumeRoot/ },
  'awsdocs-iam_assumerole-crossaccount-caller-iamuser-sourceidentity-mfa.json': {
    kind: 'assume',
    fields: {
      callerType: 'IAMUser',
      callerAccountId: '777788889999',
      callerArn: 'arn:aws:iam::777788889999:user/JohnDoe',
      roleArn: 'arn:aws:iam::111122223333:role/EC2-dev',
      roleAccountId: '111122223333',
      recipientAccountId: '111122223333',
      sharedEventId: 'bEXAMPLE-efea-4a70-b951-19a88EXAMPLE',
      sourceIdentity: 'JohnDoe',
      issuedAt: '2014-07-18T15:07:39Z',
      expiresAt: '2023-07-18T16:07:39Z', // the doc's expiry typo, read as written
    },
  },
  'awsdocs-iam_assumerole-crossaccount-target-awsaccount-sharedeventid.json': {
    kind: 'assume',
    fields: {
      callerType: 'AWSAccount',
      callerAccountId: '777788889999',
      callerArn: null,
      callerPrincipalId: 'AIDAQRSTUVWXYZEXAMPLE',
      // No recipientAccountId in this abbreviated doc copy: the role owner's copy belongs to the role's account.
      recipientAccountId: '111122223333',
      sharedEventId: 'bEXAMPLE-efea-4a70-b951-19a88EXAMPLE',
      expiresAt: '2014-07-18T16:07:39Z',
      awsRegion: 'us-east-2',
    },
  },
  'awsdocs-iam_assumerole-rolechaining-assumedrole-sessiontags-sourceidentity.json': {
    kind: 'assume',
    fields: {
      callerType: 'AssumedRole',
      roleArn: 'arn:aws:iam::111111111111:role/JohnRole2',
      roleSessionName: 'Role2WithTags',
      accessKeyId: 'ASIAWHOJDLGPOEXAMPLE',
      callerAccessKeyId: 'AKIAI44QH8DHBEXAMPLE',
      durationSeconds: 3600,
      issuedAt: '2019-10-02T22:12:29Z',
      expiresAt: '2019-10-02T23:12:29Z',
    },
  },
  'consoleme_eventbridge-envelope_assumerole-accessdenied-sts.json': {
    kind: 'assume',
    fields: {
      outcome: 'denied',
      errorCode: 'AccessDenied',
      roleArn: 'arn:aws:iam::123456789012:role/roleB',
      roleSessionName: null,
      assumedRoleId: null,
      accessKeyId: null,
      expiresAt: null,
      callerAccountId: '123456789012',
      callerAccessKeyId: 'ASIASFT37IGO3U7IQ5RA',
      envelopeId: '12345',
      awsRegion: 'global',
      issuedAt: '2021-06-22T16:17:45Z',
      eventId: 'cfaf5898-f822-47ce-ba52-1b01aabc18f4',
    },
  },
  'curben_eventbridge-envelope_getcalleridentity-sts-tlsdetails.json': { kind: 'ignored', reason: /GetCallerIdentity/ },
  'panther_assumerole-awsservice-lambda-pantherNormalized.json': {
    kind: 'ignored',
    reason: /assume by an AWS service \(lambda\.amazonaws\.com\)/,
  },
  'panther_assumerole-crossaccount-awsaccount-pantherNormalized.json': {
    kind: 'assume',
    fields: {
      callerType: 'AWSAccount',
      callerAccountId: '111122223333',
      durationSeconds: 900,
      issuedAt: '2024-12-12T16:04:32Z',
      expiresAt: '2024-12-12T16:19:32Z',
      assumedRoleId: 'SAMPLE_PRINCIPAL_ID:SampleSession',
      sharedEventId: 'fe4784a8-b3b8-4dac-a763-0476f4bef6e3',
    },
  },
  'panther_getsessiontoken-accessdenied-synthetic-minimal.json': { kind: 'ignored', reason: /GetSessionToken/ },
  'panther_getsessiontoken-iamuser-synthetic-minimal.json': { kind: 'ignored', reason: /GetSessionToken/ },
  'sekoia_assumerole-awsservice-lambda-sharedeventid.json': { kind: 'ignored', reason: /assume by an AWS service/ },
  'splunk_assumerolewithsaml-azuread-realworld.json': {
    kind: 'assume',
    fields: {
      eventName: 'AssumeRoleWithSAML',
      callerType: 'SAMLUser',
      callerAccountId: '111111111111',
      durationSeconds: 3600,
      // "Jan 22, 2021 3:59:16 AM": no comma after the year, and 15 minutes after eventTime despite durationSeconds 3600.
      issuedAt: '2021-01-22T03:44:16Z',
      expiresAt: '2021-01-22T03:59:16Z',
      accessKeyId: 'ASIAYTOGP2RLKJXOV7VR',
    },
  },
  'stratus_assumerole-sameaccount-iamuser-accessdenied.json': {
    kind: 'assume',
    fields: {
      outcome: 'denied',
      roleArn: 'arn:aws:iam::457448411975:role/stratus-red-team-ec2-get-password-data-role',
      roleSessionName: null,
      callerType: 'IAMUser',
      callerArn: 'arn:aws:iam::457448411975:user/christophe',
      expiresAt: null,
      sharedEventId: null,
      awsRegion: 'apiso-northsouth-3r',
    },
  },
  'stratus_assumerole-sameaccount-iamuser-success-tlsdetails.json': {
    kind: 'assume',
    fields: {
      outcome: 'success',
      issuedAt: '2024-07-30T21:31:15Z',
      expiresAt: '2024-07-30T21:46:15Z',
      durationSeconds: 900,
      accessKeyId: 'ASIA7RQR64ZW9JXKWPUO',
      assumedRoleId: 'AROAMLQ9F6KHQ07JKA0WY:aws-go-sdk-1722375070115152000',
      userAgent: 'stratus-red-team_5c59eb79-6dac-405c-a4c4-e19aec03c666',
    },
  },
  'stratus_getcalleridentity-by-federateduser-sessioncontext.json': { kind: 'ignored', reason: /GetCallerIdentity/ },
  'stratus_getfederationtoken-iamuser.json': { kind: 'ignored', reason: /GetFederationToken/ },
};

async function classifyFile(file: string, recordAwsServiceAssumes = false): Promise<ClassifiedRecord[]> {
  const out: ClassifiedRecord[] = [];
  for await (const item of readInputFile(join(SAMPLES_DIR, file))) {
    out.push(
      'rejected' in item
        ? { kind: 'rejected', reason: item.rejected }
        : classifyRecord(item.record, { recordAwsServiceAssumes }, item.envelopeId),
    );
  }
  return out;
}

describe('published CloudTrail samples', () => {
  it('has an expectation for every sample file', () => {
    expect(sampleFiles()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(Object.entries(EXPECTED))('%s', async (file, expected) => {
    const results = await classifyFile(file);
    expect(results).toHaveLength(1);
    const result = results[0]!;
    expect(result.kind).toBe(expected.kind);
    if (expected.kind === 'assume') expect(result).toMatchObject(expected.fields);
    else expect((result as { reason: string }).reason).toMatch(expected.reason);
  });

  it('records AWS-service assumes only when configured to', async () => {
    const [panther] = await classifyFile('panther_assumerole-awsservice-lambda-pantherNormalized.json', true);
    expect(panther).toMatchObject({
      kind: 'assume',
      callerType: 'AWSService',
      callerAccountId: null,
      assumedRoleId: null,
      issuedAt: '2024-06-02T20:27:12Z',
      expiresAt: '2024-06-02T22:37:12Z',
    });
    const [sekoia] = await classifyFile('sekoia_assumerole-awsservice-lambda-sharedeventid.json', true);
    // Sanitised to a 10-digit account, which no real event has: rejected with the reason rather than recorded.
    expect(sekoia).toMatchObject({ kind: 'rejected' });
    expect((sekoia as { reason: string }).reason).toMatch(/recipientAccountId: not a 12-digit account id/);
  });
});
