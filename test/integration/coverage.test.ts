import { CloudFormationClient, ListStackInstancesCommand } from '@aws-sdk/client-cloudformation';
import { ListAccountsCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import type { Config } from '../../lib/config.js';
import { createDeps, type Deps } from '../../lib/deps.js';
import { canaryDecision, compareCoverage } from '../../lib/org/coverage.js';
import { runCanary, stsRegionalAssume } from '../../lib/org/coverage-canary.js';
import { type CoverageConfig, loadCoverageConfig } from '../../lib/org/coverage-config.js';
import { coverageStep } from '../../lib/org/coverage-events.js';
import { gapFinding } from '../../lib/org/coverage-finding.js';
import { createCoverageStore } from '../../lib/org/coverage-store.js';
import { syncCoverage } from '../../lib/org/coverage-sync.js';
import { processRecord } from '../../lib/pipeline.js';
import { actionsFor } from '../../lib/slack-actions/buttons.js';
import { createSessionsTable, createTestTables, testDynamo } from '../helpers/dynamo.js';
import { memoryLogger } from '../helpers/logger.js';

// Coverage (issue 15): the account sync and the canary, with Organizations, CloudFormation and STS faked at the SDK
// and the state in DynamoDB Local.
const MGMT = '111111111111';
const HUB = '222222222222';
const MEMBER = '333333333333';
const SUSPENDED = '444444444444';
const GLOBAL = 'roleguard-test-spoke-global';
const REGIONAL = 'roleguard-test-spoke-regional';
const coverage: CoverageConfig = loadCoverageConfig({
  ORG_ID: 'o-exampleorg1',
  HUB_ACCOUNT_ID: HUB,
  SPOKE_ROLE_NAME: 'roleguard-test-spoke',
  SPOKE_REGIONS: 'us-east-1,eu-west-1',
  SPOKE_STACKSETS: `${GLOBAL},${REGIONAL}`,
  HOME_REGION: 'us-east-1',
});
const orgs = mockClient(OrganizationsClient);
const cfn = mockClient(CloudFormationClient);
const sts = mockClient(STSClient);
let doc: DynamoDBDocumentClient;
let config: Config;
const sent: string[] = [];

const account = (id: string, state = 'ACTIVE') => ({
  Id: id,
  Arn: `arn:aws:organizations::${MGMT}:account/o-exampleorg1/${id}`,
  State: state as 'ACTIVE',
});
const instance = (stackSet: string, acct: string, region: string, status = 'CURRENT') => ({
  StackSetId: `${stackSet}:1`,
  Account: acct,
  Region: region,
  Status: status as 'CURRENT',
});

beforeAll(async () => {
  doc = testDynamo();
  config = await createTestTables(doc, await createSessionsTable(doc));
});
afterAll(() => {
  doc?.destroy();
  orgs.restore();
  cfn.restore();
  sts.restore();
});

const clients = () => ({ organizations: new OrganizationsClient({}), cloudformation: new CloudFormationClient({}) });

function deps(now: Date): Deps {
  return createDeps(config, {
    dynamo: doc,
    logger: memoryLogger().logger,
    now: () => now,
    senders: {
      sns: async (message) => {
        sent.push(message.Message ?? '');
      },
    },
  });
}

/** Two pages of accounts (the management account, the hub, a member, a suspended one) and the spoke instances. */
function organization(regional: ReturnType<typeof instance>[]) {
  orgs.reset();
  orgs
    .on(ListAccountsCommand)
    .resolvesOnce({ Accounts: [account(MGMT), account(HUB)], NextToken: 'page-2' })
    .resolvesOnce({ Accounts: [account(MEMBER), account(SUSPENDED, 'SUSPENDED')] });
  cfn.reset();
  cfn
    .on(ListStackInstancesCommand, { StackSetName: GLOBAL })
    .resolves({ Summaries: [instance(GLOBAL, HUB, 'us-east-1'), instance(GLOBAL, MEMBER, 'us-east-1')] });
  cfn.on(ListStackInstancesCommand, { StackSetName: REGIONAL }).resolvesOnce({
    Summaries: regional.slice(0, 1),
    NextToken: 'more',
  });
  cfn.on(ListStackInstancesCommand, { StackSetName: REGIONAL, NextToken: 'more' }).resolves({
    Summaries: regional.slice(1),
  });
}

describe('the comparison and the canary timing (pure)', () => {
  it('expects every active account in every Region, and names what is missing', () => {
    const cells = compareCoverage({
      accounts: [MEMBER, MGMT],
      regions: ['us-east-1', 'eu-west-1'],
      stackSets: {
        global: GLOBAL,
        regional: REGIONAL,
        instances: [
          { stackSet: GLOBAL, account: MEMBER, region: 'us-east-1', status: 'CURRENT', statusReason: null },
          { stackSet: REGIONAL, account: MEMBER, region: 'us-east-1', status: 'CURRENT', statusReason: null },
          { stackSet: REGIONAL, account: MEMBER, region: 'eu-west-1', status: 'INOPERABLE', statusReason: 'SCP' },
        ],
      },
      managementAccountId: MGMT,
    });
    expect(cells.map((c) => [c.account, c.region, c.deployStatus, c.gap])).toEqual([
      [MGMT, 'us-east-1', 'management', null],
      [MGMT, 'eu-west-1', 'management', null],
      [MEMBER, 'us-east-1', 'CURRENT', null],
      [
        MEMBER,
        'eu-west-1',
        'INOPERABLE',
        `the regional spoke (StackSet ${REGIONAL}) is not deployed: INOPERABLE (SCP)`,
      ],
    ]);
  });

  it('waits for a canary within its time, and calls a late one a gap', () => {
    const canary = { id: 'abc123', sentAt: '2026-11-02T09:00:00Z', backId: null, backAt: null, error: null };
    const at = (minutes: number) => new Date(Date.parse(canary.sentAt) + minutes * 60_000);
    expect(canaryDecision({ canary: null }, at(0), 30)).toEqual({ timedOut: null, send: true });
    expect(canaryDecision({ canary }, at(29), 30)).toEqual({ timedOut: null, send: false });
    expect(canaryDecision({ canary }, at(30), 30)).toEqual({
      timedOut: expect.stringContaining('abc123, sent at 2026-11-02T09:00:00Z, did not come back'),
      send: true,
    });
    expect(canaryDecision({ canary: { ...canary, backId: 'abc123' } }, at(90), 30)).toEqual({
      timedOut: null,
      send: true,
    });
  });
});

describe('the coverage settings', () => {
  it('name every problem at once, and default the canary timeout to 30 minutes', () => {
    expect(() =>
      loadCoverageConfig({
        ORG_ID: 'org-1',
        SPOKE_REGIONS: 'eu-west-1,mars-1',
        CANARY_TIMEOUT_MINUTES: '0',
        AWS_REGION: 'us-east-1',
      }),
    ).toThrow(
      'invalid configuration: ORG_ID is not an organization id: org-1; HUB_ACCOUNT_ID (or AWS_ACCOUNT_ID) must be a 12-digit account id; SPOKE_ROLE_NAME must be the spoke role name; SPOKE_REGIONS: not a Region: mars-1; CANARY_TIMEOUT_MINUTES must be a whole number from 1 to 1440, got "0"',
    );
    expect(
      loadCoverageConfig({ AWS_ACCOUNT_ID: HUB, SPOKE_ROLE_NAME: 'roleguard-test-spoke', AWS_REGION: 'eu-west-1' }),
    ).toEqual({
      orgId: null,
      hubAccountId: HUB,
      spokeRoleName: 'roleguard-test-spoke',
      // Without an organization: the home Region (and COVERAGE_REGIONS), never the StackSet's SPOKE_REGIONS.
      regions: ['eu-west-1'],
      homeRegion: 'eu-west-1',
      stackSets: null,
      canaryTimeoutMinutes: 30,
    });
  });
});

describe('the coverage-gap finding', () => {
  it("names the account and Region, and offers no button that would act on roleguard's spoke role", () => {
    const finding = gapFinding(
      { account: MEMBER, region: 'eu-west-1' },
      'canary',
      { openedAt: '2026-11-02T09:00:00Z', reason: 'late' },
      'roleguard-test-spoke',
    );
    expect(finding).toMatchObject({
      kind: 'coverage-gap',
      severity: 'high',
      roleArn: `arn:aws:iam::${MEMBER}:role/roleguard-test-spoke`,
      eventId: `coverage-gap/canary/${MEMBER}/eu-west-1/2026-11-02T09:00:00Z`,
    });
    expect(finding.message).toContain(`account ${MEMBER} in Region eu-west-1`);
    expect(actionsFor({ finding })).toEqual(['acknowledge']);
  });
});

describe('the account sync', () => {
  it('opens a gap per account and Region without a CURRENT spoke at two syncs in a row, alerts it once, and closes it when deployed', async () => {
    const now = new Date('2026-11-02T09:00:00Z');
    organization([
      instance(REGIONAL, HUB, 'us-east-1'),
      instance(REGIONAL, HUB, 'eu-west-1'),
      instance(REGIONAL, MEMBER, 'us-east-1'),
      instance(REGIONAL, MEMBER, 'eu-west-1', 'OUTDATED'),
    ]);
    // Seen once: not yet a gap (a deploy's transient state would otherwise alert).
    const sentBefore = sent.length;
    const seen = await syncCoverage(deps(now), coverage, clients(), now);
    expect(seen).toMatchObject({ accounts: 3, cells: 6, gaps: 0, opened: 0, alerted: 0, unconfirmed: 1 });
    expect(sent.length).toBe(sentBefore);
    organization([
      instance(REGIONAL, HUB, 'us-east-1'),
      instance(REGIONAL, HUB, 'eu-west-1'),
      instance(REGIONAL, MEMBER, 'us-east-1'),
      instance(REGIONAL, MEMBER, 'eu-west-1', 'OUTDATED'),
    ]);
    const first = await syncCoverage(deps(now), coverage, clients(), now);
    expect(first).toMatchObject({ accounts: 3, cells: 6, gaps: 1, opened: 1, alerted: 1, unconfirmed: 0 });
    expect(cfn.commandCalls(ListStackInstancesCommand).map((c) => c.args[0].input.CallAs)).toEqual([
      'DELEGATED_ADMIN',
      'DELEGATED_ADMIN',
      'DELEGATED_ADMIN',
    ]);
    const store = createCoverageStore(doc, config.registryTable);
    const cells = await store.list();
    expect(cells.filter((c) => c.gaps.deploy).map((c) => `${c.account} ${c.region}`)).toEqual([`${MEMBER} eu-west-1`]);
    expect(cells.some((c) => c.account === SUSPENDED)).toBe(false);
    expect(cells.find((c) => c.account === MGMT)?.deployStatus).toBe('management');
    expect(JSON.parse(sent.at(-1)!)).toMatchObject({
      finding: {
        kind: 'coverage-gap',
        severity: 'high',
        message: expect.stringContaining(`${MEMBER} in Region eu-west-1`),
      },
    });

    // The next sync sees the same gap: no second alert.
    organization([
      instance(REGIONAL, HUB, 'us-east-1'),
      instance(REGIONAL, HUB, 'eu-west-1'),
      instance(REGIONAL, MEMBER, 'us-east-1'),
      instance(REGIONAL, MEMBER, 'eu-west-1', 'OUTDATED'),
    ]);
    const alerts = sent.length;
    expect(await syncCoverage(deps(now), coverage, clients(), now)).toMatchObject({ gaps: 1, opened: 0, alerted: 0 });
    expect(sent.length).toBe(alerts);

    // Deployed: the gap closes.
    organization([
      instance(REGIONAL, HUB, 'us-east-1'),
      instance(REGIONAL, HUB, 'eu-west-1'),
      instance(REGIONAL, MEMBER, 'us-east-1'),
      instance(REGIONAL, MEMBER, 'eu-west-1'),
    ]);
    expect(await syncCoverage(deps(now), coverage, clients(), now)).toMatchObject({ gaps: 0, closed: 1 });
    expect((await store.get(MEMBER, 'eu-west-1'))?.gaps).toEqual({});
  });

  it('a StackSet update (OUTDATED, operation PENDING or RUNNING) is no gap, and a problem seen once is never alerted', async () => {
    const now = new Date('2026-11-02T10:00:00Z');
    const updating = (acct: string, region: string, detailed: string) => ({
      ...instance(REGIONAL, acct, region, 'OUTDATED'),
      StackInstanceStatus: { DetailedStatus: detailed as 'PENDING' },
    });
    const sentBefore = sent.length;
    for (const detailed of ['PENDING', 'RUNNING', 'RUNNING']) {
      organization([
        updating(HUB, 'us-east-1', detailed),
        updating(HUB, 'eu-west-1', detailed),
        updating(MEMBER, 'us-east-1', detailed),
        updating(MEMBER, 'eu-west-1', detailed),
      ]);
      expect(await syncCoverage(deps(now), coverage, clients(), now)).toMatchObject({ gaps: 0, unconfirmed: 0 });
    }
    // A failed instance seen once, then deployed: nothing opened or alerted.
    organization([
      instance(REGIONAL, HUB, 'us-east-1'),
      instance(REGIONAL, HUB, 'eu-west-1'),
      instance(REGIONAL, MEMBER, 'us-east-1'),
      instance(REGIONAL, MEMBER, 'eu-west-1', 'INOPERABLE'),
    ]);
    expect(await syncCoverage(deps(now), coverage, clients(), now)).toMatchObject({ gaps: 0, unconfirmed: 1 });
    organization([
      instance(REGIONAL, HUB, 'us-east-1'),
      instance(REGIONAL, HUB, 'eu-west-1'),
      instance(REGIONAL, MEMBER, 'us-east-1'),
      instance(REGIONAL, MEMBER, 'eu-west-1'),
    ]);
    expect(await syncCoverage(deps(now), coverage, clients(), now)).toMatchObject({ gaps: 0, unconfirmed: 0 });
    expect(sent.length).toBe(sentBefore);
  });
});

let serial = 0;
const ids: string[] = [];
const newId = () => {
  const id = (0xc0ffee0000 + ++serial).toString(16);
  ids.push(id);
  return id;
};
const spoke = (acct: string) => `arn:aws:iam::${acct}:role/roleguard-test-spoke`;

/** The canary's assume as CloudTrail logs it in `acct` (the owner's copy), or in the hub account (the caller's). */
function canaryEvent(acct: string, region: string, id: string, copy: 'owner' | 'caller' = 'owner', at = new Date()) {
  const recipient = copy === 'owner' ? acct : HUB;
  const time = at.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const session = `roleguard-canary-${id}`;
  const sameAccount = acct === HUB || copy === 'caller';
  return {
    version: '0',
    id: `envelope-${id}-${copy}`,
    'detail-type': 'AWS API Call via CloudTrail',
    source: 'aws.sts',
    account: recipient,
    time,
    region,
    resources: [],
    detail: {
      eventVersion: '1.08',
      userIdentity: sameAccount
        ? {
            type: 'AssumedRole',
            principalId: 'AROAHUBCANARYEXAMPLE:roleguard-test-orgCanary',
            arn: `arn:aws:sts::${HUB}:assumed-role/roleguard-test-hub-canary/roleguard-test-orgCanary`,
            accountId: HUB,
            accessKeyId: 'ASIAHUBCANARYEXAMPL1',
          }
        : { type: 'AWSAccount', principalId: 'AROAHUBCANARYEXAMPLE:roleguard-test-orgCanary', accountId: HUB },
      eventTime: time,
      eventSource: 'sts.amazonaws.com',
      eventName: 'AssumeRole',
      awsRegion: region,
      sourceIPAddress: '198.51.100.7',
      userAgent: 'aws-sdk-js/3.0.0',
      requestParameters: { roleArn: spoke(acct), roleSessionName: session, durationSeconds: 900 },
      responseElements: {
        credentials: {
          accessKeyId: `ASIACANARY${id.toUpperCase()}`.slice(0, 20).padEnd(20, 'X'),
          sessionToken: '<redacted>',
          expiration: new Date(at.getTime() + 900_000).toISOString(),
        },
        assumedRoleUser: {
          assumedRoleId: `AROASPOKEROLEEXAMPLE:${session}`,
          arn: `arn:aws:sts::${acct}:assumed-role/roleguard-test-spoke/${session}`,
        },
      },
      requestID: `req-${id}`,
      eventID: `event-${id}-${copy}`,
      readOnly: true,
      resources: [{ accountId: acct, type: 'AWS::IAM::Role', ARN: spoke(acct) }],
      eventType: 'AwsApiCall',
      managementEvent: true,
      recipientAccountId: recipient,
      ...(sameAccount && acct === HUB ? {} : { sharedEventID: `shared-${id}` }),
      eventCategory: 'Management',
    },
  };
}

describe('the account sync without an organization', () => {
  it('expects the hub account in the home Region, and asks neither Organizations nor CloudFormation', async () => {
    const own = await createTestTables(doc, await createSessionsTable(doc));
    const now = new Date('2026-11-02T09:00:00Z');
    orgs.reset();
    cfn.reset();
    const alone = loadCoverageConfig({
      AWS_ACCOUNT_ID: HUB,
      SPOKE_ROLE_NAME: 'roleguard-test-spoke',
      SPOKE_STACKSETS: `${GLOBAL},${REGIONAL}`,
      AWS_REGION: 'eu-west-1',
    });
    const d = createDeps(own, { dynamo: doc, logger: memoryLogger().logger, now: () => now });
    expect(await syncCoverage(d, alone, { organizations: null, cloudformation: null }, now)).toMatchObject({
      accounts: 1,
      cells: 1,
      gaps: 0,
    });
    expect(orgs.calls()).toHaveLength(0);
    expect(cfn.calls()).toHaveLength(0);
    expect(await createCoverageStore(doc, own.registryTable).list()).toMatchObject([
      { account: HUB, region: 'eu-west-1', expected: true, deployStatus: 'unchecked', gaps: {} },
    ]);
  });
});

describe('a single-account hub (no organization)', () => {
  // The hub's default spokeRegions param (17 Regions) reaches every function as SPOKE_REGIONS.
  const SEVENTEEN =
    'us-east-1,us-east-2,us-west-1,us-west-2,ca-central-1,sa-east-1,eu-west-1,eu-west-2,eu-west-3,eu-central-1,eu-north-1,ap-south-1,ap-northeast-1,ap-northeast-2,ap-northeast-3,ap-southeast-1,ap-southeast-2';
  const alone = (env: Record<string, string> = {}) =>
    loadCoverageConfig({
      AWS_ACCOUNT_ID: HUB,
      SPOKE_ROLE_NAME: 'roleguard-test-spoke',
      SPOKE_REGIONS: SEVENTEEN,
      SPOKE_STACKSETS: `${GLOBAL},${REGIONAL}`,
      AWS_REGION: 'eu-west-1',
      ...env,
    });

  it('expects the home Region only, covered by its own rule: no gap and no canary, however often it runs', async () => {
    const own = await createTestTables(doc, await createSessionsTable(doc));
    const now = new Date('2026-11-02T09:00:00Z');
    const d = createDeps(own, { dynamo: doc, logger: memoryLogger().logger, now: () => now });
    sts.reset();
    sts.on(AssumeRoleCommand).resolves({});
    for (let run = 0; run < 2; run++) {
      expect(await syncCoverage(d, alone(), { organizations: null, cloudformation: null }, now)).toMatchObject({
        cells: 1,
        gaps: 0,
      });
      expect(await runCanary(d, alone(), stsRegionalAssume(), now, newId)).toMatchObject({ sent: 0, alerted: 0 });
    }
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(0);
    expect((await createCoverageStore(doc, own.registryTable).list()).map((c) => [c.region, c.gaps])).toEqual([
      ['eu-west-1', {}],
    ]);
  });

  it('with COVERAGE_REGIONS, expects those Regions too, and sends the canary there only', async () => {
    const own = await createTestTables(doc, await createSessionsTable(doc));
    const now = new Date('2026-11-02T09:00:00Z');
    const d = createDeps(own, { dynamo: doc, logger: memoryLogger().logger, now: () => now });
    sts.reset();
    sts.on(AssumeRoleCommand).resolves({});
    const config = alone({ COVERAGE_REGIONS: 'us-east-1' });
    expect(await syncCoverage(d, config, { organizations: null, cloudformation: null }, now)).toMatchObject({
      cells: 2,
    });
    expect(await runCanary(d, config, stsRegionalAssume(), now, newId)).toMatchObject({ cells: 1, sent: 1 });
    expect(sts.commandCalls(AssumeRoleCommand).map((c) => c.args[0].input.RoleArn)).toEqual([spoke(HUB)]);
  });
});

describe('the canary', () => {
  const t0 = new Date('2026-11-02T10:00:00Z');
  const later = (minutes: number) => new Date(t0.getTime() + minutes * 60_000);
  const store = () => createCoverageStore(doc, config.registryTable);
  const denied = Object.assign(
    new Error(`User is not authorized to perform: sts:AssumeRole on resource: ${spoke(MGMT)}`),
    {
      name: 'AccessDenied',
      $metadata: { httpStatusCode: 403 },
    },
  );

  it('assumes each spoke role through its Region, and an AccessDenied is a gap with the reason', async () => {
    sts.reset();
    sts.on(AssumeRoleCommand).resolves({});
    sts.on(AssumeRoleCommand, { RoleArn: spoke(MGMT) }).rejects(denied);
    const result = await runCanary(deps(t0), coverage, stsRegionalAssume(), t0, newId);
    expect(result).toEqual({ cells: 6, sent: 4, waiting: 0, timedOut: 0, failed: 2, alerted: 2 });
    const calls = sts.commandCalls(AssumeRoleCommand);
    const seen = await Promise.all(
      calls.map(async (c) => `${c.args[0].input.RoleArn} ${await (c.thisValue as STSClient).config.region()}`),
    );
    expect(seen.sort()).toEqual(
      [HUB, MEMBER, MGMT].flatMap((a) => [`${spoke(a)} eu-west-1`, `${spoke(a)} us-east-1`]).sort(),
    );
    for (const c of calls) expect(c.args[0].input.RoleSessionName).toMatch(/^roleguard-canary-[0-9a-f]{10}$/);
    const mgmt = await store().get(MGMT, 'eu-west-1');
    expect(mgmt?.gaps.canary?.reason).toMatch(
      /STS refused the canary's assume of .*: AccessDenied: User is not authorized/,
    );
    expect(JSON.parse(sent.at(-1)!).finding).toMatchObject({
      kind: 'coverage-gap',
      roleArn: expect.stringContaining(MGMT),
    });
  });

  it("marks a canary back when its owner's copy comes through the pipeline, and raises no finding", async () => {
    const cell = (await store().get(MEMBER, 'us-east-1'))!;
    const d = deps(later(2));
    // The caller's copy (logged in the hub account) is roleguard's own too, but proves nothing about the member.
    const caller = await processRecord(canaryEvent(MEMBER, 'us-east-1', cell.canary!.id, 'caller', later(1)).detail, d);
    expect(caller).toMatchObject({ status: 'ignored', reason: expect.stringContaining('coverage canary') });
    expect((await store().get(MEMBER, 'us-east-1'))?.canary?.backId).toBeNull();
    const owner = await processRecord(canaryEvent(MEMBER, 'us-east-1', cell.canary!.id, 'owner', later(1)).detail, d);
    expect(owner).toMatchObject({
      status: 'ignored',
      reason: expect.stringContaining(`account ${MEMBER}, Region us-east-1`),
    });
    expect((await store().get(MEMBER, 'us-east-1'))?.canary).toMatchObject({
      id: cell.canary!.id,
      backId: cell.canary!.id,
    });
    // The hub's own canary: one copy.
    const hub = (await store().get(HUB, 'us-east-1'))!;
    expect(
      await processRecord(canaryEvent(HUB, 'us-east-1', hub.canary!.id, 'owner', later(1)).detail, d),
    ).toMatchObject({
      status: 'ignored',
    });
    // A session name of the canary's shape with an id the canary never sent is not roleguard's: recorded as usual.
    expect(
      await processRecord(canaryEvent(MEMBER, 'us-east-1', 'deadbeef00', 'owner', later(1)).detail, d),
    ).toMatchObject({
      status: 'recorded',
      findings: [],
    });
  });

  it('records the canary before it is sent, so that its event cannot arrive first', async () => {
    // Its own tables: one covered cell.
    const own = await createTestTables(doc, await createSessionsTable(doc));
    const ownStore = createCoverageStore(doc, own.registryTable);
    await ownStore.noteSync(MEMBER, 'us-east-1', { expected: true, deployStatus: 'CURRENT', at: t0.toISOString() });
    const recorded: boolean[] = [];
    const result = await runCanary(
      createDeps(own, { dynamo: doc, logger: memoryLogger().logger, now: () => t0 }),
      coverage,
      async (region, _roleArn, session) => {
        const cell = await ownStore.get(MEMBER, region);
        recorded.push(cell?.canaryIds.includes(session.replace('roleguard-canary-', '')) ?? false);
      },
      t0,
      newId,
    );
    expect(result).toMatchObject({ cells: 1, sent: 1 });
    expect(recorded).toEqual([true]);
  });

  it('calls a canary not back in time a gap, and closes it when it arrives late', async () => {
    sts.reset();
    sts.on(AssumeRoleCommand).resolves({});
    sts.on(AssumeRoleCommand, { RoleArn: spoke(MGMT) }).rejects(denied);
    const before = (await store().get(MEMBER, 'eu-west-1'))!.canary!.id;
    // 31 minutes on: the member's and the hub's us-east-1 canaries came back; the three others did not.
    const result = await runCanary(deps(later(31)), coverage, stsRegionalAssume(), later(31), newId);
    expect(result).toEqual({ cells: 6, sent: 4, waiting: 0, timedOut: 2, failed: 2, alerted: 2 });
    const late = (await store().get(MEMBER, 'eu-west-1'))!;
    expect(late.gaps.canary?.reason).toContain(`${before}, sent at ${t0.toISOString()}, did not come back`);
    expect(late.canary?.id).not.toBe(before);
    // The management account's AccessDenied gap was alerted already: the same gap is not alerted again.
    expect((await store().get(MGMT, 'us-east-1'))?.gaps.canary?.openedAt).toBe(t0.toISOString());

    // Within the time, nothing is sent again and no gap opens.
    const waiting = await runCanary(deps(later(40)), coverage, stsRegionalAssume(), later(40), newId);
    expect(waiting).toMatchObject({ waiting: 4, timedOut: 0, alerted: 0 });

    // The first canary arrives late: the gap closes.
    const outcome = await processRecord(
      canaryEvent(MEMBER, 'eu-west-1', before, 'owner', later(41)).detail,
      deps(later(41)),
    );
    expect(outcome.status).toBe('ignored');
    expect((await store().get(MEMBER, 'eu-west-1'))?.gaps).toEqual({});
  });

  it('notes the last event seen per account and Region, only forward, at most once a minute per function', async () => {
    const event = canaryEvent(MEMBER, 'ap-south-1', 'abcdef0123', 'owner', later(50)).detail;
    const { classifyRecord } = await import('../../lib/cloudtrail/index.js');
    const assume = classifyRecord(event, { recordAwsServiceAssumes: false }, null);
    if (assume.kind !== 'assume') throw new Error('not an assume');
    await coverageStep(assume, deps(later(50)));
    expect(await store().get(MEMBER, 'ap-south-1')).toMatchObject({
      lastEventAt: assume.issuedAt,
      lastEventName: 'AssumeRole',
    });
    // Within the minute: not written again.
    await coverageStep({ ...assume, issuedAt: later(50.5).toISOString() }, deps(later(50.5)));
    expect((await store().get(MEMBER, 'ap-south-1'))?.lastEventAt).toBe(assume.issuedAt);
    // An older event a minute later: the time does not move back.
    await coverageStep({ ...assume, issuedAt: later(10).toISOString() }, deps(later(52)));
    expect((await store().get(MEMBER, 'ap-south-1'))?.lastEventAt).toBe(assume.issuedAt);
    // A failing store is logged and the event goes on.
    const { logger, lines } = memoryLogger();
    const broken = createDeps(
      { ...config, registryTable: 'no-such-table' },
      { dynamo: doc, logger, now: () => later(60) },
    );
    await expect(coverageStep({ ...assume, roleSessionName: 'other' }, broken)).resolves.toBeNull();
    expect(lines.join('\n')).toContain('could not note the last event seen');
  });
});
