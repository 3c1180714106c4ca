import { describe, expect, it } from '@jest/globals';
import { AthenaOptionError, buildCloudTrailTableDdl, type TableOptions } from '../../../lib/athena/ddl.js';
import { buildUnloadQuery } from '../../../lib/athena/query.js';

const TABLE: TableOptions = {
  database: 'security',
  table: 'cloudtrail',
  location: 's3://org-trail-logs/trail',
  orgId: 'o-a1b2c3d4e5',
  accounts: ['111122223333', '444455556666'],
  regions: ['us-east-1', 'eu-west-1'],
  since: '2025/12/01',
};

describe('roleguard athena setup: the CloudTrail table', () => {
  const ddl = buildCloudTrailTableDdl(TABLE);

  it("has the documented table's columns, lower-cased, with the JSON columns as strings", () => {
    expect(ddl).toMatch(/^CREATE EXTERNAL TABLE IF NOT EXISTS `security`\.`cloudtrail` \(/);
    for (const column of [
      'eventversion STRING',
      'eventtime STRING',
      'sourceipaddress STRING',
      'requestparameters STRING',
      'responseelements STRING',
      'additionaleventdata STRING',
      'readonly STRING',
      'sharedeventid STRING',
      'recipientaccountid STRING',
    ])
      expect(ddl).toContain(`  ${column},`);
    expect(ddl).toMatch(/ {2}useridentity STRUCT<type: STRING, principalid: STRING, arn: STRING, accountid: STRING,/);
    expect(ddl).toContain(
      'sessionissuer: STRUCT<type: STRING, principalid: STRING, arn: STRING, accountid: STRING, username: STRING>',
    );
    expect(ddl).toContain('resources ARRAY<STRUCT<arn: STRING, accountid: STRING, type: STRING>>');
    expect(ddl).toContain(
      'tlsdetails STRUCT<tlsversion: STRING, ciphersuite: STRING, clientprovidedhostheader: STRING>',
    );
    expect(ddl).toContain("ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'");
    expect(ddl).toContain("STORED AS INPUTFORMAT 'com.amazon.emr.cloudtrail.CloudTrailInputFormat'");
  });

  it('projects account, Region and day partitions over the organization trail layout', () => {
    expect(ddl).toContain('PARTITIONED BY (account STRING, region STRING, day STRING)');
    expect(ddl).toContain("LOCATION 's3://org-trail-logs/trail/AWSLogs/o-a1b2c3d4e5/'");
    expect(ddl).toContain("'projection.enabled'='true'");
    expect(ddl).toContain("'projection.account.values'='111122223333,444455556666'");
    expect(ddl).toContain("'projection.region.values'='us-east-1,eu-west-1'");
    expect(ddl).toContain("'projection.day.type'='date'");
    expect(ddl).toContain("'projection.day.format'='yyyy/MM/dd'");
    expect(ddl).toContain("'projection.day.range'='2025/12/01,NOW'");
    expect(ddl).toContain(
      "'storage.location.template'='s3://org-trail-logs/trail/AWSLogs/o-a1b2c3d4e5/${account}/CloudTrail/${region}/${day}'",
    );
  });

  it('uses the account trail layout without an organization id', () => {
    const plain = buildCloudTrailTableDdl({ ...TABLE, orgId: undefined, location: 's3://my-trail/' });
    expect(plain).toContain("LOCATION 's3://my-trail/AWSLogs/'");
    expect(plain).toContain(
      "'storage.location.template'='s3://my-trail/AWSLogs/${account}/CloudTrail/${region}/${day}'",
    );
  });

  it('lists every bad option at once, and never lets a quote into the statement', () => {
    const bad = {
      ...TABLE,
      database: "x'; DROP",
      location: 'https://bucket',
      orgId: 'o-1',
      accounts: ['12'],
      regions: [],
      since: '2025-12-01',
    };
    expect(() => buildCloudTrailTableDdl(bad)).toThrow(AthenaOptionError);
    try {
      buildCloudTrailTableDdl(bad);
    } catch (error) {
      expect((error as Error).message.split('\n')).toHaveLength(6);
    }
  });
});

it('refuses a quote in the location, so it never reaches the statement', () => {
  expect(() => buildCloudTrailTableDdl({ ...TABLE, location: "s3://bkt/a'b" })).toThrow(/--location "s3:\/\/bkt\/a'b"/);
});

describe('roleguard athena replay: the UNLOAD query', () => {
  const query = buildUnloadQuery({
    database: 'security',
    table: 'cloudtrail',
    since: '2026-01-01T00:00:00Z',
    until: '2026-02-01T00:00:00Z',
    accounts: ['111122223333'],
    output: 's3://athena-results/roleguard/run-1/',
  });

  it('unloads the assume and IAM events of the window as gzip JSON', () => {
    expect(query).toMatch(/^UNLOAD \(\n {2}SELECT \* FROM "security"\."cloudtrail"/);
    expect(query).toContain("WHERE day BETWEEN '2026/01/01' AND '2026/02/02'");
    expect(query).toContain("AND eventtime >= '2026-01-01T00:00:00Z' AND eventtime < '2026-02-01T00:00:00Z'");
    expect(query).toContain(
      "(eventsource = 'sts.amazonaws.com' AND eventname IN ('AssumeRole', 'AssumeRoleWithSAML', 'AssumeRoleWithWebIdentity'))",
    );
    expect(query).toMatch(/eventsource = 'iam\.amazonaws\.com' AND eventname IN \('UpdateAssumeRolePolicy'/);
    expect(query).toContain("AND account IN ('111122223333')");
    expect(query).toContain("TO 's3://athena-results/roleguard/run-1/'");
    expect(query).toContain("WITH (format = 'JSON', compression = 'GZIP')");
  });

  it('refuses a database or table name that could break out of its quotes', () => {
    const window = { since: '2026-01-01T00:00:00Z', until: '2026-01-02T00:00:00Z', output: 's3://b-1/p/' };
    expect(() => buildUnloadQuery({ ...window, database: 'd"; DROP TABLE x; --', table: 't' })).toThrow(/--database/);
    expect(() => buildUnloadQuery({ ...window, database: 'd', table: 'T"x' })).toThrow(/--trail-table/);
  });

  it('takes whole seconds only, since eventtime is compared as text', () => {
    const base = { database: 'd', table: 't', output: 's3://b-1/p/', until: '2026-01-02T00:00:00Z' };
    expect(() => buildUnloadQuery({ ...base, since: '2026-01-01T00:00:00.500Z' })).toThrow(/whole seconds/);
  });

  it('refuses a window or an output it cannot use', () => {
    const base = { database: 'd', table: 't', output: 's3://b-1/p/' };
    expect(() => buildUnloadQuery({ ...base, since: '2026-02-01T00:00:00Z', until: '2026-01-01T00:00:00Z' })).toThrow(
      '--since must be before --until',
    );
    expect(() => buildUnloadQuery({ ...base, since: 'yesterday', until: '2026-01-01T00:00:00Z' })).toThrow(
      /--since "yesterday"/,
    );
    expect(() =>
      buildUnloadQuery({
        ...base,
        output: "s3://b-1/p'",
        since: '2026-01-01T00:00:00Z',
        until: '2026-01-02T00:00:00Z',
      }),
    ).toThrow(/--output/);
  });
});
