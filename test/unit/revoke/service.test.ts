import { describe, expect, it } from '@jest/globals';
import { loadConfig } from '../../../lib/config.js';
import { indexRegistry, type Registry } from '../../../lib/registry/index.js';
import { isTransientIamError, withIamRetry } from '../../../lib/revoke/apply.js';
import { protectedReason } from '../../../lib/revoke/respond.js';
import { callerKey } from '../../../lib/revoke/service.js';

const named = (name: string, status?: number) =>
  Object.assign(new Error(name), { name, $metadata: status === undefined ? {} : { httpStatusCode: status } });

describe('IAM retries', () => {
  it('retry throttling, 5xx, concurrent modification and network errors; not access or validation errors', () => {
    for (const e of [
      named('Throttling', 400),
      named('ThrottlingException', 400),
      named('ServiceFailure', 500),
      named('ConcurrentModification', 409),
      named('Whatever', 503),
      named('TimeoutError'),
      named('ECONNRESET'),
    ])
      expect([e.name, isTransientIamError(e)]).toEqual([e.name, true]);
    for (const e of [
      named('AccessDenied', 403),
      named('NoSuchEntity', 404),
      named('MalformedPolicyDocument', 400),
      named('LimitExceeded', 409),
      named('CredentialsProviderError'),
    ])
      expect([e.name, isTransientIamError(e)]).toEqual([e.name, false]);
  });

  it('are bounded, back off, and give up at once on what will not get better', async () => {
    const waits: number[] = [];
    const sleep = async (ms: number) => void waits.push(ms);
    let calls = 0;
    await expect(
      withIamRetry(
        async () => {
          calls++;
          throw named('Throttling', 400);
        },
        { attempts: 4, baseMs: 100, sleep },
      ),
    ).rejects.toThrow('Throttling');
    expect(calls).toBe(4);
    expect(waits).toHaveLength(3);
    for (const [i, w] of waits.entries()) expect(w).toBeGreaterThanOrEqual(100 * 2 ** i * 0.5);
    for (const [i, w] of waits.entries()) expect(w).toBeLessThanOrEqual(100 * 2 ** i);
    calls = 0;
    await expect(
      withIamRetry(
        async () => {
          calls++;
          throw named('AccessDenied', 403);
        },
        { sleep },
      ),
    ).rejects.toThrow('AccessDenied');
    expect(calls).toBe(1);
    calls = 0;
    expect(
      await withIamRetry(async () => (++calls < 3 ? Promise.reject(named('Throttling', 400)) : 'ok'), { sleep }),
    ).toBe('ok');
  });
});

describe('callerKey: the same caller across sessions', () => {
  it('is the account and the principal id without its session part', () => {
    expect(
      callerKey({ callerAccountId: '999988887777', callerPrincipalId: 'AROAVENDORROLE00001:scan-1', callerArn: null }),
    ).toBe('999988887777/AROAVENDORROLE00001');
    expect(
      callerKey({
        callerAccountId: '999988887777',
        callerPrincipalId: 'AROAVENDORROLE00001:scan-2',
        callerArn: 'arn:aws:sts::999988887777:assumed-role/Scanner/scan-2',
      }),
    ).toBe('999988887777/AROAVENDORROLE00001');
    expect(
      callerKey({ callerAccountId: '999988887777', callerPrincipalId: 'AIDAVENDORUSER00001', callerArn: null }),
    ).toBe('999988887777/AIDAVENDORUSER00001');
  });

  it('falls back to the role behind an assumed-role ARN, then to the account; nothing when nothing is known', () => {
    expect(
      callerKey({
        callerAccountId: '999988887777',
        callerPrincipalId: null,
        callerArn: 'arn:aws:sts::999988887777:assumed-role/Scanner/scan-2',
      }),
    ).toBe('999988887777/arn:aws:iam::999988887777:role/Scanner');
    expect(callerKey({ callerAccountId: '999988887777', callerPrincipalId: null, callerArn: null })).toBe(
      '999988887777/account',
    );
    expect(callerKey({ callerAccountId: null, callerPrincipalId: null, callerArn: null })).toBeNull();
  });
});

describe('protected roles', () => {
  const registry = {
    serviceRoleArns: ['arn:aws:iam::111122223333:role/ops/roleguard-deployer'],
    protectedRoleArns: ['arn:aws:iam::*:role/BreakGlass*'],
  };
  it('are refused with the reason; other roles are not', () => {
    expect(
      protectedReason(
        'arn:aws:iam::111122223333:role/aws-service-role/support.amazonaws.com/AWSServiceRoleForSupport',
        registry,
      ),
    ).toBe('it is a service-linked role');
    expect(
      protectedReason(
        'arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_0123',
        registry,
      ),
    ).toMatch(/IAM Identity Center/);
    expect(protectedReason('arn:aws:iam::111122223333:role/ops/roleguard-deployer', registry)).toBe(
      "it is one of roleguard's own roles",
    );
    expect(
      protectedReason('arn:aws:iam::111122223333:role/roleguard-prod-SweepRole-ABC', registry, [
        'arn:aws:iam::111122223333:role/roleguard-prod-*',
      ]),
    ).toBe("it is one of roleguard's own roles");
    expect(protectedReason('arn:aws:iam::444455556666:role/BreakGlassAdmin', registry)).toBe(
      'it is listed in protectedRoleArns',
    );
    expect(protectedReason('not-an-arn', registry)).toBe('its ARN is not a valid role ARN');
    expect(
      protectedReason('arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit', registry, [
        'arn:aws:iam::111122223333:role/roleguard-prod-*',
      ]),
    ).toBeNull();
  });

  it("anchors roleguard's own role pattern to the role name: a role under a look-alike path is not roleguard's", () => {
    const own = ['arn:aws:iam::*:role/roleguard-prod-*'];
    const none = { protectedRoleArns: [], serviceRoleArns: [] };
    expect(protectedReason('arn:aws:iam::111122223333:role/roleguard-prod-x/Admin', none, own)).toBeNull();
    expect(protectedReason('arn:aws:iam::111122223333:role/roleguard-prod-SweepRole-ABC', none, own)).toBe(
      "it is one of roleguard's own roles",
    );
    // Detection takes the same view: IAM changes by such a role are not roleguard's own.
    const index = indexRegistry({ ...none, roles: [] } as unknown as Registry, own);
    expect(index.isServicePrincipal('arn:aws:iam::111122223333:role/roleguard-prod-x/Admin')).toBe(false);
    expect(index.isServicePrincipal('arn:aws:iam::111122223333:role/roleguard-prod-SweepRole-ABC')).toBe(true);
  });

  it('reads the account roleguard runs in from AWS_ACCOUNT_ID, and refuses one that is not an account id', () => {
    const env = { SESSIONS_TABLE: 's', REGISTRY_TABLE: 'r', ALERTS_TABLE: 'a' };
    expect(loadConfig({ ...env, AWS_ACCOUNT_ID: '111122223333' }).accountId).toBe('111122223333');
    expect(loadConfig(env).accountId).toBeNull();
    expect(() => loadConfig({ ...env, AWS_ACCOUNT_ID: '1111-2222' })).toThrow(/AWS_ACCOUNT_ID must be a 12-digit/);
  });
});
