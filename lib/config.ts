import { ConfigError } from './errors.js';
import { spokeOwnPatterns } from './org/own.js';

/** Settings read once at cold start. */
export interface Config {
  /** DynamoDB table holding recorded sessions. */
  sessionsTable: string;
  /** Days to keep a session item after the session expired (DynamoDB TTL). */
  sessionRetentionDays: number;
  /** Record assumes made by AWS services (lambda.amazonaws.com …); off by default because they are frequent. */
  recordAwsServiceAssumes: boolean;
  /** DynamoDB table holding the registry of guarded roles. */
  registryTable: string;
  /** How long a warm function reuses the registry it loaded. */
  registryCacheSeconds: number;
  /** DynamoDB table holding the alert outbox. */
  alertsTable: string;
  /** Findings of the same kind, role and caller within this window are merged into one alert with a count. */
  alertWindowSeconds: number;
  /** SNS topic for alerts; null only where alerts are not sent (local runs). */
  alertTopicArn: string | null;
  /** SSM SecureString parameter holding the Slack incoming-webhook URL; null (unset or "none"): SNS only. */
  slackWebhookParameter: string | null;
  /** Slack alerts carry action buttons (`SLACK_ACTIONS`): only once the Slack app is set up (docs/slack-app.md). */
  slackActions?: boolean;
  /** DynamoDB table of revocation intents, policy tracking, callers revoked and per-role locks; null where revocation is off. */
  revocationsTable: string | null;
  /** The account the functions run in (`AWS_ACCOUNT_ID`): roles of other accounts are never written. Null: unchecked. */
  accountId?: string | null;
  /** ARN patterns (`*` wildcard) of roleguard's own roles: never revoked, whatever the registry says. */
  ownRoleArns: string[];
  /** Revocations are decided, recorded and alerted (with the policy), but nothing is written to IAM. */
  dryRun: boolean;
  /** SNS topic for the vendors' contacts (the new external ID travels there); subscribers filter on the `vendor` attribute. */
  rotationTopicArn: string | null;
  /** SSM SecureString parameter with a Slack webhook of the channel where vendor contacts take new IDs; optional. */
  rotationSlackWebhookParameter: string | null;
  /** Length of generated external IDs. */
  externalIdLength: number;
  /** The account's trust-policy size quota (IAM's default is 2,048 characters; it can be raised to 8,192). */
  trustPolicySizeLimit: number;
  // --- Organization hub (all optional: a hub without them serves its own account only; lib/org/accounts.ts) ---
  /** The organization the hub serves (`ORG_ID`, o-…); null: an organization of one, and roles of other accounts are refused. */
  orgId?: string | null;
  /** The hub's own account (`HUB_ACCOUNT_ID`, else `AWS_ACCOUNT_ID`): its roles are written with the own credentials. */
  hubAccountId?: string | null;
  /** The hub's home Region (`HOME_REGION`), where the hub bus and all state are. */
  homeRegion?: string | null;
  /** The spoke role of every member account (`SPOKE_ROLE_NAME`, `roleguard-<stage>-spoke`); its sessions are roleguard's own. */
  spokeRoleName?: string | null;
}

type Env = Record<string, string | undefined>;

/**
 * Read and check the whole configuration from the environment; throws a ConfigError naming every problem.
 * `alerting` makes the SNS alert topic required, as in the deployed functions (Slack stays optional); `revoking` the revocations table.
 */
export function loadConfig(env: Env, options: { alerting?: boolean; revoking?: boolean } = {}): Config {
  const problems: string[] = [];
  const optional = (name: string): string | null => env[name]?.trim() || null;
  const required = (name: string): string => {
    const value = optional(name);
    if (!value) problems.push(`${name} is required`);
    return value ?? '';
  };
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name]?.trim();
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max)
      problems.push(`${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    return value;
  };
  const flag = (name: string): boolean => {
    const raw = env[name]?.trim().toLowerCase();
    if (raw === undefined || raw === '') return false;
    if (raw !== 'true' && raw !== 'false')
      problems.push(`${name} must be true or false, got ${JSON.stringify(env[name])}`);
    return raw === 'true';
  };
  const config: Config = {
    sessionsTable: required('SESSIONS_TABLE'),
    sessionRetentionDays: integer('SESSION_RETENTION_DAYS', 90, 1, 3650),
    recordAwsServiceAssumes: flag('RECORD_AWS_SERVICE_ASSUMES'),
    registryTable: required('REGISTRY_TABLE'),
    registryCacheSeconds: integer('REGISTRY_CACHE_SECONDS', 60, 0, 3600),
    alertsTable: required('ALERTS_TABLE'),
    alertWindowSeconds: integer('ALERT_WINDOW_SECONDS', 3600, 0, 7 * 86400),
    alertTopicArn: options.alerting ? required('ALERT_TOPIC_ARN') : optional('ALERT_TOPIC_ARN'),
    // Slack is optional everywhere: SNS alone is a complete alert channel (PagerDuty, Teams, email subscribe to it).
    slackWebhookParameter: optional('SLACK_WEBHOOK_PARAMETER') === 'none' ? null : optional('SLACK_WEBHOOK_PARAMETER'),
    // Off unless the Slack app is set up: without it the buttons would be dead.
    slackActions: flag('SLACK_ACTIONS'),
    ownRoleArns: (env.OWN_ROLE_ARNS ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean),
    revocationsTable: options.revoking ? required('REVOCATIONS_TABLE') : optional('REVOCATIONS_TABLE'),
    accountId: optional('AWS_ACCOUNT_ID'),
    dryRun: flag('DRY_RUN'),
    rotationTopicArn: optional('ROTATION_TOPIC_ARN'),
    rotationSlackWebhookParameter: optional('ROTATION_SLACK_WEBHOOK_PARAMETER'),
    externalIdLength: integer('EXTERNAL_ID_LENGTH', 32, 2, 1224),
    trustPolicySizeLimit: integer('TRUST_POLICY_SIZE_LIMIT', 2048, 2048, 8192),
    orgId: optional('ORG_ID'),
    hubAccountId: optional('HUB_ACCOUNT_ID') ?? optional('AWS_ACCOUNT_ID'),
    homeRegion: optional('HOME_REGION'),
    spokeRoleName: optional('SPOKE_ROLE_NAME'),
  };
  for (const [name, value] of [
    ['ALERT_TOPIC_ARN', config.alertTopicArn],
    ['ROTATION_TOPIC_ARN', config.rotationTopicArn],
  ] as const) {
    if (value && !/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/.test(value))
      problems.push(`${name} is not an SNS topic ARN`);
  }
  if (config.slackWebhookParameter && !config.slackWebhookParameter.startsWith('/'))
    problems.push(
      `SLACK_WEBHOOK_PARAMETER must be an SSM parameter name starting with "/" (or "none" for no Slack), got ${JSON.stringify(config.slackWebhookParameter)}`,
    );
  if (config.accountId && !/^\d{12}$/.test(config.accountId))
    problems.push(`AWS_ACCOUNT_ID must be a 12-digit account id, got ${JSON.stringify(config.accountId)}`);
  if (config.orgId && !/^o-[a-z0-9]{10,32}$/.test(config.orgId))
    problems.push(`ORG_ID must be an organization id (o-…), got ${JSON.stringify(config.orgId)}`);
  if (config.hubAccountId && !/^\d{12}$/.test(config.hubAccountId))
    problems.push(`HUB_ACCOUNT_ID must be a 12-digit account id, got ${JSON.stringify(config.hubAccountId)}`);
  if (config.homeRegion && !/^[a-z]{2}(-[a-z]+)+-\d$/.test(config.homeRegion))
    problems.push(`HOME_REGION must be a Region (eu-west-1, …), got ${JSON.stringify(config.homeRegion)}`);
  if (config.spokeRoleName && !/^[\w+=,.@-]{1,64}$/.test(config.spokeRoleName))
    problems.push(`SPOKE_ROLE_NAME must be a role name, got ${JSON.stringify(config.spokeRoleName)}`);
  for (const pattern of config.ownRoleArns)
    if (!/^arn:aws[a-z-]*:iam::(\d{12}|\*):role\/[\x21-\x7e]+$/.test(pattern))
      problems.push(`OWN_ROLE_ARNS: not a role ARN pattern: ${JSON.stringify(pattern)}`);
  // Acting in member accounts: the spoke role's sessions are roleguard's own principals there (their IAM writes come
  // back as events), and the spoke role itself is never revoked.
  if (config.orgId && !config.spokeRoleName) problems.push('SPOKE_ROLE_NAME is required with ORG_ID');
  if (config.orgId && !config.hubAccountId) problems.push('HUB_ACCOUNT_ID (or AWS_ACCOUNT_ID) is required with ORG_ID');
  if (config.spokeRoleName) config.ownRoleArns.push(...spokeOwnPatterns(config.spokeRoleName));
  if (problems.length) throw new ConfigError(problems);
  return config;
}
