/** A 12-digit AWS account id. */
export const ACCOUNT_ID = /^\d{12}$/;

// IAM role ARN: partition, 12-digit account, optional path (printable ASCII between slashes), role name.
const ROLE_ARN =
  /^arn:(aws|aws-cn|aws-us-gov|aws-iso(?:-[a-z])?):iam::(\d{12}):role(\/(?:[\x21-\x7e]{1,510}\/)?)([\w+=,.@-]{1,64})$/;
// Any IAM/STS ARN: used only to read the account out of a provider or caller ARN.
const ANY_IAM_ARN = /^arn:aws[a-z-]*:(?:iam|sts)::(\d{12}):/;
// "… is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/Name"
const ROLE_IN_ERROR = /on resource: (arn:[\w-]+:iam::\d{12}:role\/\S+?)(?:[\s"',;]|$)/;

/** The parts of a role ARN, or null when it is not a valid IAM role ARN. */
export interface RoleArnParts {
  partition: string;
  accountId: string;
  path: string;
  roleName: string;
}

/** Split a role ARN after validating it; never trust an unvalidated ARN from an event. */
export function parseRoleArn(arn: string): RoleArnParts | null {
  const m = ROLE_ARN.exec(arn);
  if (!m) return null;
  return { partition: m[1]!, accountId: m[2]!, path: m[3]!, roleName: m[4]! };
}

/** The account id inside an IAM or STS ARN, or null. */
export function accountOfArn(arn: string | null | undefined): string | null {
  if (!arn) return null;
  return ANY_IAM_ARN.exec(arn)?.[1] ?? null;
}

/** The role ARN a failed AssumeRole names in its errorMessage; CloudTrail nulls requestParameters then. */
export function roleArnFromErrorMessage(message: string | null | undefined): string | null {
  if (!message) return null;
  return ROLE_IN_ERROR.exec(message)?.[1] ?? null;
}
