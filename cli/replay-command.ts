import type { Command } from 'commander';
import { loadConfig } from '../lib/config.js';
import { createDeps } from '../lib/deps.js';
import { createLogger } from '../lib/logger.js';
import { maskExternalId } from '../lib/redact.js';
import type { ReplayReport } from '../lib/replay/report.js';
import { runReplay } from '../lib/replay/run-replay.js';
import { openLocalStore } from './local-store.js';
import { createProgressLine } from './progress.js';
import { renderTable } from './table.js';
import { EXIT } from './exit-codes.js';

interface ReplayFlags {
  registry?: string;
  json?: boolean;
  apply?: boolean;
  endpoint?: string;
  table: string;
  recordAwsService?: boolean;
  concurrency: string;
  progress?: boolean;
}

/** `roleguard replay`: run CloudTrail files through the pipeline against DynamoDB Local and report. */
export function registerReplay(program: Command): void {
  program
    .command('replay')
    .description('Replay CloudTrail events (files or directories; .json, JSON lines, .gz) through the roleguard pipeline')
    .argument('<paths...>', 'files or directories to read, recursively')
    .option('--registry <file>', 'registry of guarded roles (YAML or JSON); used by detection')
    .option('--json', 'print exactly one JSON document (contract §2) on stdout')
    .option('--apply', 'perform actions instead of a dry run (nothing to perform yet)')
    .option('--endpoint <url>', 'use a DynamoDB that is already running instead of the embedded DynamoDB Local')
    .option('--table <name>', 'sessions table name', 'roleguard-local-sessions')
    .option('--record-aws-service', 'also record assumes made by AWS services (Lambda, EC2 …)')
    .option('--concurrency <n>', 'records processed at once', '16')
    .option('--progress', 'show progress on stderr even when it is not a terminal')
    .addHelpText('after', `
Examples:
  roleguard replay events/
  roleguard replay ~/trail/AWSLogs/ --json > report.json
  roleguard replay logs.jsonl.gz --endpoint http://127.0.0.1:8000

Every event is decided as of its own eventTime. Unusable files and records are listed under "rejected"
and the run goes on. Exit status: 0 when the run completed (even with rejections), 1 when it could not run,
130 when interrupted.`)
    .action(async (paths: string[], flags: ReplayFlags) => {
      process.exitCode = await replay(paths, flags);
    });
}

async function replay(paths: string[], flags: ReplayFlags): Promise<number> {
  const concurrency = Number(flags.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) {
    process.stderr.write(`roleguard replay: --concurrency must be a whole number from 1 to 256\n`);
    return EXIT.usage;
  }
  if (flags.registry) process.stderr.write('roleguard replay: note: detection is not built yet, so the registry is not read and findings stay empty\n');
  const config = loadConfig({ SESSIONS_TABLE: flags.table, RECORD_AWS_SERVICE_ASSUMES: flags.recordAwsService ? 'true' : 'false' });
  const abort = new AbortController();
  const onSignal = (): void => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const store = await openLocalStore({ endpoint: flags.endpoint, sessionsTable: config.sessionsTable });
  const progress = createProgressLine(process.stderr, flags.progress);
  try {
    const deps = createDeps(config, { dynamo: store.dynamo, logger: createLogger({ level: process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN' }) });
    const result = await runReplay(deps, { paths, concurrency, signal: abort.signal, onProgress: (p) => progress.update(p) });
    progress.done();
    const { aborted, ...report } = result;
    if (aborted) {
      process.stderr.write('roleguard replay: interrupted; stopped cleanly, partial results not printed\n');
      return EXIT.interrupted;
    }
    process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReplay(report, store.embedded)}\n`);
    return EXIT.ok;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await store.close();
  }
}

/** The readable report: summary, the sessions recorded, and what was rejected. */
export function formatReplay(report: ReplayReport, embedded: boolean): string {
  const s = report.summary;
  const out: string[] = [];
  out.push('roleguard replay' + (embedded ? ' (embedded DynamoDB Local, dry run)' : ' (dry run)'), '');
  out.push(renderTable(['events read', 'recorded', 'duplicates', 'ignored', 'rejected', 'trust changes', 'findings', 'actions'], [[s.eventsRead, s.recorded, s.duplicates, s.ignored, s.rejected, s.trustPolicyChanges, s.findings, s.actions]]));
  out.push('', `Sessions recorded (${report.sessions.length})`);
  out.push(
    renderTable(
      ['issued (UTC)', 'outcome', 'role', 'session', 'caller', 'caller type', 'external id', 'source IP', 'expires (UTC)'],
      report.sessions.map((x) => [x.issuedAt, x.outcome, x.roleArn, x.roleSessionName, x.callerAccountId, x.callerType, maskExternalId(x.externalId), x.sourceIpAddress, x.expiresAt]),
      44,
    ),
  );
  if (report.rejected.length) {
    out.push('', `Rejected (${report.rejected.length})`);
    out.push(renderTable(['source', 'reason'], report.rejected.map((r) => [r.source, r.reason]), 120));
  }
  return out.join('\n');
}
