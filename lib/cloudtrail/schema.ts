import { ACCOUNT_ID } from './arn.js';
import {
  type Check,
  describeIssues,
  type Issue,
  lenientInt,
  literal,
  nullish,
  object,
  oneOf,
  refined,
  str,
  validate,
} from './check.js';
import { parseCloudTrailEventTime } from './time.js';

export { describeIssues, type Issue } from './check.js';

const optionalText = (max: number) => nullish(str(max));
const accountId = str(null, { pattern: ACCOUNT_ID, message: 'not a 12-digit account id' });
const roleName = str(null, { pattern: /^[\w+=,.@-]{1,64}$/, message: 'not a valid role name' });

/** `eventTime`, checked to be an instant CloudTrail could have written. */
export const eventTimeCheck = refined((v) => parseCloudTrailEventTime(v) !== null, 'not a valid CloudTrail timestamp');

/** `userIdentity` as CloudTrail writes it; only the fields roleguard uses. */
const userIdentity = object({
  type: str(64, { min: 1 }),
  principalId: optionalText(512),
  arn: optionalText(2048),
  accountId: nullish(accountId),
  accessKeyId: optionalText(128),
  userName: optionalText(512),
  identityProvider: optionalText(2048),
  invokedBy: optionalText(256),
  sessionContext: nullish(
    object({ sessionIssuer: nullish(object({ arn: optionalText(2048), type: optionalText(64) })) }),
  ),
});

const common: Record<string, Check> = {
  eventID: str(128, { min: 1 }),
  eventTime: eventTimeCheck,
  awsRegion: optionalText(64),
  recipientAccountId: nullish(accountId),
  sourceIPAddress: optionalText(1024),
  userAgent: optionalText(4096),
  errorCode: optionalText(256),
  errorMessage: optionalText(8192),
  sharedEventID: optionalText(128),
  userIdentity,
};

interface CommonRecord {
  eventID: string;
  eventTime: string;
  awsRegion?: string | null;
  recipientAccountId?: string | null;
  sourceIPAddress?: string | null;
  userAgent?: string | null;
  errorCode?: string | null;
  errorMessage?: string | null;
  sharedEventID?: string | null;
  userIdentity: {
    type: string;
    principalId?: string | null;
    arn?: string | null;
    accountId?: string | null;
    accessKeyId?: string | null;
    userName?: string | null;
    identityProvider?: string | null;
    invokedBy?: string | null;
    sessionContext?: { sessionIssuer?: { arn?: string | null; type?: string | null } | null } | null;
  };
}

const assumeCheck = object({
  ...common,
  eventSource: literal('sts.amazonaws.com'),
  eventName: oneOf(['AssumeRole', 'AssumeRoleWithSAML', 'AssumeRoleWithWebIdentity']),
  requestParameters: nullish(
    object({
      roleArn: optionalText(2048),
      roleSessionName: optionalText(64),
      // STS enforces 2–1224 characters of [\w+=,.@:\/-]; anything else cannot be a real event.
      externalId: nullish(
        str(null, {
          pattern: /^[\w+=,.@:/-]{2,1224}$/,
          message: 'not a valid external ID (2–1224 of [A-Za-z0-9+=,.@:/_-])',
        }),
      ),
      sourceIdentity: optionalText(64),
      durationSeconds: nullish(lenientInt),
      principalArn: optionalText(2048),
    }),
  ),
  responseElements: nullish(
    object({
      credentials: nullish(object({ accessKeyId: optionalText(128), expiration: optionalText(64) })),
      assumedRoleUser: nullish(object({ assumedRoleId: optionalText(256), arn: optionalText(2048) })),
      sourceIdentity: optionalText(64),
    }),
  ),
});

/** An STS assume record: AssumeRole, AssumeRoleWithSAML or AssumeRoleWithWebIdentity. */
export interface AssumeRecord extends CommonRecord {
  eventSource: 'sts.amazonaws.com';
  eventName: 'AssumeRole' | 'AssumeRoleWithSAML' | 'AssumeRoleWithWebIdentity';
  requestParameters?: {
    roleArn?: string | null;
    roleSessionName?: string | null;
    externalId?: string | null;
    sourceIdentity?: string | null;
    /** A number or a string of digits (see `wholeNumber`). */
    durationSeconds?: number | string | null;
    principalArn?: string | null;
  } | null;
  responseElements?: {
    credentials?: { accessKeyId?: string | null; expiration?: string | null } | null;
    assumedRoleUser?: { assumedRoleId?: string | null; arn?: string | null } | null;
    sourceIdentity?: string | null;
  } | null;
}

const trustChangeCheck = object({
  ...common,
  eventSource: literal('iam.amazonaws.com'),
  eventName: literal('UpdateAssumeRolePolicy'),
  requestParameters: nullish(object({ roleName, policyDocument: optionalText(131072) })),
});

/** An IAM `UpdateAssumeRolePolicy` record. */
export interface TrustChangeRecord extends CommonRecord {
  eventSource: 'iam.amazonaws.com';
  eventName: 'UpdateAssumeRolePolicy';
  requestParameters?: { roleName: string; policyDocument?: string | null } | null;
}

const roleChangeCheck = object({
  ...common,
  eventSource: literal('iam.amazonaws.com'),
  eventName: oneOf(['PutRolePolicy', 'DeleteRolePolicy', 'DeleteRole', 'CreateRole']),
  requestParameters: nullish(
    object({
      roleName,
      policyName: nullish(str(null, { pattern: /^[\w+=,.@-]{1,128}$/, message: 'not a valid policy name' })),
      assumeRolePolicyDocument: optionalText(131072),
    }),
  ),
  responseElements: nullish(
    object({
      role: nullish(
        object({
          roleId: nullish(str(null, { pattern: /^[A-Z0-9]{16,128}$/, message: 'not a role id' })),
          assumeRolePolicyDocument: optionalText(131072),
        }),
      ),
    }),
  ),
});

/** An IAM write on a role that roleguard watches besides its trust policy. */
export interface RoleChangeRecord extends CommonRecord {
  eventSource: 'iam.amazonaws.com';
  eventName: 'PutRolePolicy' | 'DeleteRolePolicy' | 'DeleteRole' | 'CreateRole';
  requestParameters?: { roleName: string; policyName?: string | null; assumeRolePolicyDocument?: string | null } | null;
  responseElements?: {
    role?: { roleId?: string | null; assumeRolePolicyDocument?: string | null } | null;
  } | null;
}

/** The record itself, typed, when it is valid; else what is wrong with it, as one line. */
export type Checked<T> = { success: true; data: T } | { success: false; reason: string };

function checker<T>(check: Check): (record: unknown) => Checked<T> {
  return (record) => {
    const issues: Issue[] = validate(check, record);
    return issues.length === 0
      ? { success: true, data: record as T }
      : { success: false, reason: describeIssues(issues) };
  };
}

/** Check an STS assume record. */
export const checkAssumeRecord = checker<AssumeRecord>(assumeCheck);
/** Check an `UpdateAssumeRolePolicy` record. */
export const checkTrustChangeRecord = checker<TrustChangeRecord>(trustChangeCheck);
/** Check a `PutRolePolicy`, `DeleteRolePolicy`, `DeleteRole` or `CreateRole` record. */
export const checkRoleChangeRecord = checker<RoleChangeRecord>(roleChangeCheck);

/** A checked `durationSeconds` as a number (strings of digits are read as numbers). */
export function wholeNumber(value: number | string | null | undefined): number | null {
  return value === null || value === undefined ? null : Number(value);
}
