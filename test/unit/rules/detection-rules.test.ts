import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { classifyRecord } from '../../../lib/cloudtrail/classify.js';
import type { AssumeEvent, TrustPolicyChangeEvent } from '../../../lib/cloudtrail/types.js';
import {
  deniedAssume,
  detectAssume,
  detectTrustChange,
  type Finding,
  missingExternalId,
  retiredExternalId,
  trustPolicyChanged,
  unexpectedExternalId,
  untrustedAccount,
} from '../../../lib/detect/index.js';
import { assumedAfterRevocation } from '../../../lib/detect/rules.js';
import { indexRegistry, type RegisteredRole } from '../../../lib/registry/index.js';
import { parseRegistryText } from '../../../lib/registry/text.js';
import { assumeRecord, EVENTS_DIR, loadJson } from '../../helpers/fixtures.js';

// Each rule: a positive case and the negatives that matter, on events built from realistic CloudTrail records.
const ROLE = 'arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit';
const IDS = {
  current: 'ec-current-7Hq2vN9x',
  pending: 'ec-pending-Zr5tW1qB',
  retired: 'ec-retired-a1b2c3',
  wrong: 'tenant-4711-example',
};
const index = indexRegistry(
  parseRegistryText(
    `serviceRoleArns: ["arn:aws:iam::111122223333:role/roleguard-*"]
roles:
  - roleArn: ${ROLE}
    vendor: Example Corp
    trustedAccounts: ["999988887777"]
    externalIds: { current: "${IDS.current}", pending: "${IDS.pending}", retired: ["${IDS.retired}"] }
`,
    'test registry',
  ),
);
const role = index.registry.roles[0]!;

function assume(
  options: { externalId?: string | null; account?: string; eventName?: string; roleArn?: string } = {},
): AssumeEvent {
  const base = assumeRecord({ eventID: `e-${Math.random()}` });
  const params: Record<string, unknown> = {
    ...(base.requestParameters as Record<string, unknown>),
    roleArn: options.roleArn ?? ROLE,
  };
  if (options.externalId === null) delete params.externalId;
  else params.externalId = options.externalId ?? IDS.current;
  const account = options.account ?? '999988887777';
  const event = classifyRecord(
    {
      ...base,
      requestParameters: params,
      userIdentity: { type: 'AWSAccount', principalId: `AIDA${account}`, accountId: account },
    },
    { recordAwsServiceAssumes: false },
  );
  if (event.kind !== 'assume') throw new Error(`fixture is not an assume: ${JSON.stringify(event)}`);
  return event;
}

const denied = (): AssumeEvent => {
  const event = classifyRecord(
    (loadJson(join(EVENTS_DIR, 'eventbridge-assume-role-denied.json')) as { detail: unknown }).detail,
    { recordAwsServiceAssumes: false },
  );
  if (event.kind !== 'assume') throw new Error('not an assume');
  return event;
};

const SOUND_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::999988887777:root' },
      Action: 'sts:AssumeRole',
      Condition: { StringEquals: { 'sts:ExternalId': [IDS.current, IDS.pending] } },
    },
  ],
});

function trustChange(
  callerRole: string,
  overrides: { account?: string; roleName?: string; errorCode?: string; policy?: string } = {},
): TrustPolicyChangeEvent {
  const detail = structuredClone(
    (loadJson(join(EVENTS_DIR, 'eventbridge-update-assume-role-policy.json')) as { detail: Record<string, unknown> })
      .detail,
  );
  const identity = detail.userIdentity as { arn: string; sessionContext: { sessionIssuer: { arn: string } } };
  identity.arn = `arn:aws:sts::111122223333:assumed-role/${callerRole}/s`;
  identity.sessionContext.sessionIssuer.arn = `arn:aws:iam::111122223333:role/${callerRole}`;
  if (overrides.account) detail.recipientAccountId = overrides.account;
  if (overrides.roleName) (detail.requestParameters as { roleName: string }).roleName = overrides.roleName;
  (detail.requestParameters as { policyDocument: string }).policyDocument = overrides.policy ?? SOUND_POLICY;
  if (overrides.errorCode)
    Object.assign(detail, { errorCode: overrides.errorCode, errorMessage: 'denied', responseElements: null });
  const event = classifyRecord(detail, { recordAwsServiceAssumes: false });
  if (event.kind !== 'trust-policy-change') throw new Error(`not a trust change: ${JSON.stringify(event)}`);
  return event;
}

const kinds = (findings: Finding[]) => findings.map((f) => [f.kind, f.severity]);

describe('detection rules', () => {
  it('unexpected-external-id: raised for an unknown ID; not for current, pending, retired, no ID, or a failed assume', () => {
    expect(kinds(unexpectedExternalId(assume({ externalId: IDS.wrong }), role))).toEqual([
      ['unexpected-external-id', 'critical'],
    ]);
    // IAM's StringEquals is case-sensitive: a different case is a different ID.
    expect(kinds(unexpectedExternalId(assume({ externalId: IDS.current.toUpperCase() }), role))).toEqual([
      ['unexpected-external-id', 'critical'],
    ]);
    for (const id of [IDS.current, IDS.pending, IDS.retired, null])
      expect(unexpectedExternalId(assume({ externalId: id }), role)).toEqual([]);
    expect(unexpectedExternalId({ ...assume({ externalId: IDS.wrong }), outcome: 'denied' }, role)).toEqual([]);
  });

  it('retired-external-id: raised for a retired ID only', () => {
    expect(kinds(retiredExternalId(assume({ externalId: IDS.retired }), role))).toEqual([
      ['retired-external-id', 'critical'],
    ]);
    for (const id of [IDS.current, IDS.pending, IDS.wrong, null])
      expect(retiredExternalId(assume({ externalId: id }), role)).toEqual([]);
  });

  it('missing-external-id: a cross-account AssumeRole without an ID; not same-account, not SAML or web identity', () => {
    expect(kinds(missingExternalId(assume({ externalId: null }), role))).toEqual([['missing-external-id', 'critical']]);
    expect(missingExternalId(assume({ externalId: null, account: '111122223333' }), role)).toEqual([]);
    expect(missingExternalId(assume({ externalId: IDS.current }), role)).toEqual([]);
    expect(missingExternalId({ ...assume({ externalId: null }), eventName: 'AssumeRoleWithSAML' }, role)).toEqual([]);
    expect(
      missingExternalId({ ...assume({ externalId: null }), eventName: 'AssumeRoleWithWebIdentity' }, role),
    ).toEqual([]);
  });

  it("untrusted-account: an account outside trustedAccounts and the role's own", () => {
    expect(kinds(untrustedAccount(assume({ account: '444455556666' }), role))).toEqual([
      ['untrusted-account', 'critical'],
    ]);
    expect(untrustedAccount(assume(), role)).toEqual([]);
    expect(untrustedAccount(assume({ account: '111122223333' }), role)).toEqual([]);
    expect(untrustedAccount({ ...assume({ account: '444455556666' }), outcome: 'denied' }, role)).toEqual([]);
  });

  it('denied-assume: failed assumes only', () => {
    expect(kinds(deniedAssume(denied(), role))).toEqual([['denied-assume', 'medium']]);
    expect(deniedAssume(assume(), role)).toEqual([]);
  });

  it('trust-policy-changed: by a person (high, critical when it opens the door), denied (medium); not by the service, another account, or another role', () => {
    const registered: RegisteredRole = role;
    expect(
      kinds(trustPolicyChanged(trustChange('AWSReservedSSO_PlatformAdmin_0123456789abcdef'), registered, index)),
    ).toEqual([['trust-policy-changed', 'high']]);
    expect(
      kinds(
        trustPolicyChanged(
          trustChange('AWSReservedSSO_PlatformAdmin_0123456789abcdef', { errorCode: 'AccessDenied' }),
          registered,
          index,
        ),
      ),
    ).toEqual([['trust-policy-changed', 'medium']]);
    expect(trustPolicyChanged(trustChange('roleguard-prod-rotate'), registered, index)).toEqual([]);
    // The new policy is read: a change that drops the external-ID condition is critical, and says so.
    const opened = trustPolicyChanged(
      trustChange('someone', {
        policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { AWS: '999988887777' }, Action: 'sts:AssumeRole' }],
        }),
      }),
      registered,
      index,
    );
    expect(kinds(opened)).toEqual([['trust-policy-changed', 'critical']]);
    expect(opened[0]!.message).toMatch(/without requiring an external ID/);
    expect(trustPolicyChanged(trustChange('someone'), registered, index)[0]!.message).toMatch(
      /the new policy matches the registry$/,
    );
    // Matched by account and name although the registered ARN has a path; a same-named role elsewhere is not it.
    expect(kinds(detectTrustChange(trustChange('someone'), index))).toEqual([['trust-policy-changed', 'high']]);
    expect(detectTrustChange(trustChange('someone', { account: '222233334444' }), index)).toEqual([]);
    expect(detectTrustChange(trustChange('someone', { roleName: 'OtherRole' }), index)).toEqual([]);
    // A pattern's regex metacharacters are literal: roleguard-.* must not match roleguardXprod.
    expect(kinds(detectTrustChange(trustChange('roleguardXprod'), index))).toEqual([['trust-policy-changed', 'high']]);
  });

  it('an unregistered role raises nothing, and no finding holds a full external ID', () => {
    expect(
      detectAssume(assume({ externalId: IDS.wrong, roleArn: 'arn:aws:iam::111122223333:role/Other' }), index),
    ).toEqual([]);
    const all = [IDS.wrong, IDS.retired, null].flatMap((id) =>
      detectAssume(assume({ externalId: id, account: '444455556666' }), index),
    );
    expect(all.map((f) => f.kind).sort()).toEqual([
      'missing-external-id',
      'retired-external-id',
      'unexpected-external-id',
      'untrusted-account',
      'untrusted-account',
      'untrusted-account',
    ]);
    const text = JSON.stringify(all);
    for (const id of Object.values(IDS)) expect(text).not.toContain(id);
    expect(text).toMatch(/tena…#[0-9a-f]{8}/);
  });
});

describe('assumed-after-revocation', () => {
  // The base event was issued at 2026-11-02T09:15:04Z. Cross-account, the caller key is the vendor's principal, which
  // an attacker on the vendor's platform shares: only a caller that is not the vendor, or a wrong ID, is a finding.
  const REVOKED = '2026-11-02T09:00:00Z';
  const sameAccountUser = (externalId: string | null = IDS.current): AssumeEvent => ({
    ...assume({ account: '111122223333', externalId }),
    callerType: 'IAMUser',
    callerArn: 'arn:aws:iam::111122223333:user/mallory',
  });

  it('is not raised for the vendor itself: a trusted account with the current or pending ID', () => {
    expect(assumedAfterRevocation(assume(), role, REVOKED)).toEqual([]);
    expect(assumedAfterRevocation(assume({ externalId: IDS.pending }), role, REVOKED)).toEqual([]);
  });

  it('is high for a caller that is not the vendor, and names the ID it used', () => {
    expect(kinds(assumedAfterRevocation(sameAccountUser(), role, REVOKED))).toEqual([
      ['assumed-after-revocation', 'high'],
    ]);
    expect(assumedAfterRevocation(sameAccountUser(), role, REVOKED)[0]!.message).toMatch(
      /^arn:aws:iam::111122223333:user\/mallory assumed Example Corp's role again, with the registered external ID, after roleguard revoked its session at 2026-11-02T09:00:00Z/,
    );
    expect(kinds(assumedAfterRevocation(assume({ account: '444455556666' }), role, REVOKED))).toEqual([
      ['assumed-after-revocation', 'high'],
    ]);
  });

  it("is high for the vendor's account coming back with a wrong, retired or no ID", () => {
    expect(assumedAfterRevocation(assume({ externalId: IDS.wrong }), role, REVOKED)[0]!.message).toMatch(
      /with external ID tena…#/,
    );
    expect(kinds(assumedAfterRevocation(assume({ externalId: IDS.retired }), role, REVOKED))).toEqual([
      ['assumed-after-revocation', 'high'],
    ]);
    expect(assumedAfterRevocation(assume({ externalId: null }), role, REVOKED)[0]!.message).toMatch(
      /with no external ID/,
    );
  });

  it('is not raised for the revoked session itself (issued before the decision), nor for a denied attempt', () => {
    expect(assumedAfterRevocation(sameAccountUser(), role, '2026-11-02T09:15:05Z')).toEqual([]);
    expect(assumedAfterRevocation(denied(), role, '2000-01-01T00:00:00Z')).toEqual([]);
  });
});
