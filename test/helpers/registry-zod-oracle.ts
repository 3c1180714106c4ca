// The registry's validation as it was written with zod, before the functions stopped bundling a schema library: the
// oracle of test/unit/rules/registry-validation-parity.test.ts, which checks that the hand-written checks of
// lib/registry/validate.ts give the same registry, or the same problems, for any document.
import { z } from 'zod';
import { ACCOUNT_ID, parseRoleArn } from '../../lib/cloudtrail/arn.js';
import type { Registry } from '../../lib/registry/types.js';

class RegistryError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(problems.join('; '));
  }
}

const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;
const externalId = z
  .string()
  .regex(EXTERNAL_ID, { message: 'not a valid external ID (2–1224 characters of [A-Za-z0-9+=,.@:/_-])' });
// Slack user IDs (U… or W… for Enterprise Grid), who may act on findings from Slack's buttons.
const approvers = z.array(z.string().regex(/^[UW][A-Z0-9]{2,20}$/, { message: 'not a Slack user ID (U…)' })).optional();
const roleArn = z.string().refine((v) => parseRoleArn(v) !== null, {
  message: 'not a valid IAM role ARN (arn:aws:iam::<12 digits>:role/[path/]name)',
});
// A pattern for serviceRoleArns/protectedRoleArns: an ARN in which '*' stands for any run of characters.
const arnPattern = z
  .string()
  .regex(/^arn:aws[a-z-]*:(iam|sts)::(\d{12}|\*):[\x21-\x7e]+$/, { message: 'not an IAM ARN or ARN pattern' });

const ExternalIdsSchema = z
  .object({
    current: externalId.nullable(),
    pending: externalId.nullable().default(null),
    retired: z.array(externalId).default([]),
  })
  .strict();

const RotationSchema = z
  .object({
    everyDays: z.number().int().min(1).max(3650),
    graceDays: z.number().int().min(1).max(365),
    notifyTopicArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/, { message: 'not an SNS topic ARN' })
      .optional(),
    revokeOldSessions: z.boolean().optional(),
    // Hours the old ID must go unused after the confirmation before a rotation finishes (0: at the confirmation).
    quietHours: z.number().min(0).max(720).optional(),
  })
  .strict();

const RoleSchema = z
  .object({
    roleArn,
    vendor: z.string().trim().min(1, { message: 'must not be empty' }).max(128),
    trustedAccounts: z
      .array(z.string().regex(ACCOUNT_ID, { message: 'not a 12-digit account id' }))
      .min(1, { message: 'must list at least one account' }),
    // `none`: watch mode, for a role whose trust policy requires no external ID (an extension of contract §1).
    externalIds: z.union([z.literal('none'), ExternalIdsSchema], {
      error: 'must be none (watch mode) or { current, pending, retired }',
    }),
    response: z.enum(['revoke', 'alert']).default('alert'),
    // An extension of contract §1: decide, record and alert revocations for this role, but write nothing to IAM.
    dryRun: z.boolean().optional(),
    rotation: RotationSchema.nullable().default(null),
    approvers,
  })
  .strict();

const RegistrySchema = z
  .object({
    serviceRoleArns: z.array(arnPattern).default([]),
    protectedRoleArns: z.array(arnPattern).default([]),
    roles: z.array(z.unknown()),
    approvers,
  })
  .strict();

/** The fields the zod schemas knew, by where they sit. */
export const ZOD_REGISTRY_FIELDS = {
  registry: Object.keys(RegistrySchema.shape),
  role: Object.keys(RoleSchema.shape),
  externalIds: Object.keys(ExternalIdsSchema.shape),
  rotation: Object.keys(RotationSchema.shape),
};

function describePath(path: PropertyKey[]): string {
  return path
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
    .join('')
    .replace(/^\./, '');
}

/** Validate a parsed registry document completely; throws a RegistryError listing every problem, so nothing half-loads. */
export function zodValidateRegistry(document: unknown, source: string): Registry {
  const top = RegistrySchema.safeParse(document ?? {});
  if (!top.success)
    throw new RegistryError(
      source,
      top.error.issues.map((i) => `${describePath(i.path) || '(document)'}: ${i.message}`),
    );
  const problems: string[] = [];
  const roles: Registry['roles'] = [];
  const seen = new Map<string, number>();
  top.data.roles.forEach((raw, index) => {
    const arn =
      typeof raw === 'object' && raw !== null && typeof (raw as { roleArn?: unknown }).roleArn === 'string'
        ? (raw as { roleArn: string }).roleArn
        : null;
    const where = `roles[${index}]${arn ? ` (${arn})` : ''}`;
    const parsed = RoleSchema.safeParse(raw);
    if (!parsed.success) {
      for (const issue of parsed.error.issues)
        problems.push(`${where}: ${describePath(issue.path) || '(role)'}: ${issue.message}`);
      return;
    }
    const { externalIds: ids, ...rest } = parsed.data;
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
  const { serviceRoleArns, protectedRoleArns } = top.data;
  return {
    serviceRoleArns,
    protectedRoleArns,
    roles,
    ...(top.data.approvers ? { approvers: top.data.approvers } : {}),
  };
}
