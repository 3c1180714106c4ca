import {
  DeleteRolePolicyCommand,
  GetAccountAuthorizationDetailsCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  IAMClient,
  ListRolePoliciesCommand,
  NoSuchEntityException,
  PutRolePolicyCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { type AwsStub, mockClient } from 'aws-sdk-client-mock';

/** The hub's own credentials: IAM calls made with them act in the hub account. */
export const HUB_KEY = 'AKIAHUBOWNCREDENTIAL';

/** One IAM call as the emulation saw it: the account whose credentials made it. */
export interface OrgIamCall {
  account: string;
  command: string;
  roleName: string;
}

/** IAM of several accounts, emulated at the SDK: each client acts in the account of its credentials. */
export interface OrgIam {
  iam: AwsStub<any, any, any>;
  sts: AwsStub<any, any, any>;
  calls: OrgIamCall[];
  /** The role's revocation policy in one account, or null. */
  policy(account: string, roleName: string): unknown;
  /** The role's trust policy in one account. */
  trust: Map<string, string>;
  /** Accounts whose spoke role cannot be assumed (AccessDenied). */
  deniedSpokes: Set<string>;
  /** Each account's GetAccountAuthorizationDetails roles (RoleDetailList). */
  details: Map<string, unknown[]>;
  /** The hub's own IAM client. */
  hubClient(): IAMClient;
  reset(): void;
  restore(): void;
}

const missing = (what: string) => new NoSuchEntityException({ message: `${what} cannot be found.`, $metadata: {} });

/**
 * Emulate IAM in `roles` (account → role names), the hub's account and the member accounts: STS's AssumeRole of a
 * spoke role hands out credentials whose key names the account, and every IAM call is answered in the account of the
 * credentials the client was built with (the hub's own: HUB_KEY).
 */
export function emulateOrgIam(hub: string, roles: Record<string, string[]>): OrgIam {
  const iam = mockClient(IAMClient);
  const sts = mockClient(STSClient);
  const policies = new Map<string, string>();
  const trust = new Map<string, string>();
  const calls: OrgIamCall[] = [];
  const deniedSpokes = new Set<string>();
  const details = new Map<string, unknown[]>();
  const accountOf = async (getClient: () => unknown): Promise<string> => {
    const client = getClient() as IAMClient;
    const { accessKeyId } = await (client.config.credentials as () => Promise<{ accessKeyId: string }>)();
    if (accessKeyId === HUB_KEY) return hub;
    const account = /^ASIASPOKE(\d{12})$/.exec(accessKeyId)?.[1];
    if (!account) throw new Error(`credentials of no known account: ${accessKeyId}`);
    return account;
  };
  const on = (command: any, name: string, answer: (account: string, input: any) => unknown) =>
    iam.on(command).callsFake(async (input: any, getClient: () => unknown) => {
      const account = await accountOf(getClient);
      calls.push({ account, command: name, roleName: input.RoleName });
      if (!roles[account]?.includes(input.RoleName)) throw missing(`The role with name ${input.RoleName}`);
      return answer(account, input);
    });
  const key = (account: string, input: { RoleName: string; PolicyName?: string }) =>
    `${account}/${input.RoleName}/${input.PolicyName ?? ''}`;
  on(GetRolePolicyCommand, 'GetRolePolicy', (account, input) => {
    const document = policies.get(key(account, input));
    if (document === undefined) throw missing('The role policy');
    return { ...input, PolicyDocument: encodeURIComponent(document) };
  });
  on(
    PutRolePolicyCommand,
    'PutRolePolicy',
    (account, input) => void policies.set(key(account, input), input.PolicyDocument),
  );
  on(DeleteRolePolicyCommand, 'DeleteRolePolicy', (account, input) => void policies.delete(key(account, input)));
  on(ListRolePoliciesCommand, 'ListRolePolicies', (account, input) => ({
    PolicyNames: [...policies.keys()]
      .filter((k) => k.startsWith(`${account}/${input.RoleName}/`))
      .map((k) => k.slice(`${account}/${input.RoleName}/`.length)),
  }));
  on(GetRoleCommand, 'GetRole', (account, input) => ({
    Role: {
      RoleName: input.RoleName,
      RoleId: `AROA${account}ROLE`,
      Arn: `arn:aws:iam::${account}:role/${input.RoleName}`,
      Path: '/',
      CreateDate: new Date(0),
      AssumeRolePolicyDocument: encodeURIComponent(trust.get(`${account}/${input.RoleName}`) ?? '{}'),
    },
  }));
  on(UpdateAssumeRolePolicyCommand, 'UpdateAssumeRolePolicy', (account, input) => {
    trust.set(`${account}/${input.RoleName}`, input.PolicyDocument);
    return {};
  });
  // Two pages, as IAM pages a long list.
  iam
    .on(GetAccountAuthorizationDetailsCommand)
    .callsFake(async (input: { Marker?: string }, getClient: () => unknown) => {
      const account = await accountOf(getClient);
      calls.push({ account, command: 'GetAccountAuthorizationDetails', roleName: '' });
      const list = details.get(account) ?? [];
      const half = Math.ceil(list.length / 2);
      return input.Marker === 'page-2'
        ? { RoleDetailList: list.slice(half), IsTruncated: false }
        : { RoleDetailList: list.slice(0, half), IsTruncated: true, Marker: 'page-2' };
    });
  sts
    .on(GetCallerIdentityCommand)
    .resolves({ Account: hub, Arn: `arn:aws:sts::${hub}:assumed-role/roleguard-prod-hub-ops/me` });
  sts.on(AssumeRoleCommand).callsFake(async (input: { RoleArn: string; RoleSessionName: string }) => {
    const account = /^arn:aws:iam::(\d{12}):role\//.exec(input.RoleArn)![1]!;
    if (deniedSpokes.has(account))
      throw Object.assign(new Error(`not authorized to perform: sts:AssumeRole on resource: ${input.RoleArn}`), {
        name: 'AccessDenied',
        $metadata: { httpStatusCode: 403 },
      });
    return {
      Credentials: {
        AccessKeyId: `ASIASPOKE${account}`,
        SecretAccessKey: 'secret',
        SessionToken: 'token',
        Expiration: new Date(Date.now() + 3600_000),
      },
    };
  });
  return {
    iam,
    sts,
    calls,
    trust,
    deniedSpokes,
    details,
    policy(account, roleName) {
      const text = policies.get(`${account}/${roleName}/roleguard-revocations`);
      return text === undefined ? null : JSON.parse(text);
    },
    hubClient: () =>
      new IAMClient({ region: 'us-east-1', credentials: { accessKeyId: HUB_KEY, secretAccessKey: 'secret' } }),
    reset() {
      policies.clear();
      trust.clear();
      calls.length = 0;
      deniedSpokes.clear();
      details.clear();
      iam.resetHistory();
      sts.resetHistory();
    },
    restore() {
      iam.restore();
      sts.restore();
    },
  };
}
