import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alertsTableDefinition } from '../lib/alert/index.js';
import { createDocumentClient } from '../lib/deps.js';
import { LOCAL_AWS, startDynamoDbLocal } from '../lib/local/dynamodb-local.js';
import { ensureTable } from '../lib/local/tables.js';
import { registryTableDefinition } from '../lib/registry/index.js';
import { revocationsTableDefinition } from '../lib/revoke/store.js';
import { sessionsTableDefinition } from '../lib/sessions/index.js';
import { fakeSsm } from '../test/helpers/fake-aws.js';
import { writeCorpus } from './corpus.js';
import { benchDeps, measureAwsCalls, measureColdStart, measureHandler, measureReplay, measureRevocationCapacity } from './measure.js';

// `npm run bench [-- --json] [--quick] [--records N]`: contract §3, every ratio measured side by side in one run.
const args = process.argv.slice(2);
const json = args.includes('--json');
const quick = args.includes('--quick');
const recordsArg = args.indexOf('--records');
const records = recordsArg >= 0 ? Number(args[recordsArg + 1]) : quick ? 100_000 : 1_000_000;
const say = (text: string) => process.stderr.write(`bench: ${text}\n`);

const work = mkdtempSync(join(tmpdir(), 'roleguard-bench-'));
const local = await startDynamoDbLocal();
const dynamo = createDocumentClient({ ...LOCAL_AWS, endpoint: local.endpoint });
const ssm = await fakeSsm('/roleguard/bench/slack-webhook-url', 'https://hooks.slack.invalid/services/T0/B0/bench');
let tableCount = 0;
async function tables(): Promise<string> {
  const prefix = `bench${tableCount++}`;
  await ensureTable(dynamo, sessionsTableDefinition(`${prefix}-sessions`));
  await ensureTable(dynamo, registryTableDefinition(`${prefix}-registry`));
  await ensureTable(dynamo, alertsTableDefinition(`${prefix}-alerts`));
  await ensureTable(dynamo, revocationsTableDefinition(`${prefix}-revocations`));
  return prefix;
}
try {
  say(`writing a corpus of ${records} CloudTrail records (1% AssumeRole) to ${work}`);
  const corpus = writeCorpus(join(work, 'corpus'), records);
  const small = writeCorpus(join(work, 'corpus-quarter'), Math.ceil(records / 4), 43);
  say(`${corpus.files} files, ${(corpus.gzBytes / 1048576).toFixed(0)} MiB gzipped, ${(corpus.jsonBytes / 1048576).toFixed(0)} MiB of JSON`);

  say('replay of a quarter of the corpus (for the memory curve)');
  const quarterPrefix = await tables();
  const quarter = await measureReplay(small.dir, () => benchDeps(dynamo, quarterPrefix), 1);
  say('replay against gunzip + JSON.parse of the same files');
  const prefixes = [await tables(), await tables(), await tables()];
  let r = 0;
  const replay = await measureReplay(corpus.dir, () => benchDeps(dynamo, prefixes[r++ % prefixes.length]!), quick ? 1 : 3);

  say('capture handler against raw PutItem');
  const handler = await measureHandler(dynamo, benchDeps(dynamo, await tables()), quick ? 2000 : 8000);

  say('cold start of each function against a bare bundle');
  const env = {
    SESSIONS_TABLE: 't-sessions', REGISTRY_TABLE: 't-registry', ALERTS_TABLE: 't-alerts', REVOCATIONS_TABLE: 't-revocations', ALERT_TOPIC_ARN: 'arn:aws:sns:us-east-1:111122223333:bench',
    SLACK_WEBHOOK_PARAMETER: '/roleguard/bench/slack-webhook-url', AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_SSM: ssm.url, AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench', POWERTOOLS_LOG_LEVEL: 'ERROR',
  };
  const coldStart = await measureColdStart(join(work, 'bundles'), env, quick ? 3 : 9);

  say('revocation capacity and AWS calls per event');
  const revocation = measureRevocationCapacity();
  const awsCalls = await measureAwsCalls(dynamo, await tables());

  const result = {
    replay: { records: replay.records, recordsPerSecond: replay.recordsPerSecond, parseFloorPerSecond: replay.parseFloorPerSecond, ratioToParseFloor: replay.ratioToParseFloor, peakRssMB: { [quarter.records]: quarter.peakRssMB, [replay.records]: replay.peakRssMB } },
    handler,
    coldStart,
    revocation,
    awsCalls,
  };
  if (json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else {
    const rows: [string, string, string][] = [
      ['replay', `${result.replay.recordsPerSecond} records/s vs ${result.replay.parseFloorPerSecond} (gunzip + JSON.parse)`, `${result.replay.ratioToParseFloor} (goal ≥ 0.8)`],
      ['replay memory', `peak RSS ${quarter.peakRssMB} MiB at ${quarter.records} records, ${replay.peakRssMB} MiB at ${replay.records}`, 'flat as input grows'],
      ['handler', `${handler.eventsPerSecond} events/s vs ${handler.rawPutItemPerSecond} raw PutItem/s`, `${handler.ratioToRawPutItem} (goal ≥ 0.8)`],
      ...Object.keys(coldStart.initMs).map((fn): [string, string, string] => [`cold start ${fn}`, `${coldStart.initMs[fn]} ms vs ${coldStart.baselineInitMs} ms bare; ${coldStart.bundleKB[fn]} KiB`, `${coldStart.ratioToBaseline[fn]} (goal ≤ 1.2)`]),
      ['revocation capacity', `${revocation.sessionsPerRoleBudget} sessions in ${revocation.policyChars} characters`, 'goal ≥ 150'],
      ['AWS calls', `benign event ${awsCalls.benignEvent}, revoked session ${awsCalls.revokedSession}`, 'goals ≤ 2 and ≤ 5'],
    ];
    const w = [Math.max(...rows.map((x) => x[0].length)), Math.max(...rows.map((x) => x[1].length))];
    process.stdout.write(`${rows.map(([a, b, c]) => `${a.padEnd(w[0]!)}  ${b.padEnd(w[1]!)}  ${c}`).join('\n')}\n`);
  }
} finally {
  dynamo.destroy();
  await ssm.close();
  await local.stop();
  rmSync(work, { recursive: true, force: true });
}
