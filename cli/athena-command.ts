import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AthenaClient } from '@aws-sdk/client-athena';
import { S3Client } from '@aws-sdk/client-s3';
import type { Command } from 'commander';
import { AthenaOptionError, buildCloudTrailTableDdl } from '../lib/athena/ddl.js';
import { buildUnloadQuery } from '../lib/athena/query.js';
import { AthenaQueryError, costOfScan, downloadResults, runQuery } from '../lib/athena/run.js';
import { EXIT } from './exit-codes.js';
import { formatBytes, plural } from './format.js';
import { addStoreOptions } from './local-store.js';
import { type ReplayFlags, replay } from './replay-command.js';

interface AwsFlags {
  profile?: string;
  region?: string;
  workgroup?: string;
  database: string;
  trailTable: string;
}

interface SetupFlags extends AwsFlags {
  location: string;
  orgId?: string;
  accounts: string;
  regions: string;
  since: string;
  output?: string;
  apply?: boolean;
}

interface AthenaReplayFlags extends AwsFlags, Omit<ReplayFlags, 'region' | 'profile'> {
  since: string;
  until: string;
  accounts?: string;
  output: string;
  keep?: string;
}

const list = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);

const say = (text: string): void => {
  process.stderr.write(`${text}\n`);
};

function clients(flags: AwsFlags): { athena: AthenaClient; s3: S3Client } {
  if (flags.profile) process.env.AWS_PROFILE = flags.profile;
  const region = flags.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  const config = region ? { region } : {};
  return { athena: new AthenaClient(config), s3: new S3Client(config) };
}

/** Ctrl-C stops the running query in Athena too, so it is not billed to the end. */
function interruptible(): { signal: AbortSignal; done: () => void } {
  const abort = new AbortController();
  const onSignal = (): void => abort.abort();
  process.once('SIGINT', onSignal);
  return { signal: abort.signal, done: () => process.off('SIGINT', onSignal) };
}

function progress(what: string): (state: string, scanned: number) => void {
  return (state, scanned) => say(`${what}: ${state.toLowerCase()}, ${(scanned / 1e9).toFixed(2)} GB scanned`);
}

function failure(command: string, error: unknown): number {
  if (error instanceof AthenaOptionError) {
    say(`roleguard athena ${command}:\n  ${error.message.split('\n').join('\n  ')}`);
    return EXIT.usage;
  }
  if (error instanceof AthenaQueryError && error.state === 'CANCELLED' && /: interrupted$/.test(error.message)) {
    say(`roleguard athena ${command}: ${error.message}`);
    return EXIT.interrupted;
  }
  say(`roleguard athena ${command}: ${(error as Error).message}`);
  return EXIT.failed;
}

async function setup(flags: SetupFlags): Promise<number> {
  try {
    const ddl = buildCloudTrailTableDdl({
      database: flags.database,
      table: flags.trailTable,
      location: flags.location,
      ...(flags.orgId ? { orgId: flags.orgId } : {}),
      accounts: list(flags.accounts),
      regions: list(flags.regions),
      since: flags.since,
    });
    if (!flags.apply) {
      process.stdout.write(`${ddl};\n`);
      say('roleguard athena setup: printed the table; run it in Athena, or again with --apply to create it.');
      return EXIT.ok;
    }
    const { athena } = clients(flags);
    const run = interruptible();
    try {
      const result = await runQuery(athena, ddl, {
        ...(flags.workgroup ? { workgroup: flags.workgroup } : {}),
        ...(flags.output ? { resultLocation: flags.output } : {}),
        signal: run.signal,
        onProgress: progress('create table'),
      });
      process.stdout.write(`created ${flags.database}.${flags.trailTable} (query ${result.queryExecutionId})\n`);
      return EXIT.ok;
    } finally {
      run.done();
    }
  } catch (error) {
    return failure('setup', error);
  }
}

async function athenaReplay(flags: AthenaReplayFlags): Promise<number> {
  const runId = `roleguard-unload-${new Date().toISOString().replace(/[-:.]/g, '')}-${process.pid}/`;
  let query: string;
  try {
    query = buildUnloadQuery({
      database: flags.database,
      table: flags.trailTable,
      since: flags.since,
      until: flags.until,
      ...(flags.accounts ? { accounts: list(flags.accounts) } : {}),
      output: `${flags.output.replace(/\/?$/, '/')}${runId}`,
    });
  } catch (error) {
    return failure('replay', error);
  }
  const { athena, s3 } = clients(flags);
  const dir = flags.keep ?? mkdtempSync(join(tmpdir(), 'roleguard-athena-'));
  const run = interruptible();
  try {
    const result = await runQuery(athena, query, {
      ...(flags.workgroup ? { workgroup: flags.workgroup } : {}),
      resultLocation: flags.output.replace(/\/?$/, '/'),
      signal: run.signal,
      onProgress: progress('unload'),
    });
    const cost = costOfScan(result.dataScannedBytes);
    say(
      `athena: ${(result.dataScannedBytes / 1e9).toFixed(2)} GB scanned, about $${cost.toFixed(4)} at $5 per TB (query ${result.queryExecutionId})`,
    );
    const files = await downloadResults(s3, `${flags.output.replace(/\/?$/, '/')}${runId}`, dir, {
      signal: run.signal,
      onFile: (count, bytes) => say(`download: ${plural(count, 'file')}, ${formatBytes(bytes)}`),
    });
    if (files.length === 0) {
      // Still a replay, of nothing, so --json prints its one document and --report writes its page.
      say('roleguard athena replay: the query found no STS or IAM events in that window.');
      writeFileSync(join(dir, 'no-events.jsonl'), '');
    }
    const {
      since: _s,
      until: _u,
      accounts: _a,
      output: _o,
      keep: _k,
      database: _d,
      trailTable: _t,
      workgroup: _w,
      ...rest
    } = flags;
    return await replay([dir], rest as ReplayFlags);
  } catch (error) {
    // Whatever the interrupted step threw (the SDK's or the stream's AbortError), Ctrl-C is what happened.
    if (run.signal.aborted && !(error instanceof AthenaQueryError)) {
      say('roleguard athena replay: stopped: interrupted');
      return EXIT.interrupted;
    }
    return failure('replay', error);
  } finally {
    run.done();
    if (!flags.keep) rmSync(dir, { recursive: true, force: true });
  }
}

/** `roleguard athena`: backtest history too big for a laptop, through Athena over the trail's bucket. */
export function registerAthena(program: Command): void {
  const athena = program
    .command('athena')
    .description('Backtest a CloudTrail history of any size through Amazon Athena (a table over the trail bucket)');
  athena
    .command('setup')
    .description("Print (or --apply: create) the Athena table over a trail's bucket, with partition projection")
    .requiredOption('--location <s3url>', "the trail's bucket and prefix: s3://bucket[/prefix]")
    .option('--org-id <o-…>', 'an organization trail: its logs are under AWSLogs/<org id>/')
    .requiredOption('--accounts <ids>', 'comma-separated accounts to project')
    .requiredOption('--regions <regions>', 'comma-separated Regions to project')
    .option('--since <YYYY/MM/DD>', 'the first day of logs', '2024/01/01')
    .option('--database <name>', 'Athena database', 'default')
    .option('--trail-table <name>', "Athena table of the trail's logs", 'cloudtrail_logs')
    .option('--workgroup <name>', 'Athena workgroup (with --apply)')
    .option('--output <s3url>', "where Athena writes the query's result (with --apply; else the workgroup's)")
    .option('--apply', 'create the table now, with your AWS credentials')
    .option('--profile <profile>', 'AWS profile')
    .option('--region <region>', 'AWS Region of Athena')
    .addHelpText(
      'after',
      `
Examples:
  roleguard athena setup --location s3://my-trail-bucket --accounts 111122223333 --regions us-east-1,eu-west-1
  roleguard athena setup --location s3://org-trail --org-id o-a1b2c3d4e5 --accounts 111122223333,444455556666 \\
      --regions us-east-1 --since 2025/01/01 --apply --output s3://athena-results/`,
    )
    .action(async (flags: SetupFlags) => {
      process.exitCode = await setup(flags);
    });
  const replayCommand = athena
    .command('replay')
    .description('UNLOAD the STS assume and IAM events of a window, read them back and replay them (a dry run)')
    .requiredOption('--since <iso>', 'start of the window, e.g. 2026-01-01T00:00:00Z')
    .requiredOption('--until <iso>', 'end of the window (exclusive)')
    .requiredOption('--output <s3url>', 'an S3 prefix Athena may write to, e.g. s3://athena-results/roleguard/')
    .option('--accounts <ids>', 'comma-separated accounts (default: all)')
    .option('--database <name>', 'Athena database', 'default')
    .option('--trail-table <name>', "Athena table of the trail's logs", 'cloudtrail_logs')
    .option('--workgroup <name>', 'Athena workgroup')
    .option('--keep <dir>', 'keep the downloaded results in this folder (replay them again with roleguard replay)')
    .option('--registry <file>', 'registry of guarded roles (YAML or JSON)')
    .option('--json', 'print exactly one JSON document on stdout')
    .option('--report <file.html>', 'also write a self-contained HTML report')
    .option('--apply', 'act on what is found (alerts and revocations), instead of a dry run')
    .option('--sns-topic <arn>', 'SNS topic for alerts with --apply')
    .option('--record-aws-service', 'also record assumes made by AWS services')
    .option('--concurrency <n>', 'records processed at once', '16')
    .option('--progress', 'show progress on stderr even when it is not a terminal');
  addStoreOptions(replayCommand)
    .addHelpText(
      'after',
      `
Examples:
  roleguard athena replay --since 2025-12-01T00:00:00Z --until 2026-01-01T00:00:00Z \\
      --output s3://athena-results/roleguard/ --registry registry.yaml --report december.html

Athena bills the bytes it scans ($5 per TB); the day partitions keep that to the window. The files UNLOAD writes
stay in S3 under --output; roleguard replay reads them offline as well.
Exit status: 0 done, 1 Athena or AWS failed (with Athena's reason), 2 bad arguments, 130 interrupted (the query
is stopped).`,
    )
    .action(async (flags: AthenaReplayFlags) => {
      process.exitCode = await athenaReplay(flags);
    });
}
