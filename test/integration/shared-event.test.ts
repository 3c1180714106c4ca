import { TransactionConflictException } from '@aws-sdk/client-dynamodb';
import { IAMClient } from '@aws-sdk/client-iam';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from '@jest/globals';
import { slackSender } from '../../lib/alert/index.js';
import type { Config } from '../../lib/config.js';
import { createDeps, type Deps } from '../../lib/deps.js';
import { type ProcessOutcome, processRecord } from '../../lib/pipeline.js';
import { parseRegistryText } from '../../lib/registry/text.js';
import { roleLockKey } from '../../lib/revoke/apply.js';
import { lockItemKey } from '../../lib/revoke/lock.js';
import { liveRevoker } from '../../lib/revoke/service.js';
import { createRevocationStore } from '../../lib/revoke/store.js';
import { sharedSessionKey } from '../../lib/sessions/index.js';
import { createSessionsTable, createTestTables, testDynamo } from '../helpers/dynamo.js';
import type { FakeServer } from '../helpers/fake-aws.js';
import { loadJson, SAMPLES_DIR } from '../helpers/fixtures.js';
import { useLiveParts } from '../helpers/live-parts.js';
import { memoryLogger } from '../helpers/logger.js';
import { type EmulatedIam, ROLE_ID, sessionDecision } from '../helpers/revocation.js';

// An assume from one account of the organization into another is logged twice: the caller's copy (recipient = the
// caller's account, full caller identity) and the role owner's copy (recipient = the owner, userIdentity AWSAccount),
// sharing sharedEventID. Whichever comes first, and however they race, they give one finding, one revocation intent,
// one alert, on the role owner's account's role; the later copy adds the caller's ARN to the recorded session.
const OWNER = '111122223333';
const CALLER = '444455556666';
const VENDOR = '999988887777';
const ROLE = `arn:aws:iam::${OWNER}:role/vendors/VendorAudit`;
// The same vendor role name in the caller's account: the caller's copy is recorded there, but names the owner's role.
// The caller's account is trusted by the owner's role (the vendor runs there too): the attack is a wrong external ID.
const CALLER_ROLE = `arn:aws:iam::${CALLER}:role/vendors/VendorAudit`;
const GOOD = 'ec-7Hq2vN9xK4pL8mR3';
const WRONG = 'tenant-4711-of-example-corp';
const CALLER_ARN = `arn:aws:sts::${CALLER}:assumed-role/ci-deployer/build-77`;
const registryText = `
serviceRoleArns: ["arn:aws:iam::${OWNER}:role/roleguard-*"]
roles:
  - roleArn: ${ROLE}
    vendor: Example Corp
    trustedAccounts: ["${VENDOR}", "${CALLER}"]
    externalIds: { current: "${GOOD}" }
    response: revoke
  - roleArn: ${CALLER_ROLE}
    vendor: Example Corp (caller account)
    trustedAccounts: ["${VENDOR}"]
    externalIds: { current: "${GOOD}" }
    response: revoke
`;

let doc: DynamoDBDocumentClient;
let iam: EmulatedIam;
let slack: FakeServer;
useLiveParts((parts) => {
  ({ doc, iam, slack } = parts);
});

const sample = (name: string) => loadJson(`${SAMPLES_DIR}/${name}`) as Record<string, unknown>;

/** Both copies of one cross-account assume, shaped as the published samples (caller's IAM-user copy, owner's AWSAccount copy). */
function copies(
  id: string,
  time = '2026-11-02T10:05:00Z',
): { caller: Record<string, unknown>; owner: Record<string, unknown> } {
  const callerSample = sample('awsdocs-iam_assumerole-crossaccount-caller-iamuser-sourceidentity-mfa.json');
  const ownerSample = sample('awsdocs-iam_assumerole-crossaccount-target-awsaccount-sharedeventid.json');
  const session = `build-${id}`;
  const common = {
    eventTime: time,
    awsRegion: 'eu-west-1',
    requestParameters: { roleArn: ROLE, roleSessionName: session, externalId: WRONG, durationSeconds: 3600 },
    responseElements: {
      credentials: {
        accessKeyId: `ASIA${id.toUpperCase().padEnd(16, 'X').slice(0, 16)}`,
        sessionToken: '<redacted>',
        expiration: new Date(Date.parse(time) + 3600_000).toISOString(),
      },
      assumedRoleUser: {
        assumedRoleId: `${ROLE_ID}:${session}`,
        arn: `arn:aws:sts::${OWNER}:assumed-role/VendorAudit/${session}`,
      },
    },
    requestID: `req-${id}`,
    sharedEventID: `shared-${id}`,
    eventType: 'AwsApiCall',
    resources: [{ ARN: ROLE, accountId: OWNER, type: 'AWS::IAM::Role' }],
  };
  return {
    caller: {
      ...callerSample,
      ...common,
      eventID: `caller-${id}`,
      recipientAccountId: CALLER,
      userIdentity: {
        type: 'AssumedRole',
        principalId: 'AROACIDEPLOYEREXAMPLE:build-77',
        arn: CALLER_ARN,
        accountId: CALLER,
        accessKeyId: 'ASIACALLERKEYEXAMPLE',
      },
    },
    owner: {
      ...ownerSample,
      ...common,
      eventID: `owner-${id}`,
      recipientAccountId: OWNER,
      userIdentity: { type: 'AWSAccount', principalId: 'AROACIDEPLOYEREXAMPLE:build-77', accountId: CALLER },
    },
  };
}

interface World {
  deps: Deps;
  config: Config;
  process(record: Record<string, unknown>): Promise<ProcessOutcome>;
}

/** Options of a world: its own DynamoDB client (to hook its calls) and a lock clock the test moves. */
interface WorldOptions {
  dynamo?: DynamoDBDocumentClient;
  lockClock?: { ms: number };
}

async function world(options: WorldOptions = {}): Promise<World> {
  // A hub of an organization: both accounts' copies reach it.
  const config = { ...(await createTestTables(doc, await createSessionsTable(doc))), orgId: 'o-a1b2c3d4e5' };
  const { logger } = memoryLogger();
  const dynamo = options.dynamo ?? doc;
  const clock = options.lockClock;
  const deps = createDeps(config, {
    dynamo,
    logger,
    registry: parseRegistryText(registryText, 'r.yaml'),
    senders: { slack: slackSender(`${slack.url}/services/T0/B0/secret`) },
    revoker: liveRevoker({
      iam: new IAMClient({ region: 'us-east-1' }),
      dynamo,
      store: createRevocationStore(dynamo, config.revocationsTable!),
      logger,
      retry: { baseMs: 1 },
      ...(clock ? { lock: { leaseMs: 60_000, waitMs: 200, now: () => clock.ms } } : {}),
    }),
  });
  return {
    deps,
    config,
    process: (record) =>
      processRecord(record, deps, {
        now: (e) => new Date(Date.parse('issuedAt' in e ? e.issuedAt : e.eventTime) + 3000),
      }),
  };
}

const scan = async (table: string, prefix: string) =>
  ((await doc.send(new ScanCommand({ TableName: table }))).Items ?? []).filter((i) => String(i.pk).startsWith(prefix));
const findingsOf = (outcomes: ProcessOutcome[]) => outcomes.flatMap((o) => ('findings' in o ? o.findings : []));

/** Exactly one decision: one set of findings, one revocation intent and IAM write, one alert, all on the owner's role. */
async function expectOneDecision(w: World, outcomes: ProcessOutcome[]): Promise<void> {
  expect(outcomes.filter((o) => o.status === 'recorded')).toHaveLength(1);
  expect(outcomes.filter((o) => o.status === 'duplicate' && o.otherCopy)).toHaveLength(1);
  const findings = findingsOf(outcomes);
  expect(findings.map((f) => [f.kind, f.roleArn])).toEqual([['unexpected-external-id', ROLE]]);
  const intents = await scan(w.config.revocationsTable!, 'intent#');
  expect(intents.map((i) => i.intent.roleArn)).toEqual([ROLE]);
  expect(iam.puts('VendorAudit')).toBe(1);
  expect(slack.received).toHaveLength(1);
  expect(await scan(w.config.alertsTable, 'alert#')).toHaveLength(1);
  const policy = iam.policy('VendorAudit');
  expect(await sessionDecision(policy, findings[0]!.assumedRoleId!.split(':')[1]!, '2026-11-02T10:05:00Z')).toBe(
    'Denied',
  );
}

/** The one session item of the assume, with the caller's ARN whichever copy wrote it. */
async function sessionOf(w: World, id: string) {
  const item = (
    await doc.send(new GetCommand({ TableName: w.config.sessionsTable, Key: { pk: sharedSessionKey(`shared-${id}`) } }))
  ).Item;
  const all = ((await doc.send(new ScanCommand({ TableName: w.config.sessionsTable }))).Items ?? []).filter(
    (i) => i.sharedEventId === `shared-${id}`,
  );
  expect(all).toHaveLength(1);
  return item!;
}

describe('one decision per sharedEventID', () => {
  it("the owner's copy first: it decides; the caller's copy adds the caller's ARN and decides nothing", async () => {
    const w = await world();
    const { caller, owner } = copies('a1');
    const outcomes = [await w.process(owner), await w.process(caller)];
    await expectOneDecision(w, outcomes);
    expect(findingsOf(outcomes)[0]!.context.recipientAccountId).toBe(OWNER);
    expect(await sessionOf(w, 'a1')).toMatchObject({
      recipientAccountId: OWNER,
      eventId: 'owner-a1',
      callerArn: CALLER_ARN,
      callerType: 'AssumedRole',
      otherCopy: `${CALLER}#caller-a1`,
      state: 'done',
    });
    // The finding's record (the stored alert, which `roleguard findings` lists) gets the caller's ARN too.
    const [alert] = await scan(w.config.alertsTable, 'alert#');
    expect(alert!.alert.finding).toMatchObject({ eventId: 'owner-a1', context: { callerArn: CALLER_ARN } });
    // A redelivery of either copy changes nothing.
    const again = [await w.process(owner), await w.process(caller)];
    expect(again.map((o) => o.status)).toEqual(['duplicate', 'duplicate']);
    expect(iam.puts()).toBe(1);
    expect(slack.received).toHaveLength(1);
  });

  it("the caller's copy first: it decides, on the role owner's account's role, not the same-named role of its own account", async () => {
    const w = await world();
    const { caller, owner } = copies('b1');
    const outcomes = [await w.process(caller), await w.process(owner)];
    await expectOneDecision(w, outcomes);
    expect(findingsOf(outcomes)[0]!.context).toMatchObject({ recipientAccountId: CALLER, callerArn: CALLER_ARN });
    expect(await sessionOf(w, 'b1')).toMatchObject({ recipientAccountId: CALLER, callerArn: CALLER_ARN });
  });

  it('both copies at once, on two instances: still one decision (several races)', async () => {
    for (const id of ['c1', 'c2', 'c3', 'c4']) {
      const w = await world();
      iam.reset();
      slack.received.length = 0;
      const { caller, owner } = copies(id);
      const outcomes = await Promise.all(
        id.endsWith('2') ? [w.process(owner), w.process(caller)] : [w.process(caller), w.process(owner)],
      );
      await expectOneDecision(w, outcomes);
      expect((await sessionOf(w, id)).callerArn).toBe(CALLER_ARN);
    }
  });

  it("the role's lock held by another revocation when both copies come: still one decision, the caller's ARN on the alert", async () => {
    // Another revocation of the role holds its lock for a moment: the fast path's opening transaction is cancelled
    // for the lock, not for the session. The session must still be claimed before anything is revoked.
    const w = await world();
    await doc.send(
      new PutCommand({
        TableName: w.config.revocationsTable!,
        Item: { ...lockItemKey(roleLockKey(ROLE)), owner: 'another-revocation', leaseUntil: Date.now() + 1500 },
      }),
    );
    const { caller, owner } = copies('e1');
    const outcomes = await Promise.all([w.process(caller), w.process(owner)]);
    await expectOneDecision(w, outcomes);
    expect((await sessionOf(w, 'e1')).callerArn).toBe(CALLER_ARN);
    const [alert] = await scan(w.config.alertsTable, 'alert#');
    expect(alert!.alert.finding.context).toMatchObject({ callerArn: CALLER_ARN });
  });

  it("the other copy's writes conflicting with a transaction on the shared item are tried again", async () => {
    const client = testDynamo();
    const w = await world({ dynamo: client });
    const { caller, owner } = copies('f1');
    await w.process(owner);
    // The session's put and the caller's ARN update each conflict once with a transaction writing the item.
    const left = new Set(['Put', 'Update']);
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const input = (args as { input: { TableName?: string } }).input;
        const kind = /^(Put|Update)/.exec(String(context.commandName))?.[1];
        if (kind && left.has(kind) && input.TableName === w.config.sessionsTable) {
          left.delete(kind);
          throw new TransactionConflictException({ message: 'Transaction is ongoing for the item', $metadata: {} });
        }
        return next(args);
      },
      { step: 'initialize', name: 'conflict-once' },
    );
    const second = await w.process(caller);
    expect(left.size).toBe(0);
    expect(second).toMatchObject({ status: 'duplicate', otherCopy: true });
    expect(await sessionOf(w, 'f1')).toMatchObject({ eventId: 'owner-f1', callerArn: CALLER_ARN });
    client.destroy();
  });

  it('the deciding copy crashed right after its claim: the other copy decides nothing, the retry of the first revokes', async () => {
    // The claim is the session item's conditional put: in the revocation's opening transaction (the fast path), or
    // on its own (the step-by-step path). The instance dies right after it, whichever path made it.
    const client = testDynamo();
    const clock = { ms: Date.now() };
    const w = await world({ dynamo: client, lockClock: clock });
    const { caller, owner } = copies('d1');
    let crashed = false;
    const claimed = (input: Record<string, unknown>) =>
      ((input.TransactItems ?? []) as { Put?: { TableName: string } }[]).some(
        (i) => i.Put?.TableName === w.config.sessionsTable,
      );
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const out = await next(args);
        const input = (args as { input: Record<string, unknown> }).input;
        if (!crashed && /^TransactWrite/.test(String(context.commandName)) && claimed(input)) {
          crashed = true;
          throw new Error('the instance died right after the claim');
        }
        return out;
      },
      { step: 'initialize', name: 'crash-after-claim' },
    );
    const record = w.deps.sessions.record;
    w.deps.sessions.record = async (event, options) => {
      const outcome = await record(event, options);
      if (!crashed) {
        crashed = true;
        throw new Error('the instance died right after the claim');
      }
      return outcome;
    };
    await expect(w.process(owner)).rejects.toThrow('died right after the claim');
    // The claim is the owner's copy's, unprocessed; nothing was written to IAM, nothing alerted.
    expect(await sessionOf(w, 'd1')).toMatchObject({ eventId: 'owner-d1', state: 'pending' });
    expect(iam.puts()).toBe(0);
    const second = await w.process(caller);
    expect(second).toMatchObject({ status: 'duplicate', otherCopy: true });
    expect(iam.puts()).toBe(0);
    expect(slack.received).toHaveLength(0);
    // Lambda (or SQS) delivers the owner's copy again, once the dead instance's lease (if it took the role's lock)
    // has run out: it holds the claim, finds it unfinished and goes on.
    clock.ms += 61_000;
    const retry = await w.process(owner);
    expect(retry).toMatchObject({ status: 'recorded', recording: 'unfinished' });
    await expectOneDecision(w, [retry, second]);
    expect(await sessionOf(w, 'd1')).toMatchObject({ eventId: 'owner-d1', callerArn: CALLER_ARN, state: 'done' });
    client.destroy();
  });
});
