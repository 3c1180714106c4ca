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

// The session ARN pattern of a role ARN pattern: arn:P:iam::A:role/N -> arn:P:sts::A:assumed-role/N.
const sessionsOf = (rolePattern: string) =>
  rolePattern.replace(/^(arn:[^:]*):iam:/, '$1:sts:').replace(/:role\/(?:.*\/)?/, ':assumed-role/');

const isSessionPattern = (p: string) => /^arn:[^:]*:sts:/.test(p);
const isRoleArn = (arn: string) => /^arn:[^:]*:iam::[^:]*:role\//.test(arn);

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
  // A role whose own sessions are listed (`…:assumed-role/<role>/roleguard-*`, the spoke role's) is roleguard's only
  // through those sessions: its issuer ARN alone, which any session of the role carries, does not make a caller own.
  // Such a session is own when its issuer (given with it) is that role at its own path: STS ARNs carry no path.
  const scoped = (p: string) => ownRoleArns.some((q) => q.startsWith(`${sessionsOf(p)}/`));
  const principals = ownRoleArns.filter((p) => !scoped(p) && !isSessionPattern(p));
  const sessions = ownRoleArns.filter(isSessionPattern).map((session) => ({
    session,
    roles: ownRoleArns.filter((p) => !isSessionPattern(p) && session.startsWith(`${sessionsOf(p)}/`)),
  }));
  const own = (arn: string) =>
    registry.serviceRoleArns.some((p) => arnMatches(p, arn)) || principals.some((p) => ownRoleMatches(p, arn));
  const ownSession = (arns: string[]) =>
    sessions.some(
      ({ session, roles }) =>
        arns.some((arn) => ownRoleMatches(session, arn)) &&
        arns.every((arn) => !isRoleArn(arn) || roles.length === 0 || roles.some((p) => ownRoleMatches(p, arn))),
    );
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
    isServicePrincipal: (...given) => {
      const arns = given.filter((arn): arn is string => arn !== null);
      return arns.some(own) || ownSession(arns);
    },
  };
}
