import { AthenaOptionError, IDENTIFIER } from './ddl.js';

/** The STS and IAM events roleguard decides on; everything else in a trail is left in S3. */
export const RELEVANT_EVENTS = {
  'sts.amazonaws.com': ['AssumeRole', 'AssumeRoleWithSAML', 'AssumeRoleWithWebIdentity'],
  'iam.amazonaws.com': ['UpdateAssumeRolePolicy', 'PutRolePolicy', 'DeleteRolePolicy', 'CreateRole', 'DeleteRole'],
} as const;

export interface UnloadOptions {
  database: string;
  table: string;
  /** ISO-8601 instants; the window is [since, until). */
  since: string;
  until: string;
  accounts?: string[];
  /** Where UNLOAD writes its files: an empty `s3://bucket/prefix/`. */
  output: string;
}

// Whole seconds, as CloudTrail writes eventTime: the window is compared as text, where '.' sorts before 'Z'.
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const quote = (value: string): string => `'${value.replace(/'/g, "''")}'`;
const day = (iso: string): string => iso.slice(0, 10).replace(/-/g, '/');

/**
 * One `UNLOAD … WITH (format = 'JSON')` of the assume and IAM events of a window. A plain query's result cells
 * flatten the structs into text that cannot be read back; UNLOAD keeps them as JSON objects. The day partition
 * bounds what Athena scans; `eventtime` bounds what is returned.
 */
export function buildUnloadQuery(options: UnloadOptions): string {
  const problems: string[] = [];
  for (const [what, value] of [
    ['--database', options.database],
    ['--trail-table', options.table],
  ] as const)
    if (!IDENTIFIER.test(value))
      problems.push(`${what} ${JSON.stringify(value)}: use lower-case letters, digits and _`);
  for (const [what, value] of [
    ['--since', options.since],
    ['--until', options.until],
  ] as const)
    if (!ISO.test(value))
      problems.push(
        `${what} ${JSON.stringify(value)}: expected an ISO-8601 UTC time in whole seconds, such as 2026-01-31T00:00:00Z`,
      );
  if (problems.length === 0 && options.since >= options.until) problems.push('--since must be before --until');
  if (!/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/([\w!\-.*'()/]*\/)?$/.test(options.output))
    problems.push(`--output ${JSON.stringify(options.output)}: expected s3://bucket/prefix/ (ending in /)`);
  for (const a of options.accounts ?? [])
    if (!/^\d{12}$/.test(a)) problems.push(`--accounts: ${JSON.stringify(a)} is not 12 digits`);
  if (problems.length > 0) throw new AthenaOptionError(problems.join('\n'));
  const events = Object.entries(RELEVANT_EVENTS)
    .map(([source, names]) => `(eventsource = ${quote(source)} AND eventname IN (${names.map(quote).join(', ')}))`)
    .join('\n         OR ');
  const accounts = options.accounts?.length ? `\n    AND account IN (${options.accounts.map(quote).join(', ')})` : '';
  return [
    'UNLOAD (',
    `  SELECT * FROM "${options.database}"."${options.table}"`,
    // A log file is filed under the day it was delivered, up to a day after its events: widen the end by a day.
    `  WHERE day BETWEEN ${quote(day(options.since))} AND ${quote(shiftDay(options.until, 1))}`,
    `    AND eventtime >= ${quote(options.since)} AND eventtime < ${quote(options.until)}`,
    `    AND (${events})${accounts}`,
    ')',
    `TO ${quote(options.output)}`,
    "WITH (format = 'JSON', compression = 'GZIP')",
  ].join('\n');
}

function shiftDay(iso: string, days: number): string {
  const date = new Date(Date.parse(iso) + days * 86_400_000);
  return day(date.toISOString());
}
