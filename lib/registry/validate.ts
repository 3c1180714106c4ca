import { ACCOUNT_ID, parseRoleArn } from '../cloudtrail/arn.js';
import {
  anything,
  boolean,
  type Check,
  either,
  list,
  number,
  oneOf,
  optional,
  orElse,
  orNull,
  record,
  text,
} from './check.js';
import type { RegisteredRole, Registry } from './types.js';

/** The registry is invalid; every problem names the source, the role and the field. */
export class RegistryError extends Error {
  override name = 'RegistryError';
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`${source}: invalid registry:\n  - ${problems.join('\n  - ')}`);
  }
}

export const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;
// Hand-written checks (lib/registry/check.ts), not a schema library: the functions read the registry too.
const externalId = text({
  pattern: [EXTERNAL_ID, 'not a valid external ID (2–1224 characters of [A-Za-z0-9+=,.@:/_-])'],
});
// Slack user IDs (U… or W… for Enterprise Grid), who may act on findings from Slack's buttons.
const approvers = optional(list(text({ pattern: [/^[UW][A-Z0-9]{2,20}$/, 'not a Slack user ID (U…)'] })));
const roleArn = text({
  valid: [(v) => parseRoleArn(v) !== null, 'not a valid IAM role ARN (arn:aws:iam::<12 digits>:role/[path/]name)'],
});
// A pattern for serviceRoleArns/protectedRoleArns: an ARN in which '*' stands for any run of characters.
const arnPattern = text({
  pattern: [/^arn:aws[a-z-]*:(iam|sts)::(\d{12}|\*):[\x21-\x7e]+$/, 'not an IAM ARN or ARN pattern'],
});

const EXTERNAL_IDS = {
  current: orNull(externalId),
  pending: orElse(orNull(externalId), () => null),
  retired: orElse(list(externalId), () => []),
};

const ROTATION = {
  everyDays: number({ int: true, min: 1, max: 3650 }),
  graceDays: number({ int: true, min: 1, max: 365 }),
  notifyTopicArn: optional(
    text({ pattern: [/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/, 'not an SNS topic ARN'] }),
  ),
  revokeOldSessions: optional(boolean),
  // Hours the old ID must go unused after the confirmation before a rotation finishes (0: at the confirmation).
  quietHours: optional(number({ min: 0, max: 720 })),
};

type RoleFields = Omit<RegisteredRole, 'externalIds' | 'noExternalId'> & {
  externalIds: 'none' | RegisteredRole['externalIds'];
};
const ROLE = {
  roleArn,
  vendor: text({ trim: true, min: [1, 'must not be empty'], max: 128 }),
  trustedAccounts: list(text({ pattern: [ACCOUNT_ID, 'not a 12-digit account id'] }), [
    1,
    'must list at least one account',
  ]),
  // `none`: watch mode, for a role whose trust policy requires no external ID (an extension of contract §1).
  externalIds: either<unknown>(
    [oneOf(['none']), record(EXTERNAL_IDS)],
    'must be none (watch mode) or { current, pending, retired }',
  ),
  response: orElse(oneOf(['revoke', 'alert']), () => 'alert' as const),
  // An extension of contract §1: decide, record and alert revocations for this role, but write nothing to IAM.
  dryRun: optional(boolean),
  rotation: orElse(orNull(record(ROTATION)), () => null),
  approvers,
};
const checkRole: Check<RoleFields> = record(ROLE);

const REGISTRY = {
  serviceRoleArns: orElse(list(arnPattern), () => []),
  protectedRoleArns: orElse(list(arnPattern), () => []),
  roles: list(anything),
  approvers,
};
const checkRegistry: Check<{
  serviceRoleArns: string[];
  protectedRoleArns: string[];
  roles: unknown[];
  approvers?: string[];
}> = record(REGISTRY);

/** Every field the registry file accepts, by where it sits (docs/registry.md documents each one). */
export const REGISTRY_FIELDS = {
  registry: Object.keys(REGISTRY),
  role: Object.keys(ROLE),
  externalIds: Object.keys(EXTERNAL_IDS),
  rotation: Object.keys(ROTATION),
};

function describePath(path: (string | number)[]): string {
  return path
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
    .join('')
    .replace(/^\./, '');
}

/** A role as the registry file writes it: watch mode as `externalIds: none`. Validating it gives the role back. */
export function roleToDocument(role: RegisteredRole): Record<string, unknown> {
  const { noExternalId, ...rest } = role;
  return noExternalId ? { ...rest, externalIds: 'none' } : rest;
}

/** The registry as the registry file writes it (see `roleToDocument`). */
export function registryToDocument(registry: Registry): Record<string, unknown> {
  return { ...registry, roles: registry.roles.map(roleToDocument) };
}

/** Validate a parsed registry document completely; throws a RegistryError listing every problem, so nothing half-loads. */
export function validateRegistry(document: unknown, source: string): Registry {
  const top = checkRegistry(document ?? {});
  if (top.issues.length)
    throw new RegistryError(
      source,
      top.issues.map((i) => `${describePath(i.path) || '(document)'}: ${i.message}`),
    );
  const problems: string[] = [];
  const roles: Registry['roles'] = [];
  const seen = new Map<string, number>();
  top.value.roles.forEach((raw, index) => {
    const arn =
      typeof raw === 'object' && raw !== null && typeof (raw as { roleArn?: unknown }).roleArn === 'string'
        ? (raw as { roleArn: string }).roleArn
        : null;
    const where = `roles[${index}]${arn ? ` (${arn})` : ''}`;
    const parsed = checkRole(raw);
    if (parsed.issues.length) {
      for (const issue of parsed.issues)
        problems.push(`${where}: ${describePath(issue.path) || '(role)'}: ${issue.message}`);
      return;
    }
    const { externalIds: ids, ...rest } = parsed.value;
    if (ids === 'none') {
      if (rest.response === 'revoke')
        problems.push(
          `${where}: response: revoke cannot be used with externalIds: none (watch mode): every assume from another account is a finding there, so every vendor session would be revoked; use alert`,
        );
      if (rest.rotation !== null)
        problems.push(`${where}: rotation: a role with externalIds: none has no external ID to rotate`);
    }
    const role = {
      ...rest,
      externalIds: ids === 'none' ? { current: null, pending: null, retired: [] } : ids,
      ...(ids === 'none' ? { noExternalId: true as const } : {}),
    };
    const parts = parseRoleArn(role.roleArn)!;
    // Role names are unique per account whatever the path, and UpdateAssumeRolePolicy names only the role.
    const key = `${parts.accountId}/${parts.roleName}`;
    if (seen.has(key)) problems.push(`${where}: roleArn: the same role as roles[${seen.get(key)}]`);
    seen.set(key, index);
    const { current, pending, retired } = role.externalIds;
    if (current !== null && current === pending) problems.push(`${where}: externalIds.pending: the same as current`);
    for (const id of [current, pending])
      if (id !== null && retired.includes(id))
        problems.push(`${where}: externalIds.retired: also listed as current or pending`);
    if (current === null && pending === null && ids !== 'none')
      problems.push(`${where}: externalIds.current: required unless a pending ID is being introduced`);
    roles.push({ ...role, trustedAccounts: [...new Set(role.trustedAccounts)] });
  });
  if (problems.length) throw new RegistryError(source, problems);
  const { serviceRoleArns, protectedRoleArns } = top.value;
  return {
    serviceRoleArns,
    protectedRoleArns,
    roles,
    ...(top.value.approvers ? { approvers: top.value.approvers } : {}),
  };
}
