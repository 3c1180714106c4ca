import { IAMClient } from '@aws-sdk/client-iam';
import { AssumeRoleCommand, type STSClient } from '@aws-sdk/client-sts';
import { built, type Lazy } from '../lazy.js';

/** Credentials are renewed this long before they expire, so a call never starts with credentials about to lapse. */
export const RENEW_BEFORE_MS = 5 * 60_000;

/** roleguard cannot act in an account: refused (no organization), or the spoke role could not be assumed. */
export class AccountAccessError extends Error {
  override name = 'AccountAccessError';
  constructor(
    message: string,
    readonly accountId: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Credentials as the SDK takes them. */
export interface SpokeCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

/** What acting in accounts needs; one per cold start (or per CLI run). */
export interface AccountAccessDeps {
  /** The hub's own account (`HUB_ACCOUNT_ID`/`AWS_ACCOUNT_ID`); null: unknown, every role goes to the own client. */
  hubAccountId: string | null;
  /** The organization (`ORG_ID`); null or empty: an organization of one, other accounts are refused. */
  orgId: string | null;
  /** The spoke role's name in every member account (`SPOKE_ROLE_NAME`, `roleguard-<stage>-spoke`). */
  spokeRoleName: string | null;
  /** Accounts acted in through their spoke role even without `orgId` (the CLI's `roles import --account`). */
  allowAccounts?: string[];
  partition?: string;
  /** STS, or how to build it: a function built by its first assume of a spoke role (most never assume one). */
  sts: Lazy<STSClient>;
  now: () => Date;
  /** An IAM client for credentials (a spoke's), or with none for the function's own credentials. */
  makeIam?: (credentials?: SpokeCredentials) => IAMClient;
  /** What an AccessDenied of the spoke role means for this caller (default: the hub's: deploy the spoke StackSet). */
  deniedHint?: string;
}

/** Chooses the IAM client of the account a role lives in. */
export interface AccountAccess {
  hubAccountId: string | null;
  /** Why roleguard does not act in the account, or null when it may. */
  refusal(accountId: string): string | null;
  /** The IAM client of the account: the own one for the hub, else the spoke role's session `roleguard-<purpose>`. */
  iamFor(accountId: string, purpose: string): Promise<IAMClient>;
}

/** The refusal of a role of another account when roleguard does not act there (no organization). */
export function otherAccountRefusal(accountId: string, hubAccountId: string): string {
  return `the role is in account ${accountId}, but roleguard runs in account ${hubAccountId}; IAM writes go by role name, so writing would change the role of that name in ${hubAccountId} instead. Revoke it from roleguard in ${accountId}, or deploy roleguard for the organization (orgId) so that it acts through the spoke role there`;
}

/** The session name of a purpose: `roleguard-<purpose>`, within STS's 2–64 characters of [\w+=,.@-]. */
export function spokeSessionName(purpose: string): string {
  return `roleguard-${purpose}`.replace(/[^\w+=,.@-]/g, '-').slice(0, 64);
}

/** The spoke role's ARN in an account. */
export function spokeRoleArn(accountId: string, spokeRoleName: string, partition = 'aws'): string {
  return `arn:${partition}:iam::${accountId}:role/${spokeRoleName}`;
}

/** Say what a failed AssumeRole of the spoke means, naming the account and the role. */
export function spokeAssumeError(
  accountId: string,
  roleArn: string,
  error: unknown,
  deniedHint = 'the spoke role is missing or does not trust this hub: deploy the spoke StackSet (docs/organization.md)',
): AccountAccessError {
  const e = error as { name?: string; message?: string; $metadata?: unknown; $retryable?: unknown };
  const denied = /AccessDenied/i.test(e.name ?? '');
  const why = denied ? deniedHint : `${e.name ?? 'Error'}: ${e.message ?? String(error)}`;
  const failure = new AccountAccessError(
    `cannot act in account ${accountId}: AssumeRole of ${roleArn} failed: ${why}`,
    accountId,
    { cause: error },
  );
  // Throttling and 5xx stay recognisable as transient to the callers' retry checks.
  return Object.assign(failure, { $metadata: e.$metadata, $retryable: e.$retryable });
}

/**
 * Act in the account a role lives in. The hub's own account uses the function's own credentials; another account,
 * only in an organization, the spoke role, assumed as `roleguard-<purpose>` (so the member account's CloudTrail says
 * what roleguard did). Credentials are cached per account and purpose until 5 minutes before they expire, and
 * concurrent first calls share one AssumeRole. A failed assume is not cached: the next call tries again.
 */
export function createAccountAccess(deps: AccountAccessDeps): AccountAccess {
  const makeIam =
    deps.makeIam ?? ((credentials) => new IAMClient({ maxAttempts: 5, ...(credentials ? { credentials } : {}) }));
  const orgId = deps.orgId?.trim() || null;
  let own: IAMClient | null = null;
  const cache = new Map<string, { expiresAt: number; client: Promise<IAMClient> }>();
  const refusal = (accountId: string): string | null => {
    if (!deps.hubAccountId || accountId === deps.hubAccountId) return null;
    if (!orgId && !deps.allowAccounts?.includes(accountId)) return otherAccountRefusal(accountId, deps.hubAccountId);
    if (!deps.spokeRoleName)
      return `the role is in account ${accountId}, and no spoke role name (SPOKE_ROLE_NAME) is configured`;
    return null;
  };
  const assume = async (accountId: string, purpose: string): Promise<{ client: IAMClient; expiresAt: number }> => {
    const roleArn = spokeRoleArn(accountId, deps.spokeRoleName!, deps.partition);
    let credentials: SpokeCredentials;
    try {
      const out = await built(deps.sts).send(
        new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: spokeSessionName(purpose) }),
      );
      const c = out.Credentials;
      if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration)
        throw new Error('STS returned no credentials');
      credentials = {
        accessKeyId: c.AccessKeyId,
        secretAccessKey: c.SecretAccessKey,
        sessionToken: c.SessionToken,
        expiration: new Date(c.Expiration),
      };
    } catch (error) {
      throw spokeAssumeError(accountId, roleArn, error, deps.deniedHint);
    }
    return { client: makeIam(credentials), expiresAt: credentials.expiration.getTime() };
  };
  return {
    hubAccountId: deps.hubAccountId,
    refusal,
    async iamFor(accountId, purpose) {
      const refused = refusal(accountId);
      if (refused) throw new AccountAccessError(`refused: ${refused}`, accountId);
      if (!deps.hubAccountId || accountId === deps.hubAccountId) {
        own ??= makeIam();
        return own;
      }
      const key = `${accountId}/${purpose}`;
      const cached = cache.get(key);
      if (cached && deps.now().getTime() < cached.expiresAt - RENEW_BEFORE_MS) return cached.client;
      // Until the assume answers, its expiry is unknown: concurrent callers share the pending promise.
      const entry = { expiresAt: Number.POSITIVE_INFINITY, client: null as unknown as Promise<IAMClient> };
      entry.client = assume(accountId, purpose).then(
        (done) => {
          entry.expiresAt = done.expiresAt;
          return done.client;
        },
        (error: unknown) => {
          if (cache.get(key) === entry) cache.delete(key);
          throw error;
        },
      );
      cache.set(key, entry);
      return entry.client;
    },
  };
}

/** The IAM client of the account in a role's ARN, for code that goes by role ARN (rotation's trust-policy edits). */
export function iamByRole(access: AccountAccess, purpose: string): (roleArn: string) => Promise<IAMClient> {
  return async (roleArn) => {
    const account = /^arn:aws[a-z-]*:iam::(\d{12}):role\//.exec(roleArn)?.[1];
    if (!account) throw new Error(`not a role ARN: ${roleArn}`);
    return access.iamFor(account, purpose);
  };
}
