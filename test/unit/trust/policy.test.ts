import { describe, expect, it } from '@jest/globals';
import {
  actionMatches,
  decodePolicyDocument,
  externalIdRequirement,
  parseTrustPolicy,
  principalAccount,
  TrustPolicyError,
  type TrustStatement,
} from '../../../lib/trust/index.js';

const ID = 'ec-7Hq2vN9xK4pL8mR3';
const POLICY = {
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::999988887777:root' },
      Action: 'sts:AssumeRole',
      Condition: { StringEquals: { 'sts:ExternalId': ID } },
    },
  ],
};
// What GetRole and get-account-authorization-details return: RFC 3986 percent-encoding of the JSON text.
const URL_ENCODED = encodeURIComponent(JSON.stringify(POLICY));

const one = (statement: Record<string, unknown>): TrustStatement =>
  parseTrustPolicy({ Version: '2012-10-17', Statement: [statement] })[0]!;
const allow = (extra: Record<string, unknown> = {}) => ({
  Effect: 'Allow',
  Principal: { AWS: '999988887777' },
  Action: 'sts:AssumeRole',
  ...extra,
});

describe('decodePolicyDocument', () => {
  it('reads URL-encoded JSON as IAM returns it, plain JSON text, and an object as the AWS CLI prints it', () => {
    expect(URL_ENCODED.startsWith('%7B%22Version%22')).toBe(true);
    expect(decodePolicyDocument(URL_ENCODED)).toEqual(POLICY);
    expect(decodePolicyDocument(JSON.stringify(POLICY, null, 2))).toEqual(POLICY);
    expect(decodePolicyDocument(`  \n${JSON.stringify(POLICY)}\n`)).toEqual(POLICY);
    expect(decodePolicyDocument(POLICY)).toBe(POLICY);
  });

  it('keeps characters of external IDs that percent-encoding escapes (+ = , . @ : / _ -)', () => {
    const id = 'a+b=c,d.e@f:g/h_i-j';
    const policy = {
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: '999988887777' },
          Action: 'sts:AssumeRole',
          Condition: { StringEquals: { 'sts:ExternalId': id } },
        },
      ],
    };
    const decoded = decodePolicyDocument(encodeURIComponent(JSON.stringify(policy)));
    expect(JSON.stringify(decoded)).toContain(JSON.stringify(id));
  });

  it.each<[string, unknown, RegExp]>([
    ['broken percent-encoding', '%7B%E0%A4%A', /neither JSON nor URL-encoded JSON/],
    ['URL-encoded text that is not JSON', '%7Bnot json', /not valid JSON/],
    ['broken JSON text', '{"Statement": [', /not valid JSON/],
    ['a JSON array', '[]', /not a JSON object/],
    ['JSON null', 'null', /not a JSON object/],
    ['a number', 42, /not a JSON object/],
    ['null', null, /not a JSON object/],
    ['an array', [POLICY], /not a JSON object/],
  ])('rejects %s with a TrustPolicyError', (_name, document, message) => {
    expect(() => decodePolicyDocument(document)).toThrow(TrustPolicyError);
    expect(() => decodePolicyDocument(document)).toThrow(message);
  });
});

describe('actionMatches', () => {
  it.each<[string, string, boolean]>([
    ['sts:AssumeRole', 'sts:AssumeRole', true],
    ['STS:assumerole', 'sts:AssumeRole', true],
    ['sts:*', 'sts:AssumeRole', true],
    ['*', 'sts:AssumeRole', true],
    ['sts:Assume*', 'sts:AssumeRole', true],
    ['sts:AssumeRol?', 'sts:AssumeRole', true],
    ['sts:AssumeRole?', 'sts:AssumeRole', false],
    ['sts:AssumeRoleWith*', 'sts:AssumeRole', false],
    ['sts:TagSession', 'sts:AssumeRole', false],
    ['sts:AssumeRoleWithSAML', 'sts:AssumeRole', false],
    ['iam:*', 'sts:AssumeRole', false],
    // Regex metacharacters in a pattern are literal.
    ['sts:Assume.ole', 'sts:AssumeRole', false],
    ['sts:(AssumeRole)', 'sts:AssumeRole', false],
    ['sts:AssumeRole|iam:*', 'sts:AssumeRole', false],
  ])('%s matches %s: %s', (pattern, action, expected) => {
    expect(actionMatches(pattern, action)).toBe(expected);
  });
});

describe('principalAccount', () => {
  it.each<[string, string | null]>([
    ['999988887777', '999988887777'],
    ['arn:aws:iam::999988887777:root', '999988887777'],
    ['arn:aws:iam::999988887777:role/vendor-app', '999988887777'],
    ['arn:aws:iam::999988887777:role/path/to/vendor-app', '999988887777'],
    ['arn:aws:iam::999988887777:user/backup-agent', '999988887777'],
    ['arn:aws:sts::999988887777:assumed-role/vendor-app/session', '999988887777'],
    ['arn:aws-us-gov:iam::999988887777:root', '999988887777'],
    ['arn:aws-cn:iam::999988887777:role/x', '999988887777'],
    // The unique id IAM writes in place of a deleted principal.
    ['AROA3XFRBF23EXAMPLE1', null],
    ['AIDAJQABLZS4A3QDU576Q', null],
    ['9999888877', null],
    ['9999888877770', null],
    ['arn:aws:s3:::bucket', null],
    ['arn:aws:iam::99998888777:root', null],
    ['*', null],
  ])('%s → %s', (principal, account) => {
    expect(principalAccount(principal)).toBe(account);
  });
});

describe('parseTrustPolicy', () => {
  it('normalises principals given as a string or a list, of every type', () => {
    const [s] = parseTrustPolicy({
      Statement: {
        Sid: 'Vendor',
        Effect: 'Allow',
        Principal: {
          AWS: ['999988887777', 'arn:aws:iam::444455556666:role/r'],
          Service: 'lambda.amazonaws.com',
          Federated: 'arn:aws:iam::111122223333:saml-provider/idp',
        },
        Action: ['sts:AssumeRole', 'sts:TagSession'],
      },
    });
    expect(s).toMatchObject({
      index: 0,
      sid: 'Vendor',
      effect: 'Allow',
      notPrincipal: false,
      anyPrincipal: false,
      awsPrincipals: ['999988887777', 'arn:aws:iam::444455556666:role/r'],
      otherPrincipals: ['Service:lambda.amazonaws.com', 'Federated:arn:aws:iam::111122223333:saml-provider/idp'],
      grantsAssumeRole: true,
    });
    expect(one(allow({ Principal: { AWS: 'arn:aws:iam::999988887777:root' } })).awsPrincipals).toEqual([
      'arn:aws:iam::999988887777:root',
    ]);
  });

  it('recognises any principal: "*", {"AWS": "*"} and {"AWS": ["*"]}', () => {
    expect(one(allow({ Principal: '*' })).anyPrincipal).toBe(true);
    expect(one(allow({ Principal: { AWS: '*' } })).anyPrincipal).toBe(true);
    expect(one(allow({ Principal: { AWS: ['*'] } })).anyPrincipal).toBe(true);
    expect(one(allow({ Principal: { AWS: '*' } })).awsPrincipals).toEqual([]);
    expect(one(allow()).anyPrincipal).toBe(false);
  });

  it('marks NotPrincipal and keeps what it names', () => {
    const s = one({
      Effect: 'Allow',
      NotPrincipal: { AWS: 'arn:aws:iam::444455556666:root' },
      Action: 'sts:AssumeRole',
    });
    expect(s.notPrincipal).toBe(true);
    expect(s.awsPrincipals).toEqual(['arn:aws:iam::444455556666:root']);
  });

  it.each<[string, Record<string, unknown>, boolean]>([
    ['sts:AssumeRole', { Action: 'sts:AssumeRole' }, true],
    ['a list with sts:AssumeRole', { Action: ['sts:TagSession', 'sts:AssumeRole'] }, true],
    ['sts:*', { Action: 'sts:*' }, true],
    ['*', { Action: '*' }, true],
    ['lower case', { Action: 'sts:assumerole' }, true],
    ['sts:TagSession alone', { Action: 'sts:TagSession' }, false],
    ['sts:AssumeRoleWithSAML', { Action: 'sts:AssumeRoleWithSAML' }, false],
    ['sts:AssumeRoleWithWebIdentity', { Action: ['sts:AssumeRoleWithWebIdentity', 'sts:TagSession'] }, false],
    ['NotAction sts:TagSession', { Action: undefined, NotAction: 'sts:TagSession' }, true],
    ['NotAction sts:AssumeRole', { Action: undefined, NotAction: 'sts:AssumeRole' }, false],
    ['NotAction sts:*', { Action: undefined, NotAction: ['sts:*'] }, false],
    ['neither Action nor NotAction', { Action: undefined }, false],
  ])('grantsAssumeRole for %s: %s', (_name, action, expected) => {
    expect(one(allow(action)).grantsAssumeRole).toBe(expected);
  });

  it('lower-cases condition keys, keeps operators as written, and lists single values', () => {
    const s = one(
      allow({
        Condition: {
          StringEquals: { 'sts:ExternalId': ID, 'aws:SourceIp': ['10.0.0.1', '10.0.0.2'] },
          Bool: { 'aws:MultiFactorAuthPresent': true },
        },
      }),
    );
    expect(s.conditions).toEqual({
      StringEquals: { 'sts:externalid': [ID], 'aws:sourceip': ['10.0.0.1', '10.0.0.2'] },
      Bool: { 'aws:multifactorauthpresent': ['true'] },
    });
  });

  it('keeps Deny statements and the statement as written', () => {
    const raw = { Sid: 'NoOthers', Effect: 'Deny', Principal: { AWS: '*' }, Action: 'sts:AssumeRole', Unknown: 1 };
    const s = one(raw);
    expect(s).toMatchObject({ effect: 'Deny', sid: 'NoOthers', anyPrincipal: true, grantsAssumeRole: true, raw });
  });

  it('numbers statements in policy order', () => {
    expect(parseTrustPolicy(URL_ENCODED).map((s) => s.index)).toEqual([0]);
    expect(
      parseTrustPolicy({ Statement: [allow(), allow({ Sid: 'b' }), allow({ Effect: 'Deny' })] }).map((s) => [
        s.index,
        s.sid,
        s.effect,
      ]),
    ).toEqual([
      [0, null, 'Allow'],
      [1, 'b', 'Allow'],
      [2, null, 'Deny'],
    ]);
  });

  it.each<[string, unknown, RegExp]>([
    ['no Statement', { Version: '2012-10-17' }, /no Statement/],
    ['an empty Statement list', { Statement: [] }, /no Statement/],
    ['a statement that is not an object', { Statement: ['Allow'] }, /Statement\[0\] is not an object/],
    [
      'a statement without Effect',
      { Statement: [allow(), { Principal: '*', Action: '*' }] },
      /Statement\[1\] has no valid Effect/,
    ],
    [
      'a statement with a misspelt Effect',
      { Statement: [allow({ Effect: 'allow' })] },
      /Statement\[0\] has no valid Effect/,
    ],
    ['not JSON', '%7Bnot json', /not valid JSON/],
  ])('rejects %s', (_name, document, message) => {
    expect(() => parseTrustPolicy(document)).toThrow(TrustPolicyError);
    expect(() => parseTrustPolicy(document)).toThrow(message);
  });
});

describe('externalIdRequirement', () => {
  const requirement = (condition: Record<string, unknown>) =>
    externalIdRequirement(one(allow({ Condition: condition })));

  it('reads StringEquals with one value or a list as required values, whatever the key case', () => {
    expect(requirement({ StringEquals: { 'sts:ExternalId': ID } })).toEqual({
      required: [ID],
      weak: [],
      weakValues: [],
      weakPins: false,
    });
    expect(requirement({ StringEquals: { 'sts:externalid': [ID, 'ec-new-2', ID] } }).required).toEqual([
      ID,
      'ec-new-2',
    ]);
    expect(requirement({ StringEquals: { 'STS:EXTERNALID': ID } }).required).toEqual([ID]);
    // Condition operators are case-insensitive too, as IAM (and the evaluator) treat them.
    expect(requirement({ stringequals: { 'sts:ExternalId': ID } }).required).toEqual([ID]);
  });

  it('has no requirement without a condition on sts:ExternalId', () => {
    expect(externalIdRequirement(one(allow()))).toEqual({ required: [], weak: [], weakValues: [], weakPins: false });
    expect(requirement({ StringEquals: { 'aws:PrincipalOrgID': 'o-abc' } })).toEqual({
      required: [],
      weak: [],
      weakValues: [],
      weakPins: false,
    });
  });

  it.each<[string, Record<string, unknown>, string[], boolean]>([
    // Open: a request without the ID, or with another one, passes.
    ['StringEqualsIfExists', { StringEqualsIfExists: { 'sts:ExternalId': ID } }, [ID], false],
    ['StringEqualsIgnoreCase', { StringEqualsIgnoreCase: { 'sts:ExternalId': ID } }, [ID], false],
    ['StringLike with a wildcard', { StringLike: { 'sts:ExternalId': 'ec-*' } }, [], false],
    ['StringLike with ?', { StringLike: { 'sts:ExternalId': 'ec-7Hq2vN9xK4pL8mR?' } }, [], false],
    ['StringLikeIfExists without a wildcard', { StringLikeIfExists: { 'sts:ExternalId': ID } }, [ID], false],
    ['ForAllValues:StringEquals', { 'ForAllValues:StringEquals': { 'sts:ExternalId': ID } }, [ID], false],
    ['StringNotEquals', { StringNotEquals: { 'sts:ExternalId': 'tenant-4711' } }, [], false],
    ['Null false', { Null: { 'sts:ExternalId': 'false' } }, [], false],
    // Pinned, though not written as StringEquals: only the named IDs pass and a missing ID fails.
    ['ForAnyValue:StringEquals', { 'ForAnyValue:StringEquals': { 'sts:ExternalId': ID } }, [ID], true],
    ['StringLike without a wildcard', { StringLike: { 'sts:ExternalId': ID } }, [ID], true],
    [
      'ForAnyValue:StringLike without a wildcard',
      { 'ForAnyValue:StringLike': { 'sts:ExternalId': [ID, 'ec-2'] } },
      [ID, 'ec-2'],
      true,
    ],
  ])('%s is weak (names %j, pins: %s)', (_name, condition, weakValues, pins) => {
    const r = requirement(condition);
    expect(r.required).toEqual([]);
    expect(r.weak).toHaveLength(1);
    expect(r.weak[0]!.startsWith(Object.keys(condition)[0]!)).toBe(true);
    expect(r.weakValues).toEqual(weakValues);
    expect(r.weakPins).toBe(pins);
    for (const id of [ID, 'tenant-4711', 'ec-2']) expect(r.weak.join(' ')).not.toContain(id);
  });

  it('shows a wildcard value as a masked pattern', () => {
    expect(requirement({ StringLike: { 'sts:ExternalId': 'ec-7Hq2*' } }).weak).toEqual([
      expect.stringMatching(/^StringLike pattern ec…#[0-9a-f]{8}$/),
    ]);
  });

  it('keeps StringEquals as the requirement when a weak condition is also present (conditions are ANDed)', () => {
    const r = requirement({ StringEquals: { 'sts:ExternalId': ID }, StringLike: { 'sts:ExternalId': 'ec-*' } });
    expect(r.required).toEqual([ID]);
    expect(r.weak).toHaveLength(1);
  });
});
