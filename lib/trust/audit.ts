import { GetRoleCommand, type IAMClient, NoSuchEntityException } from '@aws-sdk/client-iam';
import { parseRoleArn } from '../cloudtrail/arn.js';
import { type AccountAccess, AccountAccessError } from '../org/accounts.js';
import { indexRegistry } from '../registry/match.js';
import type { Registry } from '../registry/types.js';
import { analyzeTrustPolicy, type PostureProblem } from './analyze.js';

/** The audit of one registered role. */
export interface RoleAudit {
  roleArn: string;
  vendor: string;
  /**
   * ok: no problem; problems: see the list; not-found: IAM has no such role; other-account: the role lives in an
   * account these credentials do not read; not-registered: another account can assume it, and the registry does not
   * list it (only with `unregisteredRoles`).
   */
  status: 'ok' | 'problems' | 'not-found' | 'other-account' | 'not-registered';
  problems: PostureProblem[];
  /** Registered in watch mode (`externalIds: none`). */
  watchMode?: true;
  /** The accounts other than its own that can assume it (for a role that is not registered). */
  trustedAccounts?: string[];
}

/** The posture audit of every registered role. */
export interface AuditReport {
  summary: {
    roles: number;
    ok: number;
    withProblems: number;
    notFound: number;
    otherAccount: number;
    /** Registered roles in watch mode (`externalIds: none`). */
    watchMode?: number;
    /** Roles another account can assume that the registry does not list (audit --all). */
    notRegistered?: number;
    critical: number;
    high: number;
    medium: number;
  };
  roles: RoleAudit[];
}

/**
 * Reads a role's trust policy: the document (URL-encoded as IAM returns it) and the ARN IAM reports, or null when
 * there is no such role. It gets the registered ARN too, to read in the role's own account.
 */
export type TrustPolicyReader = (
  roleName: string,
  roleArn?: string,
) => Promise<{ arn: string; document: string } | null>;

/**
 * Read trust policies with IAM GetRole (the only IAM call the audit makes): with one client, or in the role's own
 * account (acting in member accounts: the account access of lib/org/accounts.ts, session `roleguard-audit`).
 */
export function iamTrustPolicyReader(iam: IAMClient | AccountAccess): TrustPolicyReader {
  return async (roleName, roleArn) => {
    const account = roleArn ? parseRoleArn(roleArn)?.accountId : undefined;
    // An account roleguard does not act in (no organization) is read as before, with the own client: a role of that
    // name there is reported as other-account.
    const client =
      'iamFor' in iam
        ? await iam.iamFor(account && !iam.refusal(account) ? account : (iam.hubAccountId ?? account ?? ''), 'audit')
        : iam;
    try {
      const { Role } = await client.send(new GetRoleCommand({ RoleName: roleName }));
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
    let found: Awaited<ReturnType<TrustPolicyReader>>;
    try {
      found = await read(parts.roleName, role.roleArn);
    } catch (error) {
      // One member account that cannot be read (its spoke missing or not trusting the hub) does not stop the audit.
      if (!(error instanceof AccountAccessError)) throw error;
      roles.push({
        roleArn: role.roleArn,
        vendor: role.vendor,
        status: 'problems',
        problems: [{ kind: 'unreadable-policy', severity: 'high', statement: null, message: error.message }],
      });
      continue;
    }
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
    roles.push({
      roleArn: role.roleArn,
      vendor: role.vendor,
      status: problems.length ? 'problems' : 'ok',
      problems,
      ...(role.noExternalId ? { watchMode: true as const } : {}),
    });
  }
  return summarize(roles);
}

/** Add to a report every role of `entries` (IAM's export) that another account can assume and the registry lacks. */
export function withUnregisteredRoles(
  report: AuditReport,
  registry: Registry,
  entries: { arn: string; document: unknown }[],
): AuditReport {
  const index = indexRegistry(registry);
  const extra: RoleAudit[] = [];
  for (const entry of entries) {
    const parts = parseRoleArn(entry.arn);
    if (!parts || index.roleFor(entry.arn)) continue;
    const analysis = analyzeTrustPolicy(entry.document, entry.arn);
    if (!analysis.crossAccount) continue;
    extra.push({
      roleArn: entry.arn,
      vendor: '(not registered)',
      status: 'not-registered',
      problems: analysis.problems,
      trustedAccounts: analysis.trustedAccounts,
    });
  }
  return summarize([...report.roles, ...extra]);
}

function summarize(roles: RoleAudit[]): AuditReport {
  const all = roles.flatMap((r) => r.problems);
  const notRegistered = roles.filter((r) => r.status === 'not-registered').length;
  const watchMode = roles.filter((r) => r.watchMode).length;
  return {
    summary: {
      roles: roles.length - notRegistered,
      ok: roles.filter((r) => r.status === 'ok').length,
      withProblems: roles.filter((r) => r.status === 'problems').length,
      notFound: roles.filter((r) => r.status === 'not-found').length,
      otherAccount: roles.filter((r) => r.status === 'other-account').length,
      ...(watchMode ? { watchMode } : {}),
      ...(notRegistered ? { notRegistered } : {}),
      critical: all.filter((p) => p.severity === 'critical').length,
      high: all.filter((p) => p.severity === 'high').length,
      medium: all.filter((p) => p.severity === 'medium').length,
    },
    roles,
  };
}
