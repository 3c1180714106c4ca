// The zod schemas lib/cloudtrail/schema.ts used before it became a hand-written check: kept here only as the
// reference the check must agree with (test/unit/cloudtrail/check.test.ts).
import { z } from 'zod';
import { ACCOUNT_ID } from '../../lib/cloudtrail/arn.js';
import { parseCloudTrailEventTime } from '../../lib/cloudtrail/time.js';

const text = (max: number) => z.string().max(max, { message: `longer than ${max} characters` });
const optionalText = (max: number) => text(max).nullish();
const accountId = z.string().regex(ACCOUNT_ID, { message: 'not a 12-digit account id' });

/** `eventTime`, checked to be an instant CloudTrail could have written. */
export const EventTimeSchema = z.string().refine((v) => parseCloudTrailEventTime(v) !== null, {
  message: 'not a valid CloudTrail timestamp',
});

// Booleans and numbers can arrive as strings ("false", "900") from some pipelines.
const lenientInt = z
  .union([z.number(), z.string().regex(/^\d{1,9}$/, { message: 'not a whole number' })])
  .transform((v) => Number(v))
  .pipe(z.number().int().nonnegative());

/** `userIdentity` as CloudTrail writes it; only the fields roleguard uses. */
export const UserIdentitySchema = z.object({
  type: text(64).min(1),
  principalId: optionalText(512),
  arn: optionalText(2048),
  accountId: accountId.nullish(),
  accessKeyId: optionalText(128),
  userName: optionalText(512),
  identityProvider: optionalText(2048),
  invokedBy: optionalText(256),
  sessionContext: z
    .object({
      sessionIssuer: z.object({ arn: optionalText(2048), type: optionalText(64) }).nullish(),
    })
    .nullish(),
});

const CommonSchema = z.object({
  eventID: text(128).min(1),
  eventTime: EventTimeSchema,
  awsRegion: optionalText(64),
  recipientAccountId: accountId.nullish(),
  sourceIPAddress: optionalText(1024),
  userAgent: optionalText(4096),
  errorCode: optionalText(256),
  errorMessage: optionalText(8192),
  sharedEventID: optionalText(128),
  userIdentity: UserIdentitySchema,
});

/** An STS assume record: AssumeRole, AssumeRoleWithSAML or AssumeRoleWithWebIdentity. */
export const AssumeRecordSchema = CommonSchema.extend({
  eventSource: z.literal('sts.amazonaws.com'),
  eventName: z.enum(['AssumeRole', 'AssumeRoleWithSAML', 'AssumeRoleWithWebIdentity']),
  requestParameters: z
    .object({
      roleArn: optionalText(2048),
      roleSessionName: optionalText(64),
      // STS enforces 2–1224 characters of [\w+=,.@:\/-]; anything else cannot be a real event.
      externalId: z
        .string()
        .regex(/^[\w+=,.@:/-]{2,1224}$/, { message: 'not a valid external ID (2–1224 of [A-Za-z0-9+=,.@:/_-])' })
        .nullish(),
      sourceIdentity: optionalText(64),
      durationSeconds: lenientInt.nullish(),
      principalArn: optionalText(2048),
    })
    .nullish(),
  responseElements: z
    .object({
      credentials: z.object({ accessKeyId: optionalText(128), expiration: optionalText(64) }).nullish(),
      assumedRoleUser: z.object({ assumedRoleId: optionalText(256), arn: optionalText(2048) }).nullish(),
      sourceIdentity: optionalText(64),
    })
    .nullish(),
});
export type AssumeRecord = z.infer<typeof AssumeRecordSchema>;

/** An IAM `UpdateAssumeRolePolicy` record. */
export const TrustChangeRecordSchema = CommonSchema.extend({
  eventSource: z.literal('iam.amazonaws.com'),
  eventName: z.literal('UpdateAssumeRolePolicy'),
  requestParameters: z
    .object({
      roleName: z.string().regex(/^[\w+=,.@-]{1,64}$/, { message: 'not a valid role name' }),
      policyDocument: optionalText(131072),
    })
    .nullish(),
});
export type TrustChangeRecord = z.infer<typeof TrustChangeRecordSchema>;

const roleName = z.string().regex(/^[\w+=,.@-]{1,64}$/, { message: 'not a valid role name' });

/** An IAM `PutRolePolicy`, `DeleteRolePolicy`, `DeleteRole` or `CreateRole` record. */
export const RoleChangeRecordSchema = CommonSchema.extend({
  eventSource: z.literal('iam.amazonaws.com'),
  eventName: z.enum(['PutRolePolicy', 'DeleteRolePolicy', 'DeleteRole', 'CreateRole']),
  requestParameters: z
    .object({
      roleName,
      policyName: z
        .string()
        .regex(/^[\w+=,.@-]{1,128}$/, { message: 'not a valid policy name' })
        .nullish(),
      assumeRolePolicyDocument: optionalText(131072),
    })
    .nullish(),
  responseElements: z
    .object({
      role: z
        .object({
          roleId: z
            .string()
            .regex(/^[A-Z0-9]{16,128}$/, { message: 'not a role id' })
            .nullish(),
          assumeRolePolicyDocument: optionalText(131072),
        })
        .nullish(),
    })
    .nullish(),
});
export type RoleChangeRecord = z.infer<typeof RoleChangeRecordSchema>;

/** Render zod issues as one line: "path: message; path: message". */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 8)
    .map(
      (issue) =>
        `${issue.path.length ? issue.path.join('.') : '(record)'}: ${/received undefined$/.test(issue.message) ? 'missing' : issue.message}`,
    )
    .join('; ');
}

/** Powertools' EventBridge envelope schema, as lib/cloudtrail/envelope.ts used it. */
export const EventBridgeSchema = z.object({
  version: z.string(),
  id: z.string(),
  source: z.string(),
  account: z.string(),
  time: z.iso.datetime(),
  region: z.string(),
  resources: z.array(z.string()),
  'detail-type': z.string(),
  detail: z.unknown(),
  'replay-name': z.string().optional(),
});
