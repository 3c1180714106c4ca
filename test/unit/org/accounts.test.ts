import { IAMClient } from '@aws-sdk/client-iam';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { loadConfig } from '../../../lib/config.js';
import {
  AccountAccessError,
  createAccountAccess,
  iamByRole,
  type SpokeCredentials,
  spokeSessionName,
} from '../../../lib/org/accounts.js';
import { indexRegistry } from '../../../lib/registry/match.js';
import { protectedReason } from '../../../lib/revoke/respond.js';

const HUB = '111122223333';
const MEMBER = '444455556666';
const OTHER = '777788889999';
const SPOKE = 'roleguard-prod-spoke';
const sts = mockClient(STSClient);
afterAll(() => sts.restore());

let clock: Date;
let made: (SpokeCredentials | undefined)[];
let issued: number;

/** STS hands out credentials valid for one hour from the (fake) clock, each with a new key. */
function answerAssumes(delayMs = 0): void {
  sts.on(AssumeRoleCommand).callsFake(async () => {
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
    issued++;
    return {
      Credentials: {
        AccessKeyId: `ASIAKEY${issued}`,
        SecretAccessKey: 'secret',
        SessionToken: 'token',
        Expiration: new Date(clock.getTime() + 3600_000),
      },
    };
  });
}

const access = (orgId: string | null = 'o-a1b2c3d4e5') =>
  createAccountAccess({
    hubAccountId: HUB,
    orgId,
    spokeRoleName: SPOKE,
    sts: new STSClient({ region: 'us-east-1' }),
    now: () => clock,
    makeIam: (credentials) => {
      made.push(credentials);
      return new IAMClient({ region: 'us-east-1', ...(credentials ? { credentials } : {}) });
    },
  });

beforeEach(() => {
  sts.reset();
  clock = new Date('2026-11-30T10:00:00Z');
  made = [];
  issued = 0;
});

describe('acting in member accounts', () => {
  it('the hub account uses the own credentials, with no AssumeRole', async () => {
    answerAssumes();
    const a = access();
    const first = await a.iamFor(HUB, 'revoke');
    expect(await a.iamFor(HUB, 'audit')).toBe(first);
    expect(made).toEqual([undefined]);
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(0);
  });

  it('another account: assumes its spoke role with session roleguard-<purpose>', async () => {
    answerAssumes();
    await access().iamFor(MEMBER, 'revoke');
    expect(sts.commandCalls(AssumeRoleCommand).map((c) => c.args[0].input)).toEqual([
      { RoleArn: `arn:aws:iam::${MEMBER}:role/${SPOKE}`, RoleSessionName: 'roleguard-revoke' },
    ]);
    expect(made[0]?.accessKeyId).toBe('ASIAKEY1');
  });

  it('caches the credentials per account until 5 minutes before they expire', async () => {
    answerAssumes();
    const a = access();
    const first = await a.iamFor(MEMBER, 'revoke');
    clock = new Date(clock.getTime() + 54 * 60_000); // 6 minutes left
    expect(await a.iamFor(MEMBER, 'revoke')).toBe(first);
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(1);
    // Another account has its own credentials.
    await a.iamFor(OTHER, 'revoke');
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(2);
    clock = new Date(clock.getTime() + 60_001); // under 5 minutes left
    const renewed = await a.iamFor(MEMBER, 'revoke');
    expect(renewed).not.toBe(first);
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(3);
    expect(await a.iamFor(MEMBER, 'revoke')).toBe(renewed);
  });

  it('concurrent first calls share one AssumeRole', async () => {
    answerAssumes(20);
    const a = access();
    const clients = await Promise.all(Array.from({ length: 10 }, () => a.iamFor(MEMBER, 'revoke')));
    expect(new Set(clients).size).toBe(1);
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(1);
  });

  it('a failed assume is not cached, and the error names the account and the spoke role', async () => {
    sts
      .on(AssumeRoleCommand)
      .rejectsOnce(
        Object.assign(new Error('User is not authorized to perform: sts:AssumeRole'), { name: 'AccessDenied' }),
      );
    const a = access();
    const failure = (await a.iamFor(MEMBER, 'rotate').catch((e: unknown) => e)) as AccountAccessError;
    expect(failure).toBeInstanceOf(AccountAccessError);
    expect(failure.accountId).toBe(MEMBER);
    expect(failure.message).toContain(`account ${MEMBER}`);
    expect(failure.message).toContain(`arn:aws:iam::${MEMBER}:role/${SPOKE}`);
    expect(failure.message).toContain(
      'the spoke role is missing or does not trust this hub: deploy the spoke StackSet',
    );
    answerAssumes();
    await a.iamFor(MEMBER, 'rotate');
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(2);
  });

  it('without an organization a role of another account is refused, as in one account, and nothing is assumed', async () => {
    answerAssumes();
    const a = access(null);
    expect(a.refusal(HUB)).toBeNull();
    expect(a.refusal(MEMBER)).toContain(`the role is in account ${MEMBER}, but roleguard runs in account ${HUB}`);
    await expect(a.iamFor(MEMBER, 'revoke')).rejects.toThrow(/refused: the role is in account 444455556666/);
    await expect(iamByRole(a, 'rotate')(`arn:aws:iam::${MEMBER}:role/x`)).rejects.toBeInstanceOf(AccountAccessError);
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(0);
  });

  it('session names stay within STS limits: at most 64 of [\\w+=,.@-]', () => {
    expect(spokeSessionName('revoke')).toBe('roleguard-revoke');
    expect(spokeSessionName('canary-eu west/1')).toBe('roleguard-canary-eu-west-1');
    const long = spokeSessionName(`canary-${'x'.repeat(100)}`);
    expect(long).toHaveLength(64);
    expect(long).toMatch(/^roleguard-[\w+=,.@-]+$/);
  });
});

describe("roleguard's own principals in member accounts", () => {
  const config = loadConfig({
    SESSIONS_TABLE: 's',
    REGISTRY_TABLE: 'r',
    ALERTS_TABLE: 'a',
    AWS_ACCOUNT_ID: HUB,
    OWN_ROLE_ARNS: `arn:aws:iam::${HUB}:role/roleguard-prod-*`,
    ORG_ID: 'o-a1b2c3d4e5',
    SPOKE_ROLE_NAME: SPOKE,
  });
  const index = indexRegistry({ roles: [], serviceRoleArns: [], protectedRoleArns: [] }, config.ownRoleArns);

  it('the spoke sessions and the hub roles are roleguard; a lookalike is not', () => {
    expect(index.isServicePrincipal(`arn:aws:sts::${MEMBER}:assumed-role/${SPOKE}/roleguard-revoke`, null)).toBe(true);
    expect(
      index.isServicePrincipal(
        `arn:aws:sts::${MEMBER}:assumed-role/${SPOKE}/roleguard-revoke`,
        `arn:aws:iam::${MEMBER}:role/${SPOKE}`,
      ),
    ).toBe(true);
    // The spoke role's issuer ARN alone does not decide: any session of the role carries it, and a member-account
    // admin can make the role trust them. Only a roleguard-* session of it, at its own path, is roleguard's.
    expect(index.isServicePrincipal(null, `arn:aws:iam::${MEMBER}:role/${SPOKE}`)).toBe(false);
    expect(
      index.isServicePrincipal(
        `arn:aws:sts::${MEMBER}:assumed-role/${SPOKE}/alice`,
        `arn:aws:iam::${MEMBER}:role/${SPOKE}`,
      ),
    ).toBe(false);
    expect(
      index.isServicePrincipal(
        `arn:aws:sts::${MEMBER}:assumed-role/${SPOKE}/roleguard-revoke`,
        `arn:aws:iam::${MEMBER}:role/evil/${SPOKE}`,
      ),
    ).toBe(false);
    expect(
      index.isServicePrincipal(
        `arn:aws:sts::${HUB}:assumed-role/roleguard-prod-hub-on-assume-role/x`,
        `arn:aws:iam::${HUB}:role/roleguard-prod-hub-on-assume-role`,
      ),
    ).toBe(true);
    expect(
      index.isServicePrincipal(
        `arn:aws:sts::${MEMBER}:assumed-role/Admin/roleguard-revoke`,
        `arn:aws:iam::${MEMBER}:role/Admin`,
      ),
    ).toBe(false);
    expect(index.isServicePrincipal(null, `arn:aws:iam::${MEMBER}:role/evil/${SPOKE}`)).toBe(false);
  });

  it('the spoke role itself is never revoked', () => {
    const registry = { protectedRoleArns: [], serviceRoleArns: [] };
    expect(protectedReason(`arn:aws:iam::${MEMBER}:role/${SPOKE}`, registry, config.ownRoleArns)).toBe(
      "it is one of roleguard's own roles",
    );
  });
});

describe('the organization settings', () => {
  const env = { SESSIONS_TABLE: 's', REGISTRY_TABLE: 'r', ALERTS_TABLE: 'a', AWS_ACCOUNT_ID: HUB };
  it('default the hub account to AWS_ACCOUNT_ID, and leave an organization of one without ORG_ID', () => {
    const config = loadConfig({ ...env, ORG_ID: '', SPOKE_ROLE_NAME: SPOKE });
    expect(config).toMatchObject({ orgId: null, hubAccountId: HUB, spokeRoleName: SPOKE });
  });
  it('refuse a bad organization id, and an organization without a spoke role name, naming each', () => {
    expect(() => loadConfig({ ...env, ORG_ID: 'org-1' })).toThrow(
      /ORG_ID must be an organization id \(o-…\), got "org-1"; SPOKE_ROLE_NAME is required with ORG_ID/,
    );
    expect(() => loadConfig({ ...env, HUB_ACCOUNT_ID: '12', SPOKE_ROLE_NAME: 'a b' })).toThrow(
      /HUB_ACCOUNT_ID must be a 12-digit account id, got "12"; SPOKE_ROLE_NAME must be a role name, got "a b"/,
    );
  });
});
