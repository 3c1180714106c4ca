import {
  DeleteRolePolicyCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  IAMClient,
  ListRolePoliciesCommand,
  NoSuchEntityException,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { type AwsStub, mockClient } from 'aws-sdk-client-mock';
import { assumeRecord } from './fixtures.js';

export const ROLE_ID = 'AROA3XFRBF23EXAMPLE1';

/** An assume of a role by a vendor-side caller, with the fields the revocation tests vary. */
export function vendorAssume(options: {
  id: string;
  time: string;
  session: string;
  externalId: string | null;
  roleArn?: string;
  /** The caller's principal (AIDA… or AROA…); the same principal is "the same caller". */
  principal?: string;
  account?: string;
  expiration?: string;
}): Record<string, unknown> {
  const base = assumeRecord({ eventID: options.id, eventTime: options.time });
  const roleArn = options.roleArn ?? 'arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit';
  const roleName = roleArn.slice(roleArn.lastIndexOf('/') + 1);
  const params: Record<string, unknown> = {
    ...(base.requestParameters as object),
    roleArn,
    roleSessionName: options.session,
  };
  if (options.externalId === null) delete params.externalId;
  else params.externalId = options.externalId;
  const key = `ASIA${options.id
    .toUpperCase()
    .replace(/[^A-Z0-9]/g, '')
    .padEnd(16, 'X')
    .slice(0, 16)}`;
  const issued = Date.parse(options.time);
  return {
    ...base,
    userIdentity: {
      type: 'AWSAccount',
      principalId: options.principal ?? 'AIDAVENDOREXAMPLE0001',
      accountId: options.account ?? '999988887777',
    },
    requestParameters: params,
    responseElements: {
      ...(base.responseElements as object),
      credentials: {
        accessKeyId: key,
        sessionToken: '<redacted>',
        expiration: options.expiration ?? new Date(issued + 3600_000).toISOString(),
      },
      assumedRoleUser: {
        assumedRoleId: `${ROLE_ID}:${options.session}`,
        arn: `arn:aws:sts::111122223333:assumed-role/${roleName}/${options.session}`,
      },
    },
  };
}

/** The access key id `vendorAssume` gives a session. */
export function accessKeyOf(id: string): string {
  return `ASIA${id
    .toUpperCase()
    .replace(/[^A-Z0-9]/g, '')
    .padEnd(16, 'X')
    .slice(0, 16)}`;
}

/** IAM emulated as last-writer-wins, with latency, and faults to inject: the inline policies of each role. */
export interface EmulatedIam {
  mock: AwsStub<any, any, any>;
  policies: Map<string, string>;
  /** Make the next `n` GetRolePolicy calls stale: they return each policy as it was before its latest write. */
  staleNext(n: number): void;
  /** Make the next `n` calls of a command fail with `error`. */
  failNext(command: 'GetRolePolicy' | 'PutRolePolicy' | 'ListRolePolicies', n: number, error: () => Error): void;
  /** The role's revocation policy as written, or null. */
  policy(roleName: string): unknown;
  puts(roleName?: string): number;
  /** PutRolePolicy calls IAM accepted (wrote), of one role or all. */
  written(roleName?: string): number;
  /** Forget the policies, the calls and any fault still queued. */
  reset(): void;
  restore(): void;
}

/** Emulate IAM's inline role policies on an aws-sdk-client-mock of IAMClient. */
export function emulateIam(
  options: {
    latencyMs?: number /** A fault to throw for a call, or null to let it through. */;
    fault?: (command: string) => Error | null;
  } = {},
): EmulatedIam {
  const mock = mockClient(IAMClient);
  const policies = new Map<string, string>();
  // The role of each PutRolePolicy IAM accepted (a refused one, over the budget or on a deleted role, wrote nothing).
  const accepted: string[] = [];
  // IAM is eventually consistent: what each policy was before its latest write, for stale reads.
  const previous = new Map<string, string | undefined>();
  let stale = 0;
  const faults: Record<string, { n: number; error: () => Error }> = {};
  const delay = () => new Promise((r) => setTimeout(r, Math.random() * (options.latencyMs ?? 4)));
  const fault = (name: string) => {
    const injected = options.fault?.(name);
    if (injected) throw injected;
    const f = faults[name];
    if (f && f.n > 0) {
      f.n--;
      throw f.error();
    }
  };
  mock.on(GetRolePolicyCommand).callsFake(async (input: { RoleName: string; PolicyName: string }) => {
    await delay();
    fault('GetRolePolicy');
    const key = `${input.RoleName}/${input.PolicyName}`;
    const document = stale > 0 && previous.has(key) ? previous.get(key) : policies.get(key);
    if (stale > 0) stale--;
    if (document === undefined)
      throw new NoSuchEntityException({
        message: 'The role policy cannot be found.',
        $metadata: { httpStatusCode: 404 },
      });
    return { RoleName: input.RoleName, PolicyName: input.PolicyName, PolicyDocument: encodeURIComponent(document) };
  });
  mock
    .on(PutRolePolicyCommand)
    .callsFake(async (input: { RoleName: string; PolicyName: string; PolicyDocument: string }) => {
      await delay();
      fault('PutRolePolicy');
      // IAM refuses a write that takes the role's inline policies past 10,240 characters (whitespace not counted).
      const size = (text: string) => text.replace(/\s+/g, '').length;
      const total = [...policies.entries()]
        .filter(([k]) => k.startsWith(`${input.RoleName}/`) && k !== `${input.RoleName}/${input.PolicyName}`)
        .reduce((sum, [, text]) => sum + size(text), size(input.PolicyDocument));
      if (total > 10_240)
        throw Object.assign(new Error(`Maximum policy size of 10240 bytes exceeded for role ${input.RoleName}`), {
          name: 'LimitExceeded',
          $metadata: { httpStatusCode: 409 },
        });
      previous.set(`${input.RoleName}/${input.PolicyName}`, policies.get(`${input.RoleName}/${input.PolicyName}`));
      policies.set(`${input.RoleName}/${input.PolicyName}`, input.PolicyDocument);
      accepted.push(input.RoleName);
      return {};
    });
  mock.on(DeleteRolePolicyCommand).callsFake(async (input: { RoleName: string; PolicyName: string }) => {
    previous.set(`${input.RoleName}/${input.PolicyName}`, policies.get(`${input.RoleName}/${input.PolicyName}`));
    policies.delete(`${input.RoleName}/${input.PolicyName}`);
    return {};
  });
  mock.on(ListRolePoliciesCommand).callsFake(async (input: { RoleName: string }) => {
    fault('ListRolePolicies');
    return {
      PolicyNames: [...policies.keys()]
        .filter((k) => k.startsWith(`${input.RoleName}/`))
        .map((k) => k.slice(input.RoleName.length + 1)),
    };
  });
  mock.on(GetRoleCommand).callsFake(async (input: { RoleName: string }) => ({
    Role: {
      RoleName: input.RoleName,
      RoleId: ROLE_ID,
      Arn: `arn:aws:iam::111122223333:role/${input.RoleName}`,
      Path: '/',
      CreateDate: new Date(),
      AssumeRolePolicyDocument: '{}',
    },
  }));
  return {
    mock,
    policies,
    staleNext(n) {
      stale = n;
    },
    failNext(command, n, error) {
      faults[command] = { n, error };
    },
    policy(roleName) {
      const text = policies.get(`${roleName}/roleguard-revocations`);
      return text === undefined ? null : JSON.parse(text);
    },
    puts(roleName) {
      return mock
        .commandCalls(PutRolePolicyCommand)
        .filter((c) => roleName === undefined || c.args[0].input.RoleName === roleName).length;
    },
    written(roleName) {
      return accepted.filter((r) => roleName === undefined || r === roleName).length;
    },
    reset() {
      accepted.length = 0;
      policies.clear();
      previous.clear();
      stale = 0;
      mock.resetHistory();
      for (const key of Object.keys(faults)) delete faults[key];
    },
    restore() {
      mock.restore();
    },
  };
}

/** An AWS-style throttling error, as the SDK raises it. */
export function throttling(): Error {
  return Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $metadata: { httpStatusCode: 400 } });
}

/** Would IAM allow a session of the role, with all else allowed, under the role's revocation policy? */
export async function sessionDecision(
  policy: unknown,
  session: string,
  issuedAt: string,
): Promise<'Allowed' | 'Denied'> {
  const result = await runSimulation(
    {
      request: {
        principal: `arn:aws:sts::111122223333:assumed-role/ExampleCorpAudit/${session}`,
        action: 's3:GetObject',
        resource: { resource: 'arn:aws:s3:::reports/q3.csv', accountId: '111122223333' },
        contextVariables: {
          'aws:userid': `${ROLE_ID}:${session}`,
          'aws:TokenIssueTime': issuedAt,
          'aws:PrincipalAccount': '111122223333',
        },
      },
      identityPolicies: [
        {
          name: 'work',
          policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] },
        },
        ...(policy ? [{ name: 'roleguard-revocations', policy }] : []),
      ],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    },
    {},
  );
  if (result.resultType === 'error') throw new Error(JSON.stringify(result.errors));
  if (!['Allowed', 'ExplicitlyDenied', 'ImplicitlyDenied'].includes(result.overallResult))
    throw new Error(`unexpected evaluator result ${result.overallResult}`);
  return result.overallResult === 'Allowed' ? 'Allowed' : 'Denied';
}
