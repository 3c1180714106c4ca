import { GetRoleCommand, IAMClient, NoSuchEntityException } from '@aws-sdk/client-iam';
import { describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import type { RegisteredRole, Registry } from '../../../lib/registry/index.js';
import { auditRegistry, iamTrustPolicyReader, type TrustPolicyReader } from '../../../lib/trust/index.js';

const ACCOUNT = '111122223333';
const VENDOR = '999988887777';
const ID = 'ec-7Hq2vN9xK4pL8mR3';
const OLD = 'ec-OLD-2025-a1b2c3';

const role = (name: string, over: Partial<RegisteredRole> = {}): RegisteredRole => ({
  roleArn: `arn:aws:iam::${ACCOUNT}:role/vendors/${name}`,
  vendor: name,
  trustedAccounts: [VENDOR],
  externalIds: { current: ID, pending: null, retired: [OLD] },
  response: 'alert',
  rotation: null,
  ...over,
});
const registry = (...roles: RegisteredRole[]): Registry => ({ serviceRoleArns: [], protectedRoleArns: [], roles });
const trust = (condition: Record<string, unknown> | null) =>
  encodeURIComponent(
    JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${VENDOR}:root` },
          Action: 'sts:AssumeRole',
          ...(condition ? { Condition: condition } : {}),
        },
      ],
    }),
  );
const SOUND = trust({ StringEquals: { 'sts:ExternalId': ID } });

/** A reader over a fixed set of roles, by name, recording what it was asked. */
function fakeReader(roles: Record<string, { arn: string; document: string }>): TrustPolicyReader & { asked: string[] } {
  const asked: string[] = [];
  const read = async (name: string) => {
    asked.push(name);
    return roles[name] ?? null;
  };
  return Object.assign(read, { asked });
}

describe('auditRegistry', () => {
  it('passes a role whose trust policy matches the registry, reading it by role name (GetRole takes no path)', async () => {
    const read = fakeReader({ Good: { arn: `arn:aws:iam::${ACCOUNT}:role/vendors/Good`, document: SOUND } });
    const report = await auditRegistry(registry(role('Good')), read);
    expect(read.asked).toEqual(['Good']);
    expect(report).toEqual({
      summary: { roles: 1, ok: 1, withProblems: 0, notFound: 0, otherAccount: 0, critical: 0, high: 0, medium: 0 },
      roles: [{ roleArn: `arn:aws:iam::${ACCOUNT}:role/vendors/Good`, vendor: 'Good', status: 'ok', problems: [] }],
    });
  });

  it('reads a trust policy given as plain JSON too', async () => {
    const report = await auditRegistry(
      registry(role('Good')),
      fakeReader({ Good: { arn: `arn:aws:iam::${ACCOUNT}:role/vendors/Good`, document: decodeURIComponent(SOUND) } }),
    );
    expect(report.roles[0]!.status).toBe('ok');
  });

  it('reports a role IAM does not have as not-found', async () => {
    const report = await auditRegistry(registry(role('Gone')), fakeReader({}));
    expect(report.roles).toEqual([
      {
        roleArn: `arn:aws:iam::${ACCOUNT}:role/vendors/Gone`,
        vendor: 'Gone',
        status: 'not-found',
        problems: [expect.objectContaining({ kind: 'unreadable-policy', severity: 'medium', statement: null })],
      },
    ]);
    expect(report.roles[0]!.problems[0]!.message).toMatch(/IAM has no role named Gone/);
    expect(report.summary).toMatchObject({ roles: 1, ok: 0, withProblems: 0, notFound: 1, medium: 1 });
  });

  it('does not analyse a role of the same name in another account', async () => {
    // The credentials read account 555566667777, which has a role of that name with a wide-open, unreadable policy.
    const read = fakeReader({
      Elsewhere: { arn: 'arn:aws:iam::555566667777:role/vendors/Elsewhere', document: '%7Bnot json' },
    });
    const report = await auditRegistry(registry(role('Elsewhere')), read);
    expect(report.roles).toEqual([
      {
        roleArn: `arn:aws:iam::${ACCOUNT}:role/vendors/Elsewhere`,
        vendor: 'Elsewhere',
        status: 'other-account',
        problems: [],
      },
    ]);
    expect(report.summary).toEqual({
      roles: 1,
      ok: 0,
      withProblems: 0,
      notFound: 0,
      otherAccount: 1,
      critical: 0,
      high: 0,
      medium: 0,
    });
    // An ARN that is not a role ARN at all is not the registered role either.
    expect(
      (
        await auditRegistry(
          registry(role('Elsewhere')),
          fakeReader({ Elsewhere: { arn: 'not-an-arn', document: SOUND } }),
        )
      ).roles[0]!.status,
    ).toBe('other-account');
  });

  it("analyses a role of the same account whose path differs from the registry's", async () => {
    const report = await auditRegistry(
      registry(role('Moved')),
      fakeReader({ Moved: { arn: `arn:aws:iam::${ACCOUNT}:role/Moved`, document: SOUND } }),
    );
    expect(report.roles[0]!.status).toBe('ok');
  });

  it('counts every status and severity in the summary, and keeps registry order', async () => {
    const arn = (name: string) => `arn:aws:iam::${ACCOUNT}:role/vendors/${name}`;
    const read = fakeReader({
      Good: { arn: arn('Good'), document: SOUND },
      // no-external-id (critical) and external-ids-differ (high)
      Open: { arn: arn('Open'), document: trust(null) },
      // weak-external-id-condition (high)
      Weak: { arn: arn('Weak'), document: trust({ StringEqualsIfExists: { 'sts:ExternalId': ID } }) },
      // external-ids-differ (high): the retired ID still accepted
      Retired: { arn: arn('Retired'), document: trust({ StringEquals: { 'sts:ExternalId': [ID, OLD] } }) },
      // unreadable-policy (high), and nothing compared with the registry
      Broken: { arn: arn('Broken'), document: '%7Bnot json' },
      Elsewhere: { arn: 'arn:aws:iam::555566667777:role/vendors/Elsewhere', document: SOUND },
    });
    const names = ['Good', 'Open', 'Weak', 'Gone', 'Retired', 'Broken', 'Elsewhere'];
    const report = await auditRegistry(registry(...names.map((n) => role(n))), read);
    expect(read.asked).toEqual(names);
    expect(report.roles.map((r) => [r.vendor, r.status, r.problems.map((p) => p.kind)])).toEqual([
      ['Good', 'ok', []],
      ['Open', 'problems', ['no-external-id', 'external-ids-differ']],
      ['Weak', 'problems', ['weak-external-id-condition']],
      ['Gone', 'not-found', ['unreadable-policy']],
      ['Retired', 'problems', ['external-ids-differ']],
      ['Broken', 'problems', ['unreadable-policy']],
      ['Elsewhere', 'other-account', []],
    ]);
    expect(report.summary).toEqual({
      roles: 7,
      ok: 1,
      withProblems: 4,
      notFound: 1,
      otherAccount: 1,
      critical: 1,
      high: 4,
      medium: 1,
    });
    const text = JSON.stringify(report);
    for (const id of [ID, OLD]) expect(text).not.toContain(id);
  });

  it('audits an empty registry', async () => {
    expect(await auditRegistry(registry(), fakeReader({}))).toEqual({
      summary: { roles: 0, ok: 0, withProblems: 0, notFound: 0, otherAccount: 0, critical: 0, high: 0, medium: 0 },
      roles: [],
    });
  });

  it('lets a reader failure through, so the scheduled run is retried', async () => {
    const read: TrustPolicyReader = async () => {
      throw new Error('throttled');
    };
    await expect(auditRegistry(registry(role('Good')), read)).rejects.toThrow('throttled');
  });
});

describe('iamTrustPolicyReader', () => {
  it('returns the ARN and the URL-encoded document from GetRole, and null for NoSuchEntity', async () => {
    const iam = mockClient(IAMClient);
    try {
      iam.on(GetRoleCommand, { RoleName: 'Good' }).resolves({
        Role: {
          Arn: `arn:aws:iam::${ACCOUNT}:role/vendors/Good`,
          AssumeRolePolicyDocument: SOUND,
          RoleName: 'Good',
          Path: '/vendors/',
          RoleId: 'AROAEXAMPLE',
          CreateDate: new Date(0),
        },
      });
      iam
        .on(GetRoleCommand, { RoleName: 'Gone' })
        .rejects(new NoSuchEntityException({ message: 'The role with name Gone cannot be found.', $metadata: {} }));
      iam
        .on(GetRoleCommand, { RoleName: 'Throttled' })
        .rejects(Object.assign(new Error('Rate exceeded'), { name: 'Throttling' }));
      const read = iamTrustPolicyReader(new IAMClient({ region: 'us-east-1' }));
      expect(await read('Good')).toEqual({ arn: `arn:aws:iam::${ACCOUNT}:role/vendors/Good`, document: SOUND });
      expect(await read('Gone')).toBeNull();
      await expect(read('Throttled')).rejects.toThrow('Rate exceeded');
      expect(iam.commandCalls(GetRoleCommand).map((c) => c.args[0].input)).toEqual([
        { RoleName: 'Good' },
        { RoleName: 'Gone' },
        { RoleName: 'Throttled' },
      ]);
    } finally {
      iam.restore();
    }
  });
});
