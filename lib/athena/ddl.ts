import { CLOUDTRAIL_COLUMNS, type Column, type ColumnType } from './columns.js';

/** Where a trail's logs are, and which partitions Athena should project. */
export interface TableOptions {
  database: string;
  table: string;
  /** The trail's bucket, with an optional key prefix: `s3://bucket[/prefix]`. */
  location: string;
  /** An organization trail's id (`o-…`); its logs sit under `AWSLogs/<orgId>/<account>/`. */
  orgId?: string;
  accounts: string[];
  regions: string[];
  /** The first day to project, `YYYY/MM/DD`. */
  since: string;
}

/** An option of `athena setup` that cannot be used, with the reason. */
export class AthenaOptionError extends Error {
  override name = 'AthenaOptionError';
}

/** An Athena database or table name; also what keeps quotes out of the statements. */
export const IDENTIFIER = /^[a-z0-9_]{1,255}$/;
const S3_LOCATION = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(\/[\w!\-.*()/]*)?$/;
const ACCOUNT = /^\d{12}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
const ORG_ID = /^o-[a-z0-9]{10,32}$/;
const DAY = /^\d{4}\/\d{2}\/\d{2}$/;

/** Check every option at once, so a user sees all that is wrong in one go. */
export function checkTableOptions(options: TableOptions): void {
  const problems: string[] = [];
  for (const [what, value] of [
    ['--database', options.database],
    ['--table', options.table],
  ] as const)
    if (!IDENTIFIER.test(value))
      problems.push(`${what} ${JSON.stringify(value)}: use lower-case letters, digits and _`);
  if (!S3_LOCATION.test(options.location))
    problems.push(`--location ${JSON.stringify(options.location)}: expected s3://bucket or s3://bucket/prefix`);
  if (options.orgId !== undefined && !ORG_ID.test(options.orgId))
    problems.push(`--org-id ${JSON.stringify(options.orgId)}: expected o- and 10 to 32 letters or digits`);
  if (options.accounts.length === 0) problems.push('--accounts: name at least one account');
  for (const a of options.accounts)
    if (!ACCOUNT.test(a)) problems.push(`--accounts: ${JSON.stringify(a)} is not 12 digits`);
  if (options.regions.length === 0) problems.push('--regions: name at least one Region');
  for (const r of options.regions)
    if (!REGION.test(r)) problems.push(`--regions: ${JSON.stringify(r)} is not a Region`);
  if (!DAY.test(options.since)) problems.push(`--since ${JSON.stringify(options.since)}: expected YYYY/MM/DD`);
  if (problems.length > 0) throw new AthenaOptionError(problems.join('\n'));
}

function typeSql(type: ColumnType): string {
  switch (type.kind) {
    case 'string':
    case 'json':
      return 'STRING';
    case 'map':
      return 'MAP<STRING,STRING>';
    case 'struct':
      return `STRUCT<${type.fields.map(fieldSql).join(', ')}>`;
    case 'array':
      return `ARRAY<STRUCT<${type.of.map(fieldSql).join(', ')}>>`;
  }
}

const fieldSql = (column: Column): string => `${column.name.toLowerCase()}: ${typeSql(column.type)}`;

/** The root of the trail's logs: `s3://bucket/prefix/AWSLogs/[o-…/]`. */
export function logsRoot(options: Pick<TableOptions, 'location' | 'orgId'>): string {
  const base = options.location.replace(/\/+$/, '');
  return `${base}/AWSLogs/${options.orgId ? `${options.orgId}/` : ''}`;
}

/**
 * The `CREATE EXTERNAL TABLE` of AWS's documented CloudTrail table, with partition projection on account, Region and
 * day, so a query reads only the days and accounts it names and no partition ever has to be added.
 */
export function buildCloudTrailTableDdl(options: TableOptions): string {
  checkTableOptions(options);
  const root = logsRoot(options);
  const columns = CLOUDTRAIL_COLUMNS.map((c) => `  ${c.name.toLowerCase()} ${typeSql(c.type)}`).join(',\n');
  const properties: [string, string][] = [
    ['projection.enabled', 'true'],
    ['projection.account.type', 'enum'],
    ['projection.account.values', options.accounts.join(',')],
    ['projection.region.type', 'enum'],
    ['projection.region.values', options.regions.join(',')],
    ['projection.day.type', 'date'],
    ['projection.day.format', 'yyyy/MM/dd'],
    ['projection.day.range', `${options.since},NOW`],
    ['projection.day.interval', '1'],
    ['projection.day.interval.unit', 'DAYS'],
    ['storage.location.template', `${root}\${account}/CloudTrail/\${region}/\${day}`],
  ];
  return [
    `CREATE EXTERNAL TABLE IF NOT EXISTS \`${options.database}\`.\`${options.table}\` (`,
    columns,
    ')',
    "COMMENT 'CloudTrail logs (roleguard athena setup)'",
    'PARTITIONED BY (account STRING, region STRING, day STRING)',
    "ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'",
    "STORED AS INPUTFORMAT 'com.amazon.emr.cloudtrail.CloudTrailInputFormat'",
    "OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'",
    `LOCATION '${root}'`,
    'TBLPROPERTIES (',
    properties.map(([k, v]) => `  '${k}'='${v}'`).join(',\n'),
    ')',
  ].join('\n');
}
