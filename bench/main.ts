import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fakeIam, fakeSns, fakeSsm } from '../test/helpers/fake-aws.js';
import { measureAwsCalls } from './aws-calls.js';
import { formatColdStart, measureColdStart } from './cold-start.js';
import { writeCorpus } from './corpus.js';
import { measureHandler } from './handler.js';
import { ACCOUNT } from './records.js';
import { measureReplay, measureReplayMemory } from './replay.js';
import { measureReplayBreakdown } from './replay-breakdown.js';
import { replayChild } from './replay-child.js';
import { type BenchResult, formatResult, goalsMet } from './report.js';
import { measureRevocationCapacity } from './revocation.js';
import { say } from './stats.js';
import { openBenchStore } from './store.js';

// `npm run bench [-- --json] [--quick] [--records N]`: contract §3, every ratio measured side by side in one run.
const USAGE = 'usage: npm run bench -- [--json] [--quick] [--records N] [--cold-start]';
const args = process.argv.slice(2);

/** The stack's environment of the functions, pointed at DynamoDB Local and the HTTP fakes of SSM, SNS and IAM. */
function functionEnv(dynamodb: string, fakes: { url: string }[]): Record<string, string> {
  const [ssm, sns, iam] = fakes as [{ url: string }, { url: string }, { url: string }];
  return {
    POWERTOOLS_SERVICE_NAME: 'roleguard',
    POWERTOOLS_LOG_LEVEL: 'ERROR',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    SESSIONS_TABLE: 'roleguard-bench-sessions',
    REGISTRY_TABLE: 'roleguard-bench-registry',
    ALERTS_TABLE: 'roleguard-bench-alerts',
    REVOCATIONS_TABLE: 'roleguard-bench-revocations',
    SESSION_RETENTION_DAYS: '90',
    RECORD_AWS_SERVICE_ASSUMES: 'false',
    REGISTRY_CACHE_SECONDS: '60',
    ALERT_WINDOW_SECONDS: '3600',
    DRY_RUN: 'false',
    ALERT_TOPIC_ARN: `arn:aws:sns:us-east-1:${ACCOUNT}:roleguard-bench-alerts`,
    ROTATION_TOPIC_ARN: `arn:aws:sns:us-east-1:${ACCOUNT}:roleguard-bench-rotation`,
    SLACK_WEBHOOK_PARAMETER: '/roleguard/bench/slack-webhook-url',
    ROTATION_SLACK_WEBHOOK_PARAMETER: '',
    OWN_ROLE_ARNS: `arn:aws:iam::${ACCOUNT}:role/roleguard-bench-*`,
    EXTERNAL_ID_LENGTH: '32',
    TRUST_POLICY_SIZE_LIMIT: '2048',
    // The Slack action functions (slackActions, slackActionWorker).
    DECISIONS_TABLE: 'roleguard-bench-decisions',
    SLACK_SIGNING_SECRET_PARAMETER: '/roleguard/bench/slack-signing-secret',
    SLACK_ACTION_FUNCTION: 'roleguard-bench-slackActionWorker',
    // The coverage functions (orgSync, orgCanary): an organization of one.
    SPOKE_ROLE_NAME: 'roleguard-bench-spoke',
    AWS_ACCOUNT_ID: ACCOUNT,
    AWS_ENDPOINT_URL_DYNAMODB: dynamodb,
    AWS_ENDPOINT_URL_SSM: ssm.url,
    AWS_ENDPOINT_URL_SNS: sns.url,
    AWS_ENDPOINT_URL_IAM: iam.url,
  };
}

async function main(): Promise<void> {
  const json = args.includes('--json');
  const quick = args.includes('--quick');
  // Only the cold-start figure (no corpus, replay, handler or calls): a quick check of the functions' init.
  const coldOnly = args.includes('--cold-start');
  const at = args.indexOf('--records');
  const records = at >= 0 ? Number(args[at + 1]) : quick ? 100_000 : 1_000_000;
  if (
    !Number.isInteger(records) ||
    records < 10_000 ||
    args.some(
      (a, i) =>
        a.startsWith('--') &&
        !['--json', '--quick', '--records', '--cold-start'].includes(a) &&
        (at < 0 || i !== at + 1),
    )
  ) {
    process.stderr.write(`${USAGE}\n  (unknown option, or --records not a whole number of at least 10000)\n`);
    process.exitCode = 2;
    return;
  }
  const started = performance.now();
  const work = mkdtempSync(join(tmpdir(), 'roleguard-bench-'));
  const opening = openBenchStore();
  const fakes = await Promise.all([
    fakeSsm('/roleguard/bench/slack-webhook-url', 'https://hooks.slack.invalid/services/T0/B0/bench'),
    fakeSns(),
    fakeIam(),
  ]);
  try {
    if (coldOnly) {
      const store = await opening;
      try {
        const coldStart = await measureColdStart(
          join(work, 'bundles'),
          functionEnv(store.local.endpoint, fakes),
          quick ? 3 : 9,
        );
        process.stdout.write(json ? `${JSON.stringify({ coldStart }, null, 2)}\n` : formatColdStart(coldStart));
      } finally {
        await store.close();
      }
      return;
    }
    say(`writing ${records} CloudTrail records (seeded) to ${work}`);
    let corpus: ReturnType<typeof writeCorpus>;
    try {
      corpus = writeCorpus(join(work, 'trail'), records);
    } catch (error) {
      await (await opening).close();
      throw error;
    }
    say(
      `${corpus.files.length} files, ${Math.round(corpus.gzBytes / 1048576)} MiB gzipped, ${Math.round(corpus.jsonBytes / 1048576)} MiB of JSON; ${JSON.stringify(corpus.mix)}`,
    );
    const store = await opening;
    try {
      const replay = await measureReplay(store, corpus, quick ? 1 : 3);
      const quarter = Math.ceil(records / 4);
      const memory = await measureReplayMemory(store, corpus, [quarter, records], work, quick ? 1 : 3);
      const subset = corpus.files.slice(
        0,
        Math.max(1, Math.ceil((corpus.files.length * Math.min(records, 250_000)) / records)),
      );
      const breakdown = await measureReplayBreakdown(store, subset);
      const handler = await measureHandler(store, quick ? 400 : 1000, quick ? 2 : 6);
      const env = functionEnv(store.local.endpoint, fakes);
      const coldStart = await measureColdStart(join(work, 'bundles'), env, quick ? 3 : 9);
      const revocation = measureRevocationCapacity();
      const awsCalls = await measureAwsCalls(store);
      const figures = {
        replay: {
          ...replay,
          peakRssMB: Object.fromEntries(memory.map((m) => [String(m.records), m.peakRssMB])),
          memory,
          corpus: {
            files: corpus.files.length,
            gzMB: Math.round(corpus.gzBytes / 1048576),
            jsonMB: Math.round(corpus.jsonBytes / 1048576),
            mix: corpus.mix,
          },
          breakdown,
        },
        handler,
        coldStart,
        revocation,
        awsCalls,
      };
      const seconds = Math.round((performance.now() - started) / 1000);
      const result: BenchResult = {
        ...figures,
        meta: {
          date: new Date().toISOString(),
          node: process.version,
          cpus: availableParallelism(),
          quick,
          seconds,
          goalsMet: goalsMet(figures),
        },
      };
      process.stdout.write(json ? `${JSON.stringify(result, null, 2)}\n` : formatResult(result));
    } finally {
      await store.close();
    }
  } finally {
    await Promise.all(fakes.map((f) => f.close()));
    rmSync(work, { recursive: true, force: true });
  }
}

if (args[0] === '--child-replay') await replayChild(args[1]!);
else await main();
