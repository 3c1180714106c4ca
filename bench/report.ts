import type { AwsCallsFigure } from './aws-calls.js';
import type { ColdStartFigure } from './cold-start.js';
import type { HandlerFigure } from './handler.js';
import type { ReplayFigure, ReplayMemory } from './replay.js';
import type { Stage } from './replay-breakdown.js';
import type { RevocationFigure } from './revocation.js';

/** The whole result: contract §3's five figures (its keys first, unchanged), each with its extra detail, and `meta`. */
export interface BenchResult {
  replay: ReplayFigure & {
    peakRssMB: Record<string, number>;
    memory: ReplayMemory[];
    corpus: Record<string, unknown>;
    breakdown: { records: number; stages: Stage[]; dynamodbCalls: Record<string, unknown> };
  };
  handler: HandlerFigure;
  coldStart: ColdStartFigure;
  revocation: RevocationFigure;
  awsCalls: AwsCallsFigure;
  meta: {
    date: string;
    node: string;
    cpus: number;
    quick: boolean;
    seconds: number;
    goalsMet: Record<string, boolean>;
  };
}

/** Which of the issue's goals this run meets. */
export function goalsMet(r: Omit<BenchResult, 'meta'>): Record<string, boolean> {
  return {
    'replay.ratioToParseFloor >= 0.8': r.replay.ratioToParseFloor >= 0.8,
    'handler.ratioToRawPutItem >= 0.8': r.handler.ratioToRawPutItem >= 0.8,
    'coldStart.ratioToBaseline <= 1.2 (every function)': Object.values(r.coldStart.ratioToBaseline).every(
      (x) => x <= 1.2,
    ),
    'revocation.sessionsPerRoleBudget >= 150': r.revocation.sessionsPerRoleBudget >= 150,
    'awsCalls.benignEvent <= 2': r.awsCalls.benignEvent <= 2,
    'awsCalls.revokedSession <= 8': r.awsCalls.revokedSession <= 8,
    'awsCalls.beforeDeny <= 4': r.awsCalls.beforeDeny <= 4,
  };
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows
    .map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  '))
    .join('\n');
}

const mark = (ok: boolean) => (ok ? 'met' : 'NOT MET');

/** The readable form: one line per figure with its goal, then where the time and the calls go. */
export function formatResult(r: BenchResult): string {
  const g = r.meta.goalsMet;
  const calls = (x: Record<string, number>) =>
    Object.entries(x)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
  const out = [
    `roleguard benchmarks, ${r.meta.date}, Node ${r.meta.node}, ${r.meta.cpus} CPUs${r.meta.quick ? ' (quick)' : ''}, ${r.meta.seconds} s`,
    '',
    table([
      ['figure', 'measured', 'ratio / value', 'goal', ''],
      [
        'replay',
        `${r.replay.recordsPerSecond} records/s vs floor ${r.replay.parseFloorPerSecond} (${r.replay.records} records)`,
        String(r.replay.ratioToParseFloor),
        '>= 0.8',
        mark(g['replay.ratioToParseFloor >= 0.8']!),
      ],
      [
        'replay peak RSS',
        r.replay.memory.map((m) => `${m.peakRssMB} MiB at ${m.records} (heap after GC ${m.retainedHeapMB})`).join(', '),
        '',
        'flat',
        '',
      ],
      [
        'handler',
        `${r.handler.eventsPerSecond} events/s vs ${r.handler.rawPutItemPerSecond} PutItem/s`,
        String(r.handler.ratioToRawPutItem),
        '>= 0.8',
        mark(g['handler.ratioToRawPutItem >= 0.8']!),
      ],
      ...Object.keys(r.coldStart.initMs).map((fn) => [
        `cold start ${fn}`,
        `${r.coldStart.initMs[fn]} ms vs bare ${r.coldStart.baselineInitMs} ms; ${r.coldStart.bundleKB[fn]} KiB`,
        String(r.coldStart.ratioToBaseline[fn]),
        '<= 1.2',
        mark(r.coldStart.ratioToBaseline[fn]! <= 1.2),
      ]),
      [
        'revocation',
        `${r.revocation.sessionsPerRoleBudget} sessions in ${r.revocation.policyChars} characters`,
        String(r.revocation.sessionsPerRoleBudget),
        '>= 150',
        mark(g['revocation.sessionsPerRoleBudget >= 150']!),
      ],
      [
        'AWS calls, benign event',
        'one assume of the registered role with its current ID',
        String(r.awsCalls.benignEvent),
        '<= 2',
        mark(g['awsCalls.benignEvent <= 2']!),
      ],
      [
        'AWS calls, revoked session',
        'one assume with a wrong ID, its session revoked',
        String(r.awsCalls.revokedSession),
        '<= 8',
        mark(g['awsCalls.revokedSession <= 8']!),
      ],
      [
        'AWS calls, before the deny',
        'the same event, its calls before the PutRolePolicy that carries the deny',
        String(r.awsCalls.beforeDeny),
        '<= 4',
        mark(g['awsCalls.beforeDeny <= 4']!),
      ],
    ]),
    '',
    `Replay, stage by stage (${r.replay.breakdown.records} records; each stage run twice between floor runs):`,
    table([
      ['stage', 'records/s', 'of the floor'],
      ...r.replay.breakdown.stages.map((s) => [s.stage, String(s.recordsPerSecond), String(s.ratioToParseFloor)]),
    ]),
    `DynamoDB calls in the last stage: ${Object.entries(r.replay.breakdown.dynamodbCalls)
      .map(([k, v]) => `${k} ${JSON.stringify(v)}`)
      .join('; ')}`,
    '',
    `Handler: against the recorder's conditional PutItem ${r.handler.conditionalPutItemPerSecond}/s: ${r.handler.ratioToConditionalPutItem}. By kind: ${Object.entries(
      r.handler.byKind,
    )
      .map(
        ([k, v]) =>
          `${k} ${v.eventsPerSecond}/s vs ${v.rawPutItemPerSecond}/s = ${v.ratioToRawPutItem} (conditional ${v.conditionalPutItemPerSecond}/s = ${v.ratioToConditionalPutItem})`,
      )
      .join('; ')}`,
    '',
    `Cold start in CPU time (ms; ratio to bare ${r.coldStart.baselineCpuInitMs}): ${Object.entries(
      r.coldStart.cpuInitMs,
    )
      .map(([fn, ms]) => `${fn} ${ms} (${r.coldStart.cpuRatioToBaseline[fn]})`)
      .join(', ')}`,
    'Cold start, bare bundles with one more ingredient each (ms):',
    table(Object.entries(r.coldStart.variantsInitMs).map(([k, v]) => [k, String(v)])),
    `on-assume-role bundle by package (KiB): ${calls(r.coldStart.onAssumeRoleKBByPackage)}`,
    ...Object.entries(r.coldStart.initProfileMs).map(
      ([name, p]) => `init self time of ${name}, unminified, by package (ms): ${calls(p)}`,
    ),
    '',
    `AWS calls of the benign event: ${calls(r.awsCalls.byCommand.benignEvent)}`,
    `AWS calls of the revoked session's event: ${calls(r.awsCalls.byCommand.revokedSession)}`,
    ...Object.entries(r.awsCalls.revokedSessionBySteps).map(([step, c]) => `  ${step}: ${calls(c)}`),
  ];
  return `${out.join('\n')}\n`;
}
