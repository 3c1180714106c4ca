import { IAMClient } from '@aws-sdk/client-iam';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import { loadConfig } from '../lib/config.js';
import { createDeps } from '../lib/deps.js';
import { lambdaSenders, readSlackWebhook, revocationDeps } from '../lib/lambda-deps.js';
import { LOCAL_AWS } from '../lib/local/dynamodb-local.js';
import { createLogger } from '../lib/logger.js';
import { processRecord } from '../lib/pipeline.js';
import { createRegistryStore } from '../lib/registry/index.js';
import { liveRevoker } from '../lib/revoke/service.js';
import { useSsmClient } from '../lib/ssm-parameter.js';
import { fakeIam, fakeSlack, fakeSns, fakeSsm } from '../test/helpers/fake-aws.js';
import { prng } from '../test/helpers/prng.js';
import { type AssumeKind, assumeRecord } from './records.js';
import { tally } from './stats.js';

type Step = 'recordAndDetect' | 'revocation' | 'alert';

import { type BenchStore, benchDocumentClient } from './store.js';

/** The awsCalls figure of contract §3 and what each count is made of, by `service:Command`. */
export interface AwsCallsFigure {
  benignEvent: number;
  revokedSession: number;
  /** The revoked session's calls before the PutRolePolicy that carries the deny. */
  beforeDeny: number;
  byCommand: Record<
    'coldStart' | 'firstEvent' | 'benignEvent' | 'benignUnregisteredRole' | 'revokedSession',
    Record<string, number>
  >;
  /** The revoked session's calls by step: recording and detection, the revocation, the alert (outbox and delivery). */
  revokedSessionBySteps: Record<Step, Record<string, number>>;
}

type Handler = (args: unknown) => Promise<unknown>;
type Middleware = (next: Handler, context: { commandName?: string }) => Handler;

/** Calls counted at the clients' middleware stacks (above retries), each with the step it was made in. */
function callLog() {
  const log: { call: string; step: Step | null }[] = [];
  let step: Step | null = null;
  return {
    log,
    /** Count every call the client sends, as `service:Command`. */
    counted<C extends { middlewareStack: unknown }>(client: C, service: string): C {
      const middleware: Middleware = (next, context) => async (args) => {
        log.push({ call: `${service}:${String(context.commandName).replace(/Command$/, '')}`, step });
        return next(args);
      };
      (client.middlewareStack as { add(m: Middleware, o: { step: 'initialize'; name: string }): void }).add(
        middleware,
        { step: 'initialize', name: 'benchCountCalls' },
      );
      return client;
    },
    /** Label the calls made inside the object's methods with a step (the outermost: the revoker uses the revocations store). */
    inStep<T extends object>(name: Step, target: T): T {
      for (const key of Object.keys(target) as (keyof T)[]) {
        const fn = target[key];
        if (typeof fn !== 'function') continue;
        target[key] = (async (...args: unknown[]) => {
          const outer = step;
          step ??= name;
          try {
            return await (fn as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          } finally {
            step = outer;
          }
        }) as T[keyof T];
      }
      return target;
    },
  };
}

/**
 * The deployed onAssumeRole wiring (createAlertingRevokingDeps) on counted clients: DynamoDB Local, and local
 * HTTP fakes of SSM, SNS, IAM and Slack. Counts the calls of one benign assume of the registered role with its
 * current ID, and of one assume with a wrong ID that revokes the session through liveRevoker.
 */
export async function measureAwsCalls(store: BenchStore): Promise<AwsCallsFigure> {
  const [slack, sns, iam] = await Promise.all([fakeSlack(), fakeSns(), fakeIam()]);
  const ssm = await fakeSsm('/roleguard/bench/slack-webhook-url', `${slack.url}/services/T0/B0/bench`);
  const { log, counted, inStep } = callLog();
  const aws = { region: LOCAL_AWS.region, credentials: LOCAL_AWS.credentials };
  const dynamo = counted(benchDocumentClient(store.local.endpoint), 'dynamodb');
  useSsmClient(counted(new SSMClient({ ...aws, endpoint: ssm.url }), 'ssm'));
  try {
    const tables = await store.freshTables();
    await createRegistryStore(dynamo, tables.registry).replace(store.registry);
    const config = loadConfig(
      {
        SESSIONS_TABLE: tables.sessions,
        REGISTRY_TABLE: tables.registry,
        ALERTS_TABLE: tables.alerts,
        REVOCATIONS_TABLE: tables.revocations,
        ALERT_TOPIC_ARN: 'arn:aws:sns:us-east-1:111122223333:roleguard-bench-alerts',
        SLACK_WEBHOOK_PARAMETER: '/roleguard/bench/slack-webhook-url',
      },
      { alerting: true, revoking: true },
    );
    log.length = 0;
    // The webhook is read on the first Slack alert, then cached for five minutes: counted here with the cold start.
    await readSlackWebhook(config.slackWebhookParameter!);
    const coldStart = log.splice(0);
    const senders = inStep(
      'alert',
      lambdaSenders(
        config,
        counted(new SNSClient({ ...aws, endpoint: sns.url }), 'sns'),
        createLogger({ level: 'ERROR' }),
      ),
    );
    const base = createDeps(config, { dynamo, logger: createLogger({ level: 'ERROR' }), senders });
    inStep('alert', base.alerts.outbox);
    const iamClient = counted(new IAMClient({ ...aws, endpoint: iam.url, maxAttempts: 5 }), 'iam');
    const deps = { ...base, revoker: inStep('revocation', liveRevoker(revocationDeps(base, iamClient))) };
    const random = prng(11);
    const event = async (kind: AssumeKind, n: number) => {
      const at = new Date(Math.floor(Date.now() / 1000) * 1000 - 5000).toISOString().replace('.000Z', 'Z');
      const outcome = await processRecord(assumeRecord(random, at, kind, 9_000_000 + n), deps);
      return { outcome, calls: log.splice(0) };
    };
    // Warm: the first event reads the registry (once per cache period) and notes the registered role's RoleId (once
    // per role and process); both show in `firstEvent`.
    const first = await event('vendor', 0);
    const benignUnregistered = await event('app', 1);
    const benign = await event('vendor', 2);
    const revoked = await event('vendor-wrong-id', 3);
    const applied =
      revoked.outcome.status === 'recorded' &&
      revoked.outcome.actions.some((a) => a.kind === 'revoke-session' && a.applied);
    if (!applied || benign.outcome.status !== 'recorded' || benign.outcome.findings.length)
      throw new Error('awsCalls: the events did not do what they should (benign recorded; wrong ID revoked)');
    const names = (calls: typeof log) => calls.map((c) => c.call);
    const stepOf = (wanted: Step) =>
      tally(names(revoked.calls.filter((c) => (c.step ?? 'recordAndDetect') === wanted)));
    const beforeDeny = revoked.calls.findIndex((c) => c.call === 'iam:PutRolePolicy');
    if (beforeDeny < 0) throw new Error('awsCalls: the revoked session made no PutRolePolicy');
    return {
      benignEvent: benign.calls.length,
      revokedSession: revoked.calls.length,
      beforeDeny,
      byCommand: {
        coldStart: tally(names(coldStart)),
        firstEvent: tally(names(first.calls)),
        benignEvent: tally(names(benign.calls)),
        benignUnregisteredRole: tally(names(benignUnregistered.calls)),
        revokedSession: tally(names(revoked.calls)),
      },
      revokedSessionBySteps: {
        recordAndDetect: stepOf('recordAndDetect'),
        revocation: stepOf('revocation'),
        alert: stepOf('alert'),
      },
    };
  } finally {
    useSsmClient(null);
    dynamo.destroy();
    await Promise.all([slack.close(), sns.close(), iam.close(), ssm.close()]);
  }
}
