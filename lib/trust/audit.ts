import { GetRoleCommand, type IAMClient, NoSuchEntityException } from '@aws-sdk/client-iam';
import { parseRoleArn } from '../cloudtrail/arn.js';
import type { Registry } from '../registry/types.js';
import { analyzeTrustPolicy, type PostureProblem } from './analyze.js';

/** The audit of one registered role. */
export interface RoleAudit {
  roleArn: string;
  vendor: string;
  /** ok: no problem; problems: see the list; not-found: IAM has no such role; other-account: the role lives in an account these credentials do not read. */
  status: 'ok' | 'problems' | 'not-found' | 'other-account';
  problems: PostureProblem[];
}

/** The posture audit of every registered role. */
export interface AuditReport {
  summary: {
    roles: number;
    ok: number;
    withProblems: number;
    notFound: number;
    otherAccount: number;
    critical: number;
    high: number;
    medium: number;
  };
  roles: RoleAudit[];
}

/** Reads a role's trust policy: the document (URL-encoded as IAM returns it) and the ARN IAM reports, or null when there is no such role. */
export type TrustPolicyReader = (roleName: string) => Promise<{ arn: string; document: string } | null>;

/** Read trust policies with IAM GetRole (the only IAM call the audit makes). */
export function iamTrustPolicyReader(iam: IAMClient): TrustPolicyReader {
  return async (roleName) => {
    try {
      const { Role } = await iam.send(new GetRoleCommand({ RoleName: roleName }));
      if (!Role?.Arn || Role.AssumeRolePolicyDocument === undefined) return null;
      return { arn: Role.Arn, document: Role.AssumeRolePolicyDocument };
    } catch (error) {
      if (
        error instanceof NoSuchEntityException ||
        (error as { name?: string }).name === 'NoSuchEntity' ||
        (error as { name?: string }).name === 'NoSuchEntityException'
      )
        return null;
      throw error;
    }
  };
}

/** Audit every registered role's trust policy against the registry. Reads only; changes nothing. */
export async function auditRegistry(registry: Registry, read: TrustPolicyReader): Promise<AuditReport> {
  const roles: RoleAudit[] = [];
  for (const role of registry.roles) {
    const parts = parseRoleArn(role.roleArn)!;
    const found = await read(parts.roleName);
    if (found === null) {
      roles.push({
        roleArn: role.roleArn,
        vendor: role.vendor,
        status: 'not-found',
        problems: [
          {
            kind: 'unreadable-policy',
            severity: 'medium',
            statement: null,
            message: `IAM has no role named ${parts.roleName}: it was deleted or renamed, so the registry entry guards nothing`,
          },
        ],
      });
      continue;
    }
    // GetRole takes a name only: a role of the same name in the credentials' own account is not the registered one.
    if (parseRoleArn(found.arn)?.accountId !== parts.accountId) {
      roles.push({ roleArn: role.roleArn, vendor: role.vendor, status: 'other-account', problems: [] });
      continue;
    }
    const { problems } = analyzeTrustPolicy(found.document, role.roleArn, role);
    roles.push({ roleArn: role.roleArn, vendor: role.vendor, status: problems.length ? 'problems' : 'ok', problems });
  }
  const all = roles.flatMap((r) => r.problems);
  return {
    summary: {
      roles: roles.length,
      ok: roles.filter((r) => r.status === 'ok').length,
      withProblems: roles.filter((r) => r.status === 'problems').length,
      notFound: roles.filter((r) => r.status === 'not-found').length,
      otherAccount: roles.filter((r) => r.status === 'other-account').length,
      critical: all.filter((p) => p.severity === 'critical').length,
      high: all.filter((p) => p.severity === 'high').length,
      medium: all.filter((p) => p.severity === 'medium').length,
    },
    roles,
  };
}
