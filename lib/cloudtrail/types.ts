/** The three STS calls that hand out role sessions, and that roleguard watches. */
export const ASSUME_EVENT_NAMES = ['AssumeRole', 'AssumeRoleWithSAML', 'AssumeRoleWithWebIdentity'] as const;
export type AssumeEventName = (typeof ASSUME_EVENT_NAMES)[number];

/** `userIdentity.type` values CloudTrail writes; others are kept as given. */
export type CallerType =
  | 'IAMUser'
  | 'AssumedRole'
  | 'AWSAccount'
  | 'AWSService'
  | 'SAMLUser'
  | 'WebIdentityUser'
  | 'FederatedUser'
  | 'Root'
  | (string & {});

/** One STS assume attempt (successful or denied), normalised from any CloudTrail envelope. */
export interface AssumeEvent {
  kind: 'assume';
  /** CloudTrail `eventID`, as given. */
  eventId: string;
  /** The EventBridge envelope `id` when the record arrived in one, else null. */
  envelopeId: string | null;
  eventName: AssumeEventName;
  /** Account whose trail logged this copy; with `eventId` it is the idempotency key. */
  recipientAccountId: string;
  roleArn: string;
  roleAccountId: string;
  roleSessionName: string | null;
  /** `RoleId:sessionName`; null when denied. */
  assumedRoleId: string | null;
  /** The issued session's access key (ASIA…); null when denied. */
  accessKeyId: string | null;
  callerType: CallerType;
  callerAccountId: string | null;
  callerArn: string | null;
  callerPrincipalId: string | null;
  /** The access key the caller signed the request with. */
  callerAccessKeyId: string | null;
  externalId: string | null;
  sourceIdentity: string | null;
  sourceIpAddress: string | null;
  userAgent: string | null;
  awsRegion: string | null;
  sharedEventId: string | null;
  durationSeconds: number | null;
  /** `eventTime` as ISO-8601 UTC. */
  issuedAt: string;
  /** `credentials.expiration` as ISO-8601 UTC; null when denied or unparseable. */
  expiresAt: string | null;
  outcome: 'success' | 'denied';
  errorCode: string | null;
  errorMessage: string | null;
}

/** An `UpdateAssumeRolePolicy` call: someone changed a role's trust policy. */
export interface TrustPolicyChangeEvent {
  kind: 'trust-policy-change';
  eventId: string;
  envelopeId: string | null;
  recipientAccountId: string;
  /** IAM logs only the role name (no path, no ARN). */
  roleName: string;
  /** The new trust policy as the JSON string CloudTrail logged; null when the call failed. */
  policyDocument: string | null;
  callerType: CallerType;
  callerAccountId: string | null;
  callerArn: string | null;
  /** For an assumed-role caller, the ARN of the role behind the session. */
  callerIssuerArn: string | null;
  sourceIpAddress: string | null;
  userAgent: string | null;
  awsRegion: string | null;
  eventTime: string;
  outcome: 'success' | 'denied';
  errorCode: string | null;
}

/** The IAM calls that can undo a revocation or replace a guarded role (besides UpdateAssumeRolePolicy). */
export const ROLE_CHANGE_EVENT_NAMES = ['PutRolePolicy', 'DeleteRolePolicy', 'DeleteRole', 'CreateRole'] as const;
export type RoleChangeEventName = (typeof ROLE_CHANGE_EVENT_NAMES)[number];

/** An IAM write on a role by name: one of its inline policies put or deleted, or the role deleted or created. */
export interface RoleChangeEvent {
  kind: 'role-change';
  eventName: RoleChangeEventName;
  eventId: string;
  envelopeId: string | null;
  recipientAccountId: string;
  /** IAM logs only the role name (no path, no ARN) in the request. */
  roleName: string;
  /** The inline policy put or deleted; null for DeleteRole and CreateRole. */
  policyName: string | null;
  /** CreateRole: the new role's trust policy as logged (a JSON string, perhaps URL-encoded); else null. */
  trustPolicy: string | null;
  /** CreateRole: the new role's unique id (AROA…) from the response; else null. */
  roleId: string | null;
  callerType: CallerType;
  callerAccountId: string | null;
  callerArn: string | null;
  /** For an assumed-role caller, the ARN of the role behind the session. */
  callerIssuerArn: string | null;
  sourceIpAddress: string | null;
  userAgent: string | null;
  awsRegion: string | null;
  eventTime: string;
  outcome: 'success' | 'denied';
  errorCode: string | null;
}

/** A valid CloudTrail record that roleguard has no use for. */
export interface IgnoredRecord {
  kind: 'ignored';
  eventName: string;
  reason: string;
  /** The reason in a few words, the same for every record ignored for it: replay counts records by it. */
  category: string;
}

/** A record that is not usable, with the reason. */
export interface RejectedRecord {
  kind: 'rejected';
  reason: string;
}

export type ClassifiedRecord = AssumeEvent | TrustPolicyChangeEvent | RoleChangeEvent | IgnoredRecord | RejectedRecord;

/** Options that change how records are classified. */
export interface ClassifyOptions {
  /** Record assumes made by AWS services (Lambda, EC2 …); they are frequent and ignored by default. */
  recordAwsServiceAssumes: boolean;
}
