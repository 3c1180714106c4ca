import { constants, renameSync, statSync, writeFileSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { dirname, resolve as resolvePath } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { IAMClient } from '@aws-sdk/client-iam';
import { SNSClient } from '@aws-sdk/client-sns';
import type { Command } from 'commander';
import { type AlertSenders, slackSender, snsSender } from '../lib/alert/index.js';
import { listInputFiles } from '../lib/cloudtrail/read-inputs.js';
import { loadConfig } from '../lib/config.js';
import { createDeps } from '../lib/deps.js';
import { createLogger } from '../lib/logger.js';
import type { Registry } from '../lib/registry/index.js';
import { renderHtmlReport } from '../lib/replay/html-report.js';
import { defaultWorkers, workerScript } from '../lib/replay/read-pool.js';
import { runReplay } from '../lib/replay/run-replay.js';
import { emulatedRevoker } from '../lib/revoke/respond.js';
import { liveRevoker } from '../lib/revoke/service.js';
import { createRevocationStore } from '../lib/revoke/store.js';
import { createRotationStore } from '../lib/rotate/store.js';
import { EXIT } from './exit-codes.js';
import { plural } from './format.js';
import { addStoreOptions, openLocalStore, type StoreFlags, tableNames } from './local-store.js';
import { createProgressLine } from './progress.js';
import { readRegistryFile } from './registry-file.js';
import { formatReplay } from './replay-text.js';

export interface ReplayFlags extends StoreFlags {
  registry?: string;
  json?: boolean;
  apply?: boolean;
  snsTopic?: string;
  recordAwsService?: boolean;
  concurrency: string;
  /** Absent when another command (athena replay) runs a replay: the default then. */
  workers?: string;
  progress?: boolean;
  report?: string;
}

/** `roleguard replay`: run CloudTrail files through the pipeline against DynamoDB Local and report. */
export function registerReplay(program: Command): void {
  const command = program
    .command('replay')
    .description(
      'Replay CloudTrail events (files or directories; log files, JSON lines, EventBridge events, aws cloudtrail lookup-events output; .gz too) through the roleguard pipeline',
    )
    .argument('<paths...>', 'files or directories to read, recursively')
    .option('--registry <file>', 'registry of guarded roles (YAML or JSON); without it, the registry table is used')
    .option('--json', 'print exactly one JSON document (the report) on stdout')
    .option(
      '--apply',
      'send the alerts (Slack: $ROLEGUARD_SLACK_WEBHOOK_URL; SNS: --sns-topic) and write the revocations of response: revoke roles to IAM, instead of a dry run',
    )
    .option('--sns-topic <arn>', 'SNS topic for alerts with --apply (standard AWS credentials)')
    .option('--record-aws-service', 'also record assumes made by AWS services (Lambda, EC2 …)')
    .option('--concurrency <n>', 'records processed at once', '16')
    .option(
      '--workers <n>',
      `threads that read and parse the files (default: the cores, at most 4: ${defaultWorkers()})`,
    )
    .option('--progress', 'show progress on stderr even when it is not a terminal')
    .option(
      '--report <file.html>',
      'also write a self-contained HTML report: sessions over time per role, findings, revocations, rotations',
    );
  addStoreOptions(command)
    .addHelpText(
      'after',
      `
Examples:
  roleguard replay events/ --registry events/registry.yaml
  roleguard replay ~/trail/AWSLogs/ --registry registry.yaml --json > report.json
  roleguard replay logs.jsonl.gz --endpoint http://127.0.0.1:8000
  roleguard replay ~/trail/AWSLogs/ --registry registry.yaml --report backtest.html
  aws cloudtrail lookup-events --output json > last-90-days.json && roleguard replay last-90-days.json

Every event is decided as of its own eventTime, in eventTime order across all inputs. Unusable files
and records are listed under "rejected" and the run goes on. By default nothing is sent: alerts are
recorded in the outbox only.
Exit status: 0 when the run completed (even with rejections), 1 when it could not run, 2 for bad
arguments, a path that does not exist, no input file at all, or an invalid registry, 130 when
interrupted (--report still writes what was done so far).`,
    )
    .action(async (paths: string[], flags: ReplayFlags) => {
      process.exitCode = await replay(paths, flags);
    });
}

export async function replay(paths: string[], flags: ReplayFlags): Promise<number> {
  const concurrency = Number(flags.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) {
    process.stderr.write(`roleguard replay: --concurrency must be a whole number from 1 to 256\n`);
    return EXIT.usage;
  }
  const workers = flags.workers === undefined ? defaultWorkers() : Number(flags.workers);
  if (!Number.isInteger(workers) || workers < 1 || workers > 256) {
    process.stderr.write(`roleguard replay: --workers must be a whole number from 1 to 256\n`);
    return EXIT.usage;
  }
  // Without the built worker beside the bundle, reading runs in one thread: say so when threads were asked for.
  if (flags.workers !== undefined && workers > 1 && !workerScript())
    process.stderr.write(
      `roleguard replay: note: --workers ${workers} ignored: the reading worker (replay-worker.js) is not beside the CLI bundle, so the files are read in one thread\n`,
    );
  if (flags.endpoint !== undefined && !isHttpUrl(flags.endpoint)) {
    process.stderr.write(`roleguard replay: --endpoint must be an http(s) URL such as http://127.0.0.1:8000\n`);
    return EXIT.usage;
  }
  const refused = flags.report ? reportPathProblem(flags.report) : null;
  if (refused) {
    process.stderr.write(`roleguard replay: --report: ${refused}\n`);
    return EXIT.usage;
  }
  // The inputs are listed before DynamoDB starts: a mistyped path is a usage error, not an empty report.
  const listing = await listInputFiles(paths);
  const unusable = await inputProblem(paths, listing);
  if (unusable) {
    process.stderr.write(`${unusable}\n`);
    return EXIT.usage;
  }
  // The registry is read and validated before anything starts: an invalid one never half-loads.
  let registry: Registry | undefined;
  if (flags.registry) {
    const loaded = await readRegistryFile(flags.registry);
    if ('error' in loaded) {
      process.stderr.write(`roleguard replay: ${loaded.error}\n`);
      return EXIT.usage;
    }
    registry = loaded.registry;
  }
  let senders: AlertSenders = {};
  if (flags.apply) {
    const webhook = process.env.ROLEGUARD_SLACK_WEBHOOK_URL?.trim();
    if (!webhook && !flags.snsTopic) {
      process.stderr.write(
        'roleguard replay: --apply has nowhere to send alerts: set ROLEGUARD_SLACK_WEBHOOK_URL and/or --sns-topic\n',
      );
      return EXIT.usage;
    }
    senders = {
      ...(webhook ? { slack: slackSender(webhook) } : {}),
      ...(flags.snsTopic
        ? { sns: snsSender(new SNSClient(flags.region ? { region: flags.region } : {}), flags.snsTopic) }
        : {}),
    };
  }
  const tables = tableNames(flags);
  const config = loadConfig({
    SESSIONS_TABLE: tables.sessions,
    REGISTRY_TABLE: tables.registry,
    ALERTS_TABLE: tables.alerts,
    REVOCATIONS_TABLE: tables.revocations,
    RECORD_AWS_SERVICE_ASSUMES: flags.recordAwsService ? 'true' : 'false',
    ...(flags.snsTopic ? { ALERT_TOPIC_ARN: flags.snsTopic } : {}),
  });
  const abort = new AbortController();
  const onSignal = (): void => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const store = await openLocalStore(flags);
  const progress = createProgressLine(process.stderr, flags.progress);
  try {
    // Without --apply, revocations are emulated: the report shows the policy each would produce, and nothing is
    // written to IAM. With --apply they are written (standard AWS credentials), through the same recorded intents
    // and per-role lock as the deployed service.
    const logger = createLogger({ level: process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN' });
    const revocations = createRevocationStore(store.dynamo, tables.revocations);
    const revoker = flags.apply
      ? liveRevoker({
          iam: new IAMClient({ ...(flags.region ? { region: flags.region } : {}), maxAttempts: 3 }),
          dynamo: store.dynamo,
          store: revocations,
          logger,
        })
      : // A backtest against a deployed stack's tables writes no "revoked caller" markers there: the live service would
        // read them and raise false assumed-after-revocation findings. Locally they let the replay see callers return.
        emulatedRevoker(store.deployed ? {} : { store: revocations });
    const deps = createDeps(config, { dynamo: store.dynamo, logger, registry, senders, revoker });
    const guarded = (await deps.registry()).registry.roles.length;
    if (guarded === 0)
      process.stderr.write(
        'roleguard replay: note: no role is registered (see --registry), so sessions are recorded but nothing is detected\n',
      );
    const result = await runReplay(deps, {
      paths,
      listing,
      concurrency,
      workers,
      signal: abort.signal,
      apply: flags.apply ?? false,
      onProgress: (p) => progress.update(p),
    });
    progress.done();
    const { aborted, coverage, ...report } = result;
    let written: string | null = null;
    if (flags.report) {
      // Written on Ctrl-C too: what was done so far, titled as partial.
      const rotations = await createRotationStore(store.dynamo, tables.registry).list();
      const input = {
        report,
        registry: (await deps.registry()).registry,
        rotations,
        generatedAt: new Date().toISOString(),
        coverage,
        // The runbook of this installation, so the links work wherever the page is saved.
        runbook: pathToFileURL(fileURLToPath(new URL('../docs/runbook.md', import.meta.url))).href,
        ...(aborted ? { title: 'roleguard backtest (interrupted: partial)' } : {}),
      };
      written = writeReport(flags.report, renderHtmlReport(input));
    }
    if (aborted) {
      process.stderr.write(
        `roleguard replay: interrupted; stopped cleanly, partial results not printed${written ? `; the HTML report of what was done so far is in ${written}` : ''}\n`,
      );
      return EXIT.interrupted;
    }
    if (written) process.stderr.write(`roleguard replay: HTML report written to ${written}\n`);
    if (report.summary.eventsRead === 0)
      process.stderr.write(
        `roleguard replay: WARNING: read 0 events from ${plural(listing.files.length, 'file')}: nothing was replayed${report.rejected.length ? ` (${plural(report.rejected.length, 'rejection')}; see "rejected")` : ''}\n`,
      );
    const options = { embedded: store.embedded, endpoint: store.endpoint, apply: flags.apply ?? false, guarded };
    process.stdout.write(
      flags.json
        ? `${JSON.stringify(report, null, 2)}\n`
        : `${formatReplay(report, { ...options, htmlReport: written })}\n`,
    );
    return EXIT.ok;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await store.close();
  }
}

/** Why the paths give nothing to replay: a path that does not exist, or no input file under any of them. */
async function inputProblem(
  paths: string[],
  listing: Awaited<ReturnType<typeof listInputFiles>>,
): Promise<string | null> {
  const missing = listing.missing.filter((m) => 'rejected' in m && paths.includes(m.source));
  if (missing.length)
    return missing.map((m) => `roleguard replay: ${m.source}: ${'rejected' in m ? m.rejected : ''}`).join('\n');
  // One readable file is enough to start (usually the first one tried); an unreadable one is rejected on the way.
  for (const file of listing.files) if (await canRead(file.path)) return null;
  if (listing.files.length > 0)
    return `roleguard replay: no input can be read: ${plural(listing.files.length, 'file')} found, none readable (${listing.files[0]!.path} …)`;
  const unreadable = listing.missing.map((m) => `\n  ${m.source}: ${'rejected' in m ? m.rejected : ''}`).join('');
  return `roleguard replay: no input to read in ${paths.join(', ')}: no .json, .jsonl, .ndjson, .log or .gz file${unreadable}`;
}

function isHttpUrl(text: string): boolean {
  try {
    return ['http:', 'https:'].includes(new URL(text).protocol);
  } catch {
    return false;
  }
}

const canRead = (path: string): Promise<boolean> =>
  access(path, constants.R_OK).then(
    () => true,
    () => false,
  );

/** Why the report cannot be written there, checked before the run: a missing directory, or a directory as the file. */
function reportPathProblem(file: string): string | null {
  const path = resolvePath(file);
  const dir = statSync(dirname(path), { throwIfNoEntry: false });
  if (!dir?.isDirectory()) return `the directory ${dirname(path)} ${dir ? 'is not a directory' : 'does not exist'}`;
  if (statSync(path, { throwIfNoEntry: false })?.isDirectory())
    return `${path} is a directory; give a file name such as ${path}/report.html`;
  return null;
}

/** Write the page beside its destination, then rename it there: a second Ctrl-C never leaves half a page. */
function writeReport(file: string, html: string): string {
  const path = resolvePath(file);
  const partial = `${path}.${process.pid}.tmp`;
  writeFileSync(partial, html);
  renameSync(partial, path);
  return path;
}
