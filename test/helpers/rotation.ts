import { GetRoleCommand, IAMClient, NoSuchEntityException, UpdateAssumeRolePolicyCommand } from '@aws-sdk/client-iam';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { type AwsStub, mockClient } from 'aws-sdk-client-mock';
import { vendorAssume } from './revocation.js';

export const VENDOR_ROLE = 'arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit';
export const VENDOR_ACCOUNT = '999988887777';
export const OLD_ID = 'ec-7Hq2vN9xK4pL8mR3';

/** A realistic vendor trust policy: the vendor's account with an external ID, plus an unrelated service statement. */
export function vendorTrustPolicy(ids: string | string[] = OLD_ID): Record<string, unknown> {
  return {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'Ec2', Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' },
      {
        Sid: 'ExampleCorp',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${VENDOR_ACCOUNT}:root` },
        Action: 'sts:AssumeRole',
        Condition: { StringEquals: { 'sts:ExternalId': ids }, Bool: { 'aws:SecureTransport': 'true' } },
      },
    ],
  };
}

/** IAM's trust policies, emulated: GetRole returns them URL-encoded, as IAM does; writes are recorded. */
export interface EmulatedTrust {
  iam: AwsStub<any, any, any>;
  policy(roleName?: string): Record<string, unknown>;
  writes: { roleName: string; document: string }[];
  set(roleName: string, document: Record<string, unknown>): void;
  failNext(error: Error): void;
  restore(): void;
}

export function emulateTrustPolicies(
  initial: Record<string, Record<string, unknown>> = { ExampleCorpAudit: vendorTrustPolicy() },
): EmulatedTrust {
  const policies = new Map(Object.entries(initial).map(([name, doc]) => [name, JSON.stringify(doc)]));
  const writes: EmulatedTrust['writes'] = [];
  const faults: Error[] = [];
  const iam = mockClient(IAMClient);
  iam.on(GetRoleCommand).callsFake(async (input: { RoleName: string }) => {
    const document = policies.get(input.RoleName);
    if (document === undefined)
      throw new NoSuchEntityException({
        message: `The role with name ${input.RoleName} cannot be found.`,
        $metadata: {},
      });
    return {
      Role: {
        RoleName: input.RoleName,
        RoleId: 'AROA3XFRBF23EXAMPLE1',
        Arn: `arn:aws:iam::111122223333:role/vendors/${input.RoleName}`,
        Path: '/vendors/',
        CreateDate: new Date(),
        AssumeRolePolicyDocument: encodeURIComponent(document),
      },
    };
  });
  iam.on(UpdateAssumeRolePolicyCommand).callsFake(async (input: { RoleName: string; PolicyDocument: string }) => {
    const fault = faults.shift();
    if (fault) throw fault;
    JSON.parse(input.PolicyDocument);
    writes.push({ roleName: input.RoleName, document: input.PolicyDocument });
    policies.set(input.RoleName, input.PolicyDocument);
    return {};
  });
  return {
    iam,
    writes,
    policy: (roleName = 'ExampleCorpAudit') => JSON.parse(policies.get(roleName)!),
    set: (roleName, document) => void policies.set(roleName, JSON.stringify(document)),
    failNext: (error) => void faults.push(error),
    restore: () => iam.restore(),
  };
}

/**
 * Would IAM let `principal` assume the role under this trust policy, with this external ID (or none)? The caller's
 * own identity policy allows sts:AssumeRole, so the trust policy decides. Checked by an independent evaluator.
 */
export async function assumeDecision(
  trustPolicy: unknown,
  principal: string,
  externalId: string | null,
  roleArn = VENDOR_ROLE,
): Promise<'Allowed' | 'Denied'> {
  const account = /^arn:aws:(?:iam|sts)::(\d{12}):/.exec(principal)?.[1] ?? '999988887777';
  const result = await runSimulation(
    {
      request: {
        principal,
        action: 'sts:AssumeRole',
        resource: { resource: roleArn, accountId: '111122223333' },
        contextVariables: {
          'aws:PrincipalAccount': account,
          'aws:SecureTransport': 'true',
          ...(externalId === null ? {} : { 'sts:ExternalId': externalId }),
        },
      },
      identityPolicies: [
        {
          name: 'caller',
          policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: '*' }] },
        },
      ],
      resourcePolicy: trustPolicy,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    } as Parameters<typeof runSimulation>[0],
    {},
  );
  if (result.resultType === 'error') throw new Error(JSON.stringify(result.errors));
  if (!['Allowed', 'ExplicitlyDenied', 'ImplicitlyDenied'].includes(result.overallResult))
    throw new Error(`unexpected evaluator result ${result.overallResult}`);
  return result.overallResult === 'Allowed' ? 'Allowed' : 'Denied';
}

/** The ARN of one of the vendor's workers (an assumed-role session in the vendor's account). */
export const workerArn = (worker: string) => `arn:aws:sts::${VENDOR_ACCOUNT}:assumed-role/ExampleCorpScanner/${worker}`;

/** An assume of the vendor role by one of the vendor's workers, from a given source IP. */
export function workerAssume(options: {
  id: string;
  time: Date;
  externalId: string;
  worker: string;
  ip: string;
}): Record<string, unknown> {
  const record = vendorAssume({
    id: options.id,
    time: options.time.toISOString(),
    session: `s-${options.id}`,
    externalId: options.externalId,
    account: VENDOR_ACCOUNT,
  });
  return {
    ...record,
    sourceIPAddress: options.ip,
    userIdentity: {
      type: 'AssumedRole',
      principalId: `AROAVENDORWORKER0001:${options.worker}`,
      arn: workerArn(options.worker),
      accountId: VENDOR_ACCOUNT,
    },
  };
}
