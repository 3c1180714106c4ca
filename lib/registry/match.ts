import { parseRoleArn } from '../cloudtrail/arn.js';
import type { RegisteredRole, Registry } from './types.js';

/** True when an ARN matches a pattern in which '*' stands for any run of characters. */
export function arnMatches(pattern: string, arn: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, '\\$&'))
      .join('.*')}$`,
  );
  return regex.test(arn);
}

/**
 * True when a role ARN matches one of roleguard's own role patterns, anchored to the role name: '*' stands for any
 * run of characters other than '/', so `role/roleguard-prod-*` matches `role/roleguard-prod-sweep-1A2B` but not a
 * role named Admin under the path `/roleguard-prod-x/`, which anyone allowed to create roles could make.
 */
export function ownRoleMatches(pattern: string, arn: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, '\\$&'))
      .join('[^/]*')}$`,
  );
  return regex.test(arn);
}

/** A registry with the lookups detection needs, built once per load. */
export interface RegistryIndex {
  registry: Registry;
  /** The registered role an assume targets; matched by account and role name, since the ARN's path may differ. */
  roleFor(roleArn: string): RegisteredRole | null;
  /** The registered role named in an UpdateAssumeRolePolicy (which logs only the role name). */
  roleByName(accountId: string, roleName: string): RegisteredRole | null;
  /** True when a principal ARN is one of the service's own (serviceRoleArns, and the deployment's own roles; wildcards allowed). */
  isServicePrincipal(...arns: (string | null)[]): boolean;
}

/** Index a validated registry. */
export function indexRegistry(registry: Registry, ownRoleArns: string[] = []): RegistryIndex {
  const own = (arn: string) =>
    registry.serviceRoleArns.some((p) => arnMatches(p, arn)) || ownRoleArns.some((p) => ownRoleMatches(p, arn));
  const byName = new Map<string, RegisteredRole>();
  for (const role of registry.roles) {
    const parts = parseRoleArn(role.roleArn)!;
    byName.set(`${parts.accountId}/${parts.roleName}`, role);
  }
  return {
    registry,
    roleFor(roleArn) {
      const parts = parseRoleArn(roleArn);
      return parts ? (byName.get(`${parts.accountId}/${parts.roleName}`) ?? null) : null;
    },
    roleByName: (accountId, roleName) => byName.get(`${accountId}/${roleName}`) ?? null,
    isServicePrincipal: (...arns) => arns.some((arn) => arn !== null && own(arn)),
  };
}
