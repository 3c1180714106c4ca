// The rules' own patterns (the hub's and the spokes', one source) run through the offline matcher on every published
// sample, wrapped as EventBridge would deliver it from several accounts and Regions.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { iamRolePattern, matchesPattern, stsAssumePattern } from '../../../lib/org/index.js';
import { EVENTS_DIR, loadJson, SAMPLES_DIR, sampleFiles } from '../../helpers/fixtures.js';

const ACCOUNTS = ['111111111111', '222222222222', '333333333333'];
const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2'];

type Detail = Record<string, any>;

/** The CloudTrail record(s) of a sample, whatever form it was published in. */
function recordsOf(file: string): Detail[] {
  const doc = loadJson(join(SAMPLES_DIR, file)) as Detail;
  if (Array.isArray(doc.Records)) return doc.Records;
  if (doc.detail) return [doc.detail];
  return [doc];
}

/** A record as the default bus of `account` in `region` carries it (eventSource "sts.amazonaws.com" → aws.sts). */
function asEvent(detail: Detail, account: string, region: string): Detail {
  const service = String(detail.eventSource ?? '').split('.')[0];
  return {
    version: '0',
    id: '6f2e3c1a-0000-4000-8000-000000000000',
    'detail-type': 'AWS API Call via CloudTrail',
    source: `aws.${service}`,
    account,
    time: '2026-11-30T12:00:00Z',
    region,
    resources: [],
    detail: { ...detail, awsRegion: region, recipientAccountId: account },
  };
}

const everywhere = (detail: Detail): Detail[] =>
  ACCOUNTS.flatMap((account) => REGIONS.map((region) => asEvent(detail, account, region)));

/** Every sample, and whether the STS rule forwards it (without, then with, AWS services' assumes). */
const STS_RULE: Record<string, [boolean, boolean, string]> = {
  'aws-repost_assumerolewithwebidentity-accessdenied-eks-abbreviated.json': [
    false,
    false,
    'AWS abbreviated it without eventSource (see below)',
  ],
  'awsdocs-cloudtrail_records-logfile-form-error-updatetrail-nonsts.json': [false, false, 'a CloudTrail API call'],
  'awsdocs-current_assumerole-global-endpoint-requestdetails.json': [true, true, 'assume, global endpoint'],
  'awsdocs-current_assumerole-regional-endpoint-requestdetails.json': [true, true, 'assume, regional endpoint'],
  'awsdocs-current_assumerolewithsaml-sessiontags-sourceidentity-tlsdetails.json': [true, true, 'SAML'],
  'awsdocs-current_assumerolewithwebidentity-oidc-sessiontags-additionaleventdata.json': [true, true, 'OIDC'],
  'awsdocs-current_assumeroot-abbreviated.json': [false, false, 'AssumeRoot is not a role assume'],
  'awsdocs-iam_assumerole-crossaccount-caller-iamuser-sourceidentity-mfa.json': [true, true, "the caller's copy"],
  'awsdocs-iam_assumerole-crossaccount-target-awsaccount-sharedeventid.json': [true, true, "the owner's copy"],
  'awsdocs-iam_assumerole-rolechaining-assumedrole-sessiontags-sourceidentity.json': [true, true, 'role chaining'],
  'consoleme_eventbridge-envelope_assumerole-accessdenied-sts.json': [true, true, 'a denied assume'],
  'curben_eventbridge-envelope_getcalleridentity-sts-tlsdetails.json': [false, false, 'GetCallerIdentity'],
  'panther_assumerole-awsservice-lambda-pantherNormalized.json': [false, true, 'an AWS service assumes'],
  'panther_assumerole-crossaccount-awsaccount-pantherNormalized.json': [true, true, "the owner's copy"],
  'panther_getsessiontoken-accessdenied-synthetic-minimal.json': [false, false, 'GetSessionToken'],
  'panther_getsessiontoken-iamuser-synthetic-minimal.json': [false, false, 'GetSessionToken'],
  'sekoia_assumerole-awsservice-lambda-sharedeventid.json': [false, true, 'an AWS service assumes'],
  'splunk_assumerolewithsaml-azuread-realworld.json': [true, true, 'SAML'],
  'stratus_assumerole-sameaccount-iamuser-accessdenied.json': [true, true, 'a denied assume'],
  'stratus_assumerole-sameaccount-iamuser-success-tlsdetails.json': [true, true, 'a same-account assume'],
  'stratus_getcalleridentity-by-federateduser-sessioncontext.json': [false, false, 'GetCallerIdentity'],
  'stratus_getfederationtoken-iamuser.json': [false, false, 'GetFederationToken'],
};

const IAM_EVENTS = readdirSync(EVENTS_DIR).filter(
  (f) => f.startsWith('eventbridge-') && (loadJson(join(EVENTS_DIR, f)) as Detail).source === 'aws.iam',
);

describe("the rules' patterns on the published samples, from 3 accounts in 3 Regions", () => {
  it('name every sample', () => {
    expect(Object.keys(STS_RULE).sort()).toEqual(sampleFiles());
  });

  it.each(Object.entries(STS_RULE))('STS rule on %s', (file, [forwarded, withServices]) => {
    for (const detail of recordsOf(file))
      for (const event of everywhere(detail)) {
        expect(matchesPattern(stsAssumePattern(false), event)).toBe(forwarded);
        expect(matchesPattern(stsAssumePattern(true), event)).toBe(withServices);
        expect(matchesPattern(iamRolePattern(), event)).toBe(false);
      }
  });

  it("drops AWS services' assumes, and forwards the owner's, the caller's and the denied copies", () => {
    const forwarded = (file: string) =>
      everywhere(recordsOf(file)[0]!).every((e) => matchesPattern(stsAssumePattern(false), e));
    const dropped = (file: string) =>
      everywhere(recordsOf(file)[0]!).every((e) => !matchesPattern(stsAssumePattern(false), e));
    expect(dropped('sekoia_assumerole-awsservice-lambda-sharedeventid.json')).toBe(true);
    expect(dropped('panther_assumerole-awsservice-lambda-pantherNormalized.json')).toBe(true);
    expect(forwarded('awsdocs-iam_assumerole-crossaccount-target-awsaccount-sharedeventid.json')).toBe(true);
    expect(forwarded('panther_assumerole-crossaccount-awsaccount-pantherNormalized.json')).toBe(true);
    expect(forwarded('awsdocs-iam_assumerole-crossaccount-caller-iamuser-sourceidentity-mfa.json')).toBe(true);
    expect(forwarded('stratus_assumerole-sameaccount-iamuser-accessdenied.json')).toBe(true);
    expect(forwarded('consoleme_eventbridge-envelope_assumerole-accessdenied-sts.json')).toBe(true);
  });

  it('forwards the abbreviated denied web-identity assume once it carries the eventSource every real event has', () => {
    const [detail] = recordsOf('aws-repost_assumerolewithwebidentity-accessdenied-eks-abbreviated.json');
    const complete = { ...detail, eventSource: 'sts.amazonaws.com' };
    expect(everywhere(complete).every((e) => matchesPattern(stsAssumePattern(false), e))).toBe(true);
  });

  it('the IAM rule takes the IAM role changes and nothing of STS', () => {
    expect(IAM_EVENTS.length).toBeGreaterThanOrEqual(5);
    for (const file of IAM_EVENTS) {
      const { detail } = loadJson(join(EVENTS_DIR, file)) as { detail: Detail };
      for (const event of everywhere(detail)) {
        expect(matchesPattern(iamRolePattern(), event)).toBe(true);
        expect(matchesPattern(stsAssumePattern(true), event)).toBe(false);
      }
    }
    const [create] = IAM_EVENTS.map((f) => (loadJson(join(EVENTS_DIR, f)) as { detail: Detail }).detail);
    const read = { ...create, eventName: 'GetRole', readOnly: true };
    expect(everywhere(read).some((e) => matchesPattern(iamRolePattern(), e))).toBe(false);
  });
});
