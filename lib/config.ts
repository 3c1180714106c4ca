import { ConfigError } from './errors.js';

/** Settings read once at cold start. */
export interface Config {
  /** DynamoDB table holding recorded sessions. */
  sessionsTable: string;
  /** Days to keep a session item after the session expired (DynamoDB TTL). */
  sessionRetentionDays: number;
  /** Record assumes made by AWS services (lambda.amazonaws.com …); off by default because they are frequent. */
  recordAwsServiceAssumes: boolean;
}

type Env = Record<string, string | undefined>;

/** Read and check the whole configuration from the environment; throws a ConfigError naming every problem. */
export function loadConfig(env: Env): Config {
  const problems: string[] = [];
  const required = (name: string): string => {
    const value = env[name]?.trim();
    if (!value) problems.push(`${name} is required`);
    return value ?? '';
  };
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name]?.trim();
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) problems.push(`${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    return value;
  };
  const flag = (name: string): boolean => {
    const raw = env[name]?.trim().toLowerCase();
    if (raw === undefined || raw === '') return false;
    if (raw !== 'true' && raw !== 'false') problems.push(`${name} must be true or false, got ${JSON.stringify(env[name])}`);
    return raw === 'true';
  };
  const config: Config = {
    sessionsTable: required('SESSIONS_TABLE'),
    sessionRetentionDays: integer('SESSION_RETENTION_DAYS', 90, 1, 3650),
    recordAwsServiceAssumes: flag('RECORD_AWS_SERVICE_ASSUMES'),
  };
  if (problems.length) throw new ConfigError(problems);
  return config;
}
