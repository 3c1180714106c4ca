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
  /** Revocations of this role are decided, recorded and alerted, never written (the global DRY_RUN does this for all). */
  dryRun?: boolean;
  rotation: { everyDays: number; graceDays: number } | null;
}

/** The whole registry (contract §1). */
export interface Registry {
  serviceRoleArns: string[];
  protectedRoleArns: string[];
  roles: RegisteredRole[];
}
