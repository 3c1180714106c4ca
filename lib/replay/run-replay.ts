import { roleArnFromErrorMessage } from '../cloudtrail/arn.js';
import { classifyRecord } from '../cloudtrail/classify.js';
import { DEFAULT_READ_OPTIONS, listInputFiles, type ReadOptions, readInputFile } from '../cloudtrail/read-inputs.js';
import type { Deps } from '../deps.js';
import { type ProcessOutcome, processRecord } from '../pipeline.js';
import type { RegistryIndex } from '../registry/index.js';
import { emptyReport, type ReplayReport, reportFinding, sortReport } from './report.js';

/** Progress of a replay, for a progress line on stderr. */
export interface ReplayProgress {
  bytesRead: number;
  bytesTotal: number;
  records: number;
  filesDone: number;
  filesTotal: number;
}

/** Options of one replay run. */
export interface ReplayOptions {
  paths: string[];
  /** Records processed at once; the store is the bottleneck, so a few in flight hide its latency. */
  concurrency?: number;
  signal?: AbortSignal;
  /** Perform actions (send alerts) instead of a dry run. */
  apply?: boolean;
  onProgress?: (progress: ReplayProgress) => void;
  read?: Partial<ReadOptions>;
}

/**
 * Run CloudTrail files through the same pipeline as the Lambda functions, each event decided as of its own
 * eventTime (the simulated clock). Bad files and records are listed as rejected and the run goes on.
 */
export async function runReplay(deps: Deps, options: ReplayOptions): Promise<ReplayReport & { aborted: boolean }> {
  const report = emptyReport();
  const concurrency = options.concurrency ?? 16;
  const { files, missing } = await listInputFiles(options.paths);
  const progress: ReplayProgress = {
    bytesRead: 0,
    bytesTotal: files.reduce((n, f) => n + f.bytes, 0),
    records: 0,
    filesDone: 0,
    filesTotal: files.length,
  };
  const readOptions: ReadOptions = {
    ...DEFAULT_READ_OPTIONS,
    ...options.read,
    onBytes: (n) => (progress.bytesRead += n),
  };
  for (const item of missing)
    if ('rejected' in item) report.rejected.push({ source: item.source, reason: item.rejected });

  // Rejections are kept in input order even though records finish out of order.
  const rejectedAt: { seq: number; source: string; reason: string }[] = [];
  const inFlight = new Set<Promise<void>>();
  const lanes = new Map<string, Promise<void>>();
  let seq = 0;
  let failure: unknown = null;

  const tally = (outcome: ProcessOutcome, source: string, at: number): void => {
    switch (outcome.status) {
      case 'recorded':
        report.summary.recorded++;
        report.sessions.push(outcome.session);
        report.findings.push(...outcome.findings.map(reportFinding));
        report.actions.push(...outcome.actions);
        break;
      case 'duplicate':
        report.summary.duplicates++;
        break;
      case 'trust-policy-change':
        report.summary.trustPolicyChanges++;
        report.findings.push(...outcome.findings.map(reportFinding));
        report.actions.push(...outcome.actions);
        break;
      case 'ignored':
        report.summary.ignored++;
        break;
      case 'rejected':
        rejectedAt.push({ seq: at, source, reason: outcome.reason });
        break;
    }
  };

  const index = await deps.registry();
  outer: for (const file of files) {
    for await (const item of readInputFile(file.path, readOptions)) {
      if (options.signal?.aborted || failure) break outer;
      const at = seq++;
      if ('rejected' in item) {
        rejectedAt.push({ seq: at, source: item.source, reason: item.rejected });
        continue;
      }
      report.summary.eventsRead++;
      if (++progress.records % 1000 === 0) options.onProgress?.(progress);
      // Most of a trail is other services' events: classified here, at once, they never wait behind the store.
      const classified = classifyRecord(
        item.record,
        { recordAwsServiceAssumes: deps.config.recordAwsServiceAssumes },
        item.envelopeId,
      );
      if (classified.kind === 'ignored') {
        report.summary.ignored++;
        continue;
      }
      if (classified.kind === 'rejected') {
        rejectedAt.push({ seq: at, source: item.source, reason: classified.reason });
        continue;
      }
      // Records of one guarded role run in input order, so that findings merge into the same alert and revocations
      // happen in the same order on every run; copies of one event too, so that the first is the one recorded.
      // Everything else runs concurrently.
      const key = laneOf(item.record, index);
      const before = key === null ? undefined : lanes.get(key);
      const run = () =>
        processRecord(item.record, deps, { envelopeId: item.envelopeId, now: eventClock, dryRun: !options.apply });
      const task = (before ? before.then(run) : run())
        .then((outcome) => tally(outcome, item.source, at))
        .catch((error: unknown) => {
          failure ??= error;
        });
      inFlight.add(task);
      if (key !== null) lanes.set(key, task);
      void task.finally(() => {
        inFlight.delete(task);
        if (key !== null && lanes.get(key) === task) lanes.delete(key);
      });
      if (inFlight.size >= concurrency) await Promise.race(inFlight);
    }
    progress.filesDone++;
    options.onProgress?.(progress);
  }
  await Promise.all(inFlight);
  // A store failure means the run could not complete: surface it rather than report partial numbers as whole.
  if (failure) throw failure;
  rejectedAt.sort((a, b) => a.seq - b.seq);
  for (const r of rejectedAt) report.rejected.push({ source: r.source, reason: r.reason });
  report.summary.rejected = report.rejected.length;
  report.summary.findings = report.findings.length;
  report.summary.actions = report.actions.length;
  return { ...sortReport(report), aborted: options.signal?.aborted ?? false };
}

// The lane of a raw record: its role when the role is guarded (by name: UpdateAssumeRolePolicy logs no ARN), else
// its event id.
function laneOf(record: unknown, index: RegistryIndex): string | null {
  if (typeof record !== 'object' || record === null) return null;
  const r = record as {
    eventID?: unknown;
    errorMessage?: unknown;
    recipientAccountId?: unknown;
    requestParameters?: { roleArn?: unknown; roleName?: unknown } | null;
  };
  const params = typeof r.requestParameters === 'object' && r.requestParameters !== null ? r.requestParameters : {};
  const arn =
    typeof params.roleArn === 'string'
      ? params.roleArn
      : roleArnFromErrorMessage(typeof r.errorMessage === 'string' ? r.errorMessage : null);
  const account = typeof r.recipientAccountId === 'string' ? r.recipientAccountId : '';
  const name = arn ? arn.slice(arn.lastIndexOf('/') + 1) : typeof params.roleName === 'string' ? params.roleName : null;
  if (name !== null && (arn ? index.roleFor(arn) : index.roleByName(account, name))) return `role:${name}`;
  return typeof r.eventID === 'string' ? `event:${r.eventID}` : null;
}

// The simulated clock: every event is decided as of its own time.
function eventClock(event: { kind: string; issuedAt?: string; eventTime?: string }): Date {
  return new Date(event.kind === 'assume' ? event.issuedAt! : event.eventTime!);
}
