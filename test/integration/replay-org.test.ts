import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readRegistryFile } from '../../cli/registry-file.js';
import { createDeps } from '../../lib/deps.js';
import { runReplay } from '../../lib/replay/run-replay.js';
import { emulatedRevoker } from '../../lib/revoke/respond.js';
import { createRevocationStore } from '../../lib/revoke/store.js';
import { createSessionsTable, createTestTables, testDynamo } from '../helpers/dynamo.js';
import { memoryLogger } from '../helpers/logger.js';

// An organization trail's S3 layout, downloaded: AWSLogs/<org id>/<account>/CloudTrail/<region>/YYYY/MM/DD/*.json.gz,
// three accounts by three Regions. The same vendor role name is registered in two accounts (A and B, each with its
// own external ID). Assumes between accounts of the organization are in both accounts' logs (one copy each, sharing
// sharedEventID); the vendor outside the organization appears in the role owner's log only. The replay decides as
// the hub does: one finding per attack, on the role owner's account's role, and the revocation there only.
const ORG = 'o-a1b2c3d4e5';
const A = '111122223333';
const B = '222233334444';
const C = '333344445555';
const VENDOR = '999988887777';
const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2'];
const roleOf = (account: string) => `arn:aws:iam::${account}:role/vendors/VendorAudit`;
const ID_A = 'ec-account-a-7Hq2vN9xK4pL8mR3';
const ID_B = 'ec-account-b-Zt5Wq1Ls8Nd3Kx6P';
const REGISTRY = `
serviceRoleArns: ["arn:aws:iam::${A}:role/roleguard-*"]
roles:
  - roleArn: ${roleOf(A)}
    vendor: Example Corp (A)
    trustedAccounts: ["${VENDOR}", "${B}"]
    externalIds: { current: "${ID_A}" }
    response: revoke
  - roleArn: ${roleOf(B)}
    vendor: Example Corp (B)
    trustedAccounts: ["${VENDOR}", "${C}"]
    externalIds: { current: "${ID_B}" }
    response: revoke
`;

interface Assume {
  id: string;
  time: string;
  region: string;
  roleAccount: string;
  caller: { account: string; arn?: string };
  externalId: string | null;
  /** The role is not registered: `DataPipeline` instead of `VendorAudit`. */
  unguarded?: boolean;
}

let n = 0;
/** The copies CloudTrail logs for one assume: the owner's always, the caller's too when it is in the organization. */
function copiesOf(a: Assume): { account: string; region: string; record: Record<string, unknown> }[] {
  const session = `s-${a.id}`;
  const roleName = a.unguarded ? 'DataPipeline' : 'VendorAudit';
  const roleArn = `arn:aws:iam::${a.roleAccount}:role/vendors/${roleName}`;
  const body = {
    eventVersion: '1.08',
    eventTime: a.time,
    eventSource: 'sts.amazonaws.com',
    eventName: 'AssumeRole',
    awsRegion: a.region,
    sourceIPAddress: '203.0.113.25',
    userAgent: 'aws-sdk-java/2.25.0',
    requestParameters: {
      roleArn,
      roleSessionName: session,
      durationSeconds: 3600,
      ...(a.externalId === null ? {} : { externalId: a.externalId }),
    },
    responseElements: {
      credentials: {
        accessKeyId: `ASIA${a.id.toUpperCase().padEnd(16, 'X').slice(0, 16)}`,
        sessionToken: '<redacted>',
        expiration: new Date(Date.parse(a.time) + 3600_000).toISOString(),
      },
      assumedRoleUser: {
        assumedRoleId: `AROA${a.roleAccount.slice(0, 12)}EXAMPLE:${session}`,
        arn: `arn:aws:sts::${a.roleAccount}:assumed-role/${roleName}/${session}`,
      },
    },
    requestID: `req-${a.id}`,
    readOnly: true,
    resources: [{ accountId: a.roleAccount, type: 'AWS::IAM::Role', ARN: roleArn }],
    eventType: 'AwsApiCall',
    managementEvent: true,
    eventCategory: 'Management',
    sharedEventID: `shared-${a.id}`,
  };
  const principal = `AROA${a.caller.account}CALLER:worker`;
  const owner = {
    ...body,
    eventID: `evt-${String(++n).padStart(4, '0')}`,
    recipientAccountId: a.roleAccount,
    userIdentity: { type: 'AWSAccount', principalId: principal, accountId: a.caller.account },
  };
  const copies: { account: string; region: string; record: Record<string, unknown> }[] = [
    { account: a.roleAccount, region: a.region, record: owner },
  ];
  if (a.caller.arn)
    copies.push({
      account: a.caller.account,
      region: a.region,
      record: {
        ...body,
        eventID: `evt-${String(++n).padStart(4, '0')}`,
        recipientAccountId: a.caller.account,
        userIdentity: { type: 'AssumedRole', principalId: principal, arn: a.caller.arn, accountId: a.caller.account },
      },
    });
  return copies;
}

const inOrg = (account: string) => ({ account, arn: `arn:aws:sts::${account}:assumed-role/ci/worker` });
const vendor = { account: VENDOR };
const ASSUMES: (Assume & { attack?: string })[] = [
  // Benign: the vendor from outside, in each Region, on both same-named roles with each one's own ID.
  ...REGIONS.flatMap((region, i) => [
    { id: `va${i}`, time: `2026-11-02T0${i + 1}:00:00Z`, region, roleAccount: A, caller: vendor, externalId: ID_A },
    { id: `vb${i}`, time: `2026-11-02T0${i + 1}:10:00Z`, region, roleAccount: B, caller: vendor, externalId: ID_B },
  ]),
  // Benign, inside the organization: B calls A's role with A's ID, C calls B's role with B's ID (both copies logged).
  // Judged against the same-named role of the caller's account, each would look like a wrong ID.
  { id: 'ba1', time: '2026-11-02T04:00:00Z', region: 'eu-west-1', roleAccount: A, caller: inOrg(B), externalId: ID_A },
  {
    id: 'cb1',
    time: '2026-11-02T04:30:00Z',
    region: 'ap-southeast-2',
    roleAccount: B,
    caller: inOrg(C),
    externalId: ID_B,
  },
  // An unregistered role, both copies: recorded once, by the copy first in time order (its event id, at one time).
  {
    id: 'un1',
    time: '2026-11-02T04:45:00Z',
    region: 'us-east-1',
    roleAccount: A,
    caller: inOrg(C),
    externalId: null,
    unguarded: true,
  },
  // Attacks, all on B's role: A's ID used on B's role from C (it is A's current ID, so judged on A's role it would pass),
  // no external ID from C, and a wrong ID from the vendor outside the organization.
  {
    id: 'x1',
    time: '2026-11-02T05:00:00Z',
    region: 'us-east-1',
    roleAccount: B,
    caller: inOrg(C),
    externalId: ID_A,
    attack: 'unexpected-external-id',
  },
  {
    id: 'x2',
    time: '2026-11-02T06:00:00Z',
    region: 'eu-west-1',
    roleAccount: B,
    caller: inOrg(C),
    externalId: null,
    attack: 'missing-external-id',
  },
  {
    id: 'x3',
    time: '2026-11-02T07:00:00Z',
    region: 'ap-southeast-2',
    roleAccount: B,
    caller: vendor,
    externalId: 'tenant-4711-guess',
    attack: 'unexpected-external-id',
  },
];

let doc: DynamoDBDocumentClient;
let dir: string;
let registryPath: string;

/** Write the log set: one gzip log file per account, Region and hour, in the organization trail's layout. */
function writeOrgTrail(root: string): void {
  const files = new Map<string, Record<string, unknown>[]>();
  for (const assume of ASSUMES)
    for (const copy of copiesOf(assume)) {
      const hour = (copy.record.eventTime as string).slice(11, 13);
      const path = join(
        root,
        'AWSLogs',
        ORG,
        copy.account,
        'CloudTrail',
        copy.region,
        '2026',
        '11',
        '02',
        `${copy.account}_CloudTrail_${copy.region}_20261102T${hour}00Z_${assume.id}.json.gz`,
      );
      files.set(path, [...(files.get(path) ?? []), copy.record]);
    }
  // Every account and Region has a file, even a quiet one.
  for (const account of [A, B, C])
    for (const region of REGIONS) {
      const path = join(
        root,
        'AWSLogs',
        ORG,
        account,
        'CloudTrail',
        region,
        '2026',
        '11',
        '02',
        `${account}_quiet.json.gz`,
      );
      files.set(path, files.get(path) ?? []);
    }
  for (const [path, records] of files) {
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, gzipSync(JSON.stringify({ Records: records })));
  }
  // Beside the logs: digest files and Insights events (another record format, not API calls): neither is read.
  const digest = join(root, 'AWSLogs', ORG, B, 'CloudTrail-Digest', 'us-east-1', '2026', '11', '02');
  mkdirSync(digest, { recursive: true });
  writeFileSync(
    join(digest, `${B}_CloudTrail-Digest_us-east-1_org-trail_us-east-1_20261102T050000Z.json.gz`),
    gzipSync('{"awsAccountId":"222233334444"}'),
  );
  const insight = join(root, 'AWSLogs', ORG, B, 'CloudTrail-Insight', 'us-east-1', '2026', '11', '02');
  mkdirSync(insight, { recursive: true });
  writeFileSync(
    join(insight, `${B}_CloudTrail-Insight_us-east-1_20261102T0500Z_a1b2c3.json.gz`),
    gzipSync(
      JSON.stringify({
        Records: [
          {
            eventVersion: '1.07',
            eventTime: '2026-11-02T05:00:00Z',
            awsRegion: 'us-east-1',
            eventID: 'insight-1',
            eventType: 'AwsCloudTrailInsight',
            recipientAccountId: B,
            sharedEventID: 'insight-shared-1',
            insightDetails: { state: 'Start', eventSource: 'iam.amazonaws.com', eventName: 'UpdateAssumeRolePolicy' },
            eventCategory: 'Insight',
          },
        ],
      }),
    ),
  );
}

beforeAll(() => {
  doc = testDynamo();
  dir = mkdtempSync(join(tmpdir(), 'roleguard-org-'));
  writeOrgTrail(dir);
  registryPath = join(dir, 'registry.yaml');
  writeFileSync(registryPath, REGISTRY);
});
afterAll(() => {
  doc.destroy();
  rmSync(dir, { recursive: true, force: true });
});

async function replayOrg(paths: string[], options: { slowFirstWriteOf?: string } = {}) {
  const config = await createTestTables(doc, await createSessionsTable(doc));
  const loaded = await readRegistryFile(registryPath);
  if ('error' in loaded) throw new Error(loaded.error);
  const deps = createDeps(config, {
    dynamo: doc,
    logger: memoryLogger().logger,
    registry: loaded.registry,
    // As `roleguard replay` does without --apply: revocations emulated, per role.
    revoker: emulatedRevoker({ store: createRevocationStore(doc, config.revocationsTable!) }),
    now: () => {
      throw new Error('replay must use the event clock');
    },
  });
  const slow = options.slowFirstWriteOf;
  if (slow) {
    // The first write of one event is slow, as on a loaded store: a copy running beside it would be recorded first.
    const record = deps.sessions.record;
    let slowed = false;
    deps.sessions.record = async (event, opts) => {
      if (event.sharedEventId === slow && !slowed) {
        slowed = true;
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
      return record(event, opts);
    };
  }
  return runReplay(deps, { paths });
}

describe('replay of an organization trail (3 accounts × 3 Regions)', () => {
  it('gives one finding per attack, on the role owner account’s role, and revokes on that role only', async () => {
    const report = await replayOrg([join(dir, 'AWSLogs')]);
    const copies = ASSUMES.flatMap(copiesOf);
    const attacks = ASSUMES.filter((a) => a.attack);
    expect(report.rejected).toEqual([]);
    expect(report.coverage).toMatchObject({ accounts: [A, B, C], regions: [...REGIONS].sort() });
    expect(report.summary).toMatchObject({
      eventsRead: copies.length,
      // One session per assume; the second copy of each cross-account one is a duplicate of it.
      recorded: ASSUMES.length,
      duplicates: copies.length - ASSUMES.length,
      findings: attacks.length,
    });
    expect(report.findings.map((f) => [f.kind, f.roleArn, f.assumedRoleId?.split(':')[1]])).toEqual(
      attacks.map((a) => [a.attack, roleOf(B), `s-${a.id}`]),
    );
    const revocations = report.actions.filter((a) => a.kind === 'revoke-session');
    expect(revocations.map((a) => a.roleArn)).toEqual(attacks.map(() => roleOf(B)));
    expect(report.actions.every((a) => a.roleArn === roleOf(B))).toBe(true);
    // The recorded session of a cross-account assume carries the caller's ARN, whichever copy came first.
    const x1 = report.sessions.find((s) => s.sharedEventId === 'shared-x1')!;
    expect(x1).toMatchObject({ roleArn: roleOf(B), callerArn: `arn:aws:sts::${C}:assumed-role/ci/worker` });
  });

  it('records the copy first in time order even when its write is slow (the copies of one assume run one after the other)', async () => {
    const report = await replayOrg([join(dir, 'AWSLogs')], { slowFirstWriteOf: 'shared-un1' });
    const session = report.sessions.find((s) => s.sharedEventId === 'shared-un1')!;
    // At one eventTime the owner's copy (the lower event id, written first by copiesOf) comes first.
    expect(session).toMatchObject({
      recipientAccountId: A,
      callerArn: `arn:aws:sts::${C}:assumed-role/ci/worker`,
    });
    expect(report.findings.every((f) => !f.roleArn.endsWith('/DataPipeline'))).toBe(true);
  });

  it('decides the same whichever part of the log set is read, and however the files are passed', async () => {
    const whole = await replayOrg([join(dir, 'AWSLogs')]);
    // Account by account, in another order: copies meet across paths, decided in eventTime order.
    const byAccount = await replayOrg([C, A, B].map((acct) => join(dir, 'AWSLogs', ORG, acct)));
    expect(byAccount.findings).toEqual(whole.findings);
    expect(byAccount.actions).toEqual(whole.actions);
    expect(byAccount.sessions).toEqual(whole.sessions);
  });
});
