/** What the service expects of one guarded role (contract §1). */
export interface RegisteredRole {
  roleArn: string;
  vendor: string;
  trustedAccounts: string[];
  externalIds: {
    current: string | null;
    pending: string | null;
    retired: string[];
  };
  response: 'revoke' | 'alert';
  /**
   * Watch mode: the file said `externalIds: none` (the role's trust policy requires no external ID). `externalIds`
   * then holds no ID, and every assume from another account is a `missing-external-id` finding.
   */
  noExternalId?: true;
  /** Revocations of this role are decided, recorded and alerted, never written (the global DRY_RUN does this for all). */
  dryRun?: boolean;
  /**
   * Rotate the external ID every `everyDays`; the vendor has `graceDays` to switch. Extensions of contract §1:
   * `notifyTopicArn` (the SNS topic of this vendor's contact, instead of the rotation topic) and
   * `revokeOldSessions` (at finish, revoke sessions still alive that were issued with the old ID) and `quietHours`
   * (how long the old ID must have gone unused after the confirmation before the finish; default 24).
   */
  rotation: {
    everyDays: number;
    graceDays: number;
    notifyTopicArn?: string;
    revokeOldSessions?: boolean;
    quietHours?: number;
  } | null;
  /** Slack user IDs who may act on this role's findings from Slack, besides the global approvers. */
  approvers?: string[];
}

/** The whole registry (contract §1). */
export interface Registry {
  serviceRoleArns: string[];
  protectedRoleArns: string[];
  roles: RegisteredRole[];
  /** Slack user IDs who may act on any role's findings from Slack (an extension of contract §1). */
  approvers?: string[];
}
