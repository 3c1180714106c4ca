import { roleArnFromErrorMessage } from '../cloudtrail/arn.js';
import type { InputItem } from '../cloudtrail/envelope.js';
import { DEFAULT_READ_OPTIONS, type InputFile, listInputFiles, type ReadOptions } from '../cloudtrail/read-inputs.js';
import type { Deps } from '../deps.js';
import { type ProcessOutcome, processRecord } from '../pipeline.js';
import type { RegistryIndex } from '../registry/index.js';
import { addOtherCopy, type SessionView } from '../sessions/index.js';
import { collectRecords, emptyCoverage, type PendingRecord, type SeqRejection } from './collect.js';
import type { Coverage } from './html/types.js';
import { defaultWorkers } from './read-pool.js';
import { countIgnored, emptyReport, type ReplayReport, reportFinding, sortReport } from './report.js';

/** Progress of a replay, for a progress line on stderr: first the inputs are read, then the events decided. */
export interface ReplayProgress {
  phase: 'reading' | 'deciding';
  bytesRead: number;
  bytesTotal: number;
  records: number;
  filesDone: number;
  filesTotal: number;
  /** Events decided so far, of `toDecide` (known once every input was read). */
  decided: number;
  toDecide: number;
}

/** Options of one replay run. */
export interface ReplayOptions {
  paths: string[];
  /** The paths already listed (the CLI checks them before it starts DynamoDB). */
  listing?: { files: InputFile[]; missing: InputItem[] };
  /** Records processed at once; the store is the bottleneck, so a few in flight hide its latency. */
  concurrency?: number;
  signal?: AbortSignal;
  /** Perform actions (send alerts) instead of a dry run. */
  apply?: boolean;
  onProgress?: (progress: ReplayProgress) => void;
  read?: Partial<ReadOptions>;
  /** Threads that read and classify the files (one file each at a time); default: the cores, at most 4. */
  workers?: number;
  /** The reading worker's script, for tests; by default the built one beside the bundle, else none (one thread). */
  workerScript?: URL | null;
}

/**
 * Run CloudTrail files through the same pipeline as the Lambda functions, each event decided as of its own
 * eventTime (the simulated clock) and in eventTime order across every input, so the report is the same however
 * the records are split into files. Bad files and records are listed as rejected and the run goes on.
 */
export async function runReplay(
  deps: Deps,
  options: ReplayOptions,
): Promise<ReplayReport & { aborted: boolean; coverage: Coverage }> {
  const report = emptyReport();
  const read = emptyCoverage();
  const concurrency = options.concurrency ?? 16;
  const { files, missing } = options.listing ?? (await listInputFiles(options.paths));
  const progress: ReplayProgress = {
    phase: 'reading',
    bytesRead: 0,
    bytesTotal: files.reduce((n, f) => n + f.bytes, 0),
    records: 0,
    filesDone: 0,
    filesTotal: files.length,
    decided: 0,
    toDecide: 0,
  };
  // Rejections are listed in input order, though some are only found when their event is decided.
  const rejectedAt: SeqRejection[] = [];
  for (const item of missing)
    if ('rejected' in item) rejectedAt.push({ seq: rejectedAt.length, source: item.source, reason: item.rejected });

  // Pass 1: read and classify everything (cheap), keeping only the records to decide, in eventTime order.
  const pending = await collectRecords(files, report, rejectedAt, {
    read: { ...DEFAULT_READ_OPTIONS, ...options.read, onBytes: (n) => (progress.bytesRead += n) },
    recordAwsServiceAssumes: deps.config.recordAwsServiceAssumes,
    signal: options.signal,
    coverage: read,
    workers: options.workers ?? defaultWorkers(),
    workerScript: options.workerScript,
    onRecord: () => {
      if (++progress.records % 1000 === 0) options.onProgress?.(progress);
    },
    onFile: () => {
      progress.filesDone++;
      options.onProgress?.(progress);
    },
  });
  progress.phase = 'deciding';
  progress.toDecide = pending.length;
  options.onProgress?.(progress);

  const inFlight = new Set<Promise<void>>();
  const lanes = new Map<string, Promise<void>>();
  let failure: unknown = null;

  // The sessions of cross-account assumes, by sharedEventID: the other copy adds the caller's ARN, as in the store.
  const shared = new Map<string, SessionView>();
  const tally = (outcome: ProcessOutcome, item: PendingRecord): void => {
    switch (outcome.status) {
      case 'recorded':
        report.summary.recorded++;
        report.sessions.push(outcome.session);
        if (outcome.event.sharedEventId) shared.set(outcome.event.sharedEventId, outcome.session);
        report.findings.push(...outcome.findings.map(reportFinding));
        report.actions.push(...outcome.actions);
        break;
      case 'duplicate': {
        report.summary.duplicates++;
        const session = outcome.otherCopy && shared.get(outcome.event.sharedEventId!);
        if (session) addOtherCopy(session, outcome.event);
        break;
      }
      case 'trust-policy-change':
        report.summary.trustPolicyChanges++;
        report.findings.push(...outcome.findings.map(reportFinding));
        report.actions.push(...outcome.actions);
        break;
      case 'ignored':
        countIgnored(report, outcome.reason, outcome.eventName);
        break;
      case 'rejected':
        rejectedAt.push({ seq: item.seq, source: item.source, reason: outcome.reason });
        break;
    }
    if (++progress.decided % 100 === 0) options.onProgress?.(progress);
  };

  // Pass 2: decide in eventTime order. Records of one guarded role run one after another, so that findings merge
  // into the same alert and revocations happen in the same order on every run; copies of one event too, so that
  // the first is the one recorded. Everything else runs concurrently.
  const index = await deps.registry();
  for (let i = 0; i < pending.length; i++) {
    if (options.signal?.aborted || failure) break;
    const item = pending[i]!;
    const record: unknown = JSON.parse(item.json);
    // Let each record's text go as soon as it is parsed: memory stays flat however many there are.
    pending[i] = undefined as unknown as PendingRecord;
    item.json = '';
    const key = laneOf(record, index);
    const before = key === null ? undefined : lanes.get(key);
    const run = () =>
      processRecord(record, deps, { envelopeId: item.envelopeId, now: eventClock, dryRun: !options.apply });
    const task = (before ? before.then(run) : run())
      .then((outcome) => tally(outcome, item))
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
  await Promise.all(inFlight);
  options.onProgress?.(progress);
  // A store failure means the run could not complete: surface it rather than report partial numbers as whole.
  if (failure) throw failure;
  rejectedAt.sort((a, b) => a.seq - b.seq);
  for (const r of rejectedAt) report.rejected.push({ source: r.source, reason: r.reason });
  report.summary.rejected = report.rejected.length;
  report.summary.findings = report.findings.length;
  report.summary.actions = report.actions.length;
  const coverage: Coverage = {
    files: files.length,
    accounts: [...read.accounts].sort(),
    regions: [...read.regions].sort(),
    from: read.from,
    to: read.to,
  };
  return { ...sortReport(report), aborted: options.signal?.aborted ?? false, coverage };
}

// The lane of a raw record: its role when the role is guarded (by name: UpdateAssumeRolePolicy logs no ARN), else
// its event id.
function laneOf(record: unknown, index: RegistryIndex): string | null {
  if (typeof record !== 'object' || record === null) return null;
  const r = record as {
    eventID?: unknown;
    sharedEventID?: unknown;
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
  // Both accounts' copies of a cross-account assume share sharedEventID: one after the other, the first recorded.
  if (typeof r.sharedEventID === 'string') return `shared:${r.sharedEventID}`;
  return typeof r.eventID === 'string' ? `event:${r.eventID}` : null;
}

// The simulated clock: every event is decided as of its own time.
function eventClock(event: { kind: string; issuedAt?: string; eventTime?: string }): Date {
  return new Date(event.kind === 'assume' ? event.issuedAt! : event.eventTime!);
}
