import { describe, expect, it } from '@jest/globals';
import { EventPatternError, matchesPattern } from '../../../lib/org/index.js';

const event = {
  source: 'aws.sts',
  'detail-type': 'AWS API Call via CloudTrail',
  account: '111122223333',
  detail: {
    eventName: 'AssumeRole',
    readOnly: true,
    durationSeconds: 900,
    errorCode: null,
    userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/alice' },
    resources: [
      { type: 'AWS::IAM::Role', ARN: 'arn:aws:iam::111122223333:role/Vendor' },
      { type: 'AWS::IAM::SAMLProvider', ARN: 'arn:aws:iam::111122223333:saml-provider/Okta' },
    ],
    tags: ['team-a', 'prod'],
  },
};

const m = (pattern: Record<string, unknown>, e: unknown = event) => matchesPattern(pattern, e);

describe('matchesPattern', () => {
  it('matches exact strings, numbers, booleans and null, as a list of alternatives', () => {
    expect(m({ source: ['aws.sts'] })).toBe(true);
    expect(m({ source: ['aws.iam', 'aws.sts'] })).toBe(true);
    expect(m({ source: ['aws.iam'] })).toBe(false);
    expect(m({ source: ['AWS.STS'] })).toBe(false);
    expect(m({ detail: { durationSeconds: [900] } })).toBe(true);
    expect(m({ detail: { durationSeconds: ['900'] } })).toBe(false);
    expect(m({ account: [111122223333] })).toBe(false);
    expect(m({ detail: { readOnly: [true] } })).toBe(true);
    expect(m({ detail: { readOnly: ['true'] } })).toBe(false);
    expect(m({ detail: { errorCode: [null] } })).toBe(true);
    expect(m({ detail: { eventName: [null] } })).toBe(false);
  });

  it('needs every field of the pattern, at every depth', () => {
    expect(m({ source: ['aws.sts'], detail: { userIdentity: { type: ['IAMUser'] } } })).toBe(true);
    expect(m({ source: ['aws.sts'], detail: { userIdentity: { type: ['AssumedRole'] } } })).toBe(false);
    expect(m({ detail: { userIdentity: { missing: ['x'] } } })).toBe(false);
    // A pattern object over a leaf, or a leaf list over an object, does not match.
    expect(m({ source: { x: ['y'] } })).toBe(false);
    expect(m({ detail: { userIdentity: ['IAMUser'] } })).toBe(false);
  });

  it('matches a list in the event when any element matches', () => {
    expect(m({ detail: { tags: ['prod'] } })).toBe(true);
    expect(m({ detail: { tags: ['dev'] } })).toBe(false);
    expect(m({ detail: { resources: { type: ['AWS::IAM::SAMLProvider'] } } })).toBe(true);
    expect(m({ detail: { resources: { type: ['AWS::S3::Bucket'] } } })).toBe(false);
    // Both fields from the same element.
    expect(m({ detail: { resources: { type: ['AWS::IAM::Role'], ARN: [{ suffix: 'role/Vendor' }] } } })).toBe(true);
    expect(m({ detail: { resources: { type: ['AWS::IAM::Role'], ARN: [{ suffix: 'saml-provider/Okta' }] } } })).toBe(
      false,
    );
  });

  it('anything-but takes a value or a list, and matches only a present field', () => {
    expect(m({ detail: { userIdentity: { type: [{ 'anything-but': ['AWSService'] }] } } })).toBe(true);
    expect(m({ detail: { userIdentity: { type: [{ 'anything-but': 'IAMUser' }] } } })).toBe(false);
    expect(m({ detail: { userIdentity: { type: [{ 'anything-but': ['AWSService', 'IAMUser'] }] } } })).toBe(false);
    expect(m({ detail: { durationSeconds: [{ 'anything-but': [900] }] } })).toBe(false);
    expect(m({ detail: { durationSeconds: [{ 'anything-but': [3600] }] } })).toBe(true);
    expect(m({ detail: { userIdentity: { missing: [{ 'anything-but': ['x'] }] } } })).toBe(false);
    expect(
      m({ detail: { userIdentity: { arn: [{ 'anything-but': { prefix: 'arn:aws:iam::111122223333:' } }] } } }),
    ).toBe(false);
    expect(m({ detail: { userIdentity: { arn: [{ 'anything-but': { prefix: 'arn:aws:sts::' } }] } } })).toBe(true);
  });

  it('prefix, suffix and equals-ignore-case compare strings only', () => {
    expect(m({ detail: { eventName: [{ prefix: 'Assume' }] } })).toBe(true);
    expect(m({ detail: { eventName: [{ prefix: 'assume' }] } })).toBe(false);
    expect(m({ detail: { eventName: [{ prefix: { 'equals-ignore-case': 'assume' } }] } })).toBe(true);
    expect(m({ detail: { eventName: [{ suffix: 'Role' }] } })).toBe(true);
    expect(m({ detail: { eventName: [{ suffix: 'Root' }] } })).toBe(false);
    expect(m({ detail: { eventName: [{ 'equals-ignore-case': 'assumerole' }] } })).toBe(true);
    expect(m({ detail: { durationSeconds: [{ prefix: '9' }] } })).toBe(false);
  });

  it('exists tells a present leaf from an absent field', () => {
    expect(m({ detail: { errorCode: [{ exists: true }] } })).toBe(true);
    expect(m({ detail: { errorMessage: [{ exists: true }] } })).toBe(false);
    expect(m({ detail: { errorMessage: [{ exists: false }] } })).toBe(true);
    expect(m({ detail: { eventName: [{ exists: false }] } })).toBe(false);
    expect(m({ detail: { userIdentity: [{ exists: true }] } })).toBe(false);
  });

  it('numeric compares numbers within bounds', () => {
    expect(m({ detail: { durationSeconds: [{ numeric: ['>', 0, '<=', 900] }] } })).toBe(true);
    expect(m({ detail: { durationSeconds: [{ numeric: ['<', 900] }] } })).toBe(false);
    expect(m({ detail: { eventName: [{ numeric: ['>', 0] }] } })).toBe(false);
  });

  it('$or matches when any alternative does', () => {
    const pattern = { $or: [{ source: ['aws.iam'] }, { detail: { eventName: ['AssumeRole'] } }] };
    expect(m(pattern)).toBe(true);
    expect(m({ $or: [{ source: ['aws.iam'] }, { account: ['0'] }] })).toBe(false);
  });

  it('matches nothing on an event that is not an object', () => {
    expect(m({ source: ['aws.sts'] }, null)).toBe(false);
    expect(m({ source: ['aws.sts'] }, 'aws.sts')).toBe(false);
    expect(m({}, event)).toBe(true);
  });

  it('refuses a pattern it cannot evaluate, instead of guessing', () => {
    expect(() => m({ source: 'aws.sts' })).toThrow(EventPatternError);
    expect(() => m({ source: [] })).toThrow(/empty list/);
    expect(() => m({ source: [{ wildcard: 'aws.*' }] })).toThrow(/wildcard is not supported/);
    expect(() => m({ source: [{ prefix: 'a', suffix: 'b' }] })).toThrow(/one operator/);
    expect(() => m({ source: [{ exists: 'yes' }] })).toThrow(/exists takes true or false/);
    expect(() => m({ source: [{ 'anything-but': { wildcard: 'x' } }] })).toThrow(/anything-but/);
    expect(() => m({ detail: { durationSeconds: [{ numeric: ['>'] }] } })).toThrow(/numeric/);
    expect(() => m({ $or: [] })).toThrow(/\$or/);
    expect(() => matchesPattern([] as unknown as Record<string, unknown>, event)).toThrow(/JSON object/);
  });
});
