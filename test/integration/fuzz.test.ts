import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { slackSender } from '../../lib/alert/index.js';
import { classifyRecord } from '../../lib/cloudtrail/index.js';
import { createDeps } from '../../lib/deps.js';
import { type HandlerResult, handleCloudTrailEvent } from '../../lib/handle-event.js';
import { parseRegistryText } from '../../lib/registry/text.js';
import { emulatedRevoker } from '../../lib/revoke/respond.js';
import { createSessionsTable, createTestTables, testDynamo } from '../helpers/dynamo.js';
import { type FakeServer, fakeSlack } from '../helpers/fake-aws.js';
import { EVENTS_DIR, SAMPLES_DIR } from '../helpers/fixtures.js';
import { memoryLogger } from '../helpers/logger.js';

// Property-based fuzzing of the parser and the whole pipeline (DynamoDB Local, a real Slack stand-in), seeded from
// the published CloudTrail samples and events/. Every mutated record must be processed or rejected with a reason;
// nothing may throw, hang or leave an unhandled rejection, and no secret may reach a log line or an alert.
const RUNS = 10_000;
const SEED = 20261124;

/** Every record in a file: the Records of a log file, each element of an array, or the document itself. */
function recordsOf(document: unknown): unknown[] {
  if (Array.isArray(document)) return document.flatMap(recordsOf);
  if (typeof document === 'object' && document !== null && Array.isArray((document as { Records?: unknown }).Records))
    return (document as { Records: unknown[] }).Records;
  return [document];
}

const jsonFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? jsonFiles(join(dir, e.name)) : e.name.endsWith('.json') ? [join(dir, e.name)] : [],
  );
const SEEDS = [...jsonFiles(SAMPLES_DIR), ...jsonFiles(EVENTS_DIR)].flatMap((file) =>
  recordsOf(JSON.parse(readFileSync(file, 'utf8'))),
);

/** Paths to every value of a JSON value (objects and arrays), the root included. */
function paths(
  value: unknown,
  prefix: (string | number)[] = [],
  out: (string | number)[][] = [],
): (string | number)[][] {
  out.push(prefix);
  if (prefix.length > 12) return out;
  if (Array.isArray(value)) for (const [i, v] of value.entries()) paths(v, [...prefix, i], out);
  else if (typeof value === 'object' && value !== null)
    for (const [k, v] of Object.entries(value)) paths(v, [...prefix, k], out);
  return out;
}

function deep(depth: number): unknown {
  let value: unknown = 'bottom';
  for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { nested: value };
  return value;
}

// What a mutation puts in place of a value.
const hostile = fc.oneof(
  fc.constantFrom<unknown>(null, undefined, true, false, 0, -1, 1e308, Number.NaN, '', [], {}, 'null', 'true', '0'),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.integer(),
  fc.double(),
  fc.constantFrom(
    'Feb 30, 2026, 25:61:61 PM',
    '2026-13-45T99:99:99Z',
    'not a date',
    '0000-00-00T00:00:00Z',
    '+275760-09-13T00:00:00.001Z',
    '1970-01-01T00:00:00Z',
  ),
  fc.constantFrom('\uD800', '\uDFFF\uD800', 'caf\u00e9\u0000', '\u202Eevil', '\x1b[31mred', 'a\r\nb'),
  fc.constantFrom(
    '<!channel>',
    '<!here|here>',
    '*bold* _it_ ~s~ `code`',
    '<https://evil.example|click>',
    '@everyone',
    '&lt;&gt;&amp;',
  ),
  fc.integer({ min: 1, max: 3 }).map((n) => 'x'.repeat(10 ** (n + 2) * 3)),
  fc.integer({ min: 10, max: 4000 }).map(deep),
  fc
    .constantFrom('__proto__', 'constructor', 'prototype')
    .map((key) => JSON.parse(`{"${key}": {"polluted": true}, "eventName": "AssumeRole"}`) as unknown),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
);

type Mutation =
  | { kind: 'set'; at: number; value: unknown }
  | { kind: 'delete'; at: number }
  | { kind: 'key'; at: number; key: string; value: unknown };
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: hostile }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('key' as const),
    at: fc.nat(),
    key: fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'Records', 'detail'),
    value: hostile,
  }),
);

/** Apply mutations to a deep copy of a seed. Keys such as `__proto__` become own properties, as JSON.parse makes them. */
function mutate(seed: unknown, mutations: Mutation[]): unknown {
  let root: unknown = JSON.parse(JSON.stringify(seed));
  for (const m of mutations) {
    const all = paths(root);
    const path = all[m.at % all.length]!;
    if (path.length === 0) {
      if (m.kind === 'set') root = m.value;
      continue;
    }
    let parent: any = root;
    for (const p of path.slice(0, -1)) parent = parent[p];
    const last = path[path.length - 1]!;
    if (m.kind === 'set') parent[last] = m.value;
    else if (m.kind === 'delete') {
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete parent[last];
    } else if (typeof parent[last] === 'object' && parent[last] !== null && !Array.isArray(parent[last])) {
      Object.defineProperty(parent[last], m.key, {
        value: m.value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  }
  return root;
}

/** A seed with its own event id (so the pipeline records it rather than calling it a redelivery), then mutated. */
function fresh(seed: unknown, n: number): unknown {
  const copy = JSON.parse(JSON.stringify(seed)) as Record<string, any>;
  const target = typeof copy.detail === 'object' && copy.detail !== null ? copy.detail : copy;
  if (typeof target.eventID === 'string') target.eventID = `${target.eventID}-${n}`;
  return copy;
}

/** A CloudTrail record as EventBridge delivers it to the capture function. */
function envelope(record: unknown): unknown {
  if (typeof record === 'object' && record !== null && 'detail' in record) return record;
  const r = (record ?? {}) as Record<string, unknown>;
  return {
    version: '0',
    id: 'fuzz-envelope',
    'detail-type': 'AWS API Call via CloudTrail',
    source: 'aws.sts',
    account: r.recipientAccountId ?? '111122223333',
    time: r.eventTime ?? '2026-11-24T12:00:00Z',
    region: r.awsRegion ?? 'us-east-1',
    resources: [],
    detail: record,
  };
}

const mutated = (wrap: (r: unknown) => unknown) =>
  fc
    .tuple(
      fc.nat({ max: SEEDS.length - 1 }),
      fc.array(mutation, { minLength: 1, maxLength: 4 }),
      fc.nat(),
      fc.boolean(),
    )
    // Half the events get a single mutation, so that more of them reach detection and alerts.
    .map(([i, ms, n, light]) => mutate(wrap(fresh(SEEDS[i], n)), light ? ms.slice(0, 1) : ms));
/** Mutated records, for the parser. */
const eventArb = mutated((r) => r);
/** Mutated EventBridge events, for the capture function's handler. */
const envelopeArb = mutated(envelope);

// Assumes of the registered role with attacker-chosen fields: every one is a finding, so alerts carry them.
const injected = fc.constantFrom(
  '<!channel>',
  '<!here>',
  '<https://evil.example|click here>',
  '*urgent* `rm -rf`',
  '\u0007\u001b[2J',
  'line\nbreak',
  '&amp;<b>x</b>',
  '@channel',
);
const vendorArb = fc
  .record({
    n: fc.nat(),
    externalId: fc.stringMatching(/^[A-Za-z0-9=,.@:/_-]{8,40}$/).map((id) => `XID${id}`),
    session: fc.oneof(fc.stringMatching(/^[\w+=,.@-]{2,64}$/), injected),
    agent: fc.oneof(fc.string({ maxLength: 80 }), injected),
    ip: fc.oneof(fc.ipV4(), injected),
    account: fc.constantFrom('999988887777', '444455556666'),
  })
  .map((v) => {
    const r = JSON.parse(readFileSync(join(EVENTS_DIR, 'eventbridge-assume-role-wrong-external-id.json'), 'utf8')) as {
      detail: Record<string, any>;
    };
    Object.assign(r.detail, {
      eventID: `vendor-${v.n}`,
      userAgent: v.agent,
      sourceIPAddress: v.ip,
      userIdentity: { type: 'AWSAccount', principalId: `AIDA${v.n}`, accountId: v.account },
    });
    Object.assign(r.detail.requestParameters, { externalId: v.externalId, roleSessionName: v.session });
    r.detail.responseElements.assumedRoleUser.assumedRoleId = `AROA3XFRBF23EXAMPLE1:${v.session}`;
    r.detail.responseElements.credentials.sessionToken = `IQoJb3JpZ2luX2VjE${v.n}SECRETTOKEN`;
    return r as unknown;
  });

const STATUSES = new Set(['recorded', 'duplicate', 'trust-policy-change', 'ignored', 'rejected']);

describe('fuzzing the parser and the pipeline with mutated CloudTrail events', () => {
  let doc: DynamoDBDocumentClient;
  let slack: FakeServer;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => void unhandled.push(reason);

  beforeAll(async () => {
    doc = testDynamo();
    slack = await fakeSlack();
    process.on('unhandledRejection', onUnhandled);
  });
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    await slack.close();
    doc.destroy();
  });

  it(`has seeds: every published sample and every event under events/ (${SEEDS.length} records)`, () => {
    expect(SEEDS.length).toBeGreaterThan(20);
  });

  it(`classifies ${RUNS} mutated records without throwing, each classified or rejected with a reason`, () => {
    const counts: Record<string, number> = {};
    fc.assert(
      fc.property(eventArb, (record) => {
        const out = classifyRecord(record, { recordAwsServiceAssumes: false });
        counts[out.kind] = (counts[out.kind] ?? 0) + 1;
        if (out.kind === 'rejected') return typeof out.reason === 'string' && out.reason.length > 0;
        if (out.kind === 'ignored') return typeof out.reason === 'string' && out.reason.length > 0;
        return out.kind === 'assume' || out.kind === 'trust-policy-change' || out.kind === 'role-change';
      }),
      { numRuns: RUNS, seed: SEED },
    );
    // Object.prototype was never touched by a `__proto__` key.
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    process.stdout.write(`fuzz (parser): ${RUNS} mutated records: ${JSON.stringify(counts)}; crashes 0\n`);
  });

  it(`runs ${RUNS} mutated events through the whole pipeline: processed or rejected with a reason, no crash, no secret in logs or alerts`, async () => {
    // No merge window: every finding alerts, so every alert is checked.
    const config = await createTestTables(doc, await createSessionsTable(doc), { alertWindowSeconds: 0 });
    const { logger, lines } = memoryLogger();
    const registry = parseRegistryText(readFileSync(join(EVENTS_DIR, 'registry.yaml'), 'utf8'), 'registry.yaml');
    const webhook = `${slack.url}/services/T0/B0/fuzz-secret-webhook-path`;
    const deps = createDeps(config, {
      dynamo: doc,
      logger,
      registry,
      senders: { slack: slackSender(webhook) },
      revoker: emulatedRevoker(),
      now: () => new Date('2026-11-24T12:00:00Z'),
    });
    // Three in four mutated seeds, one in four assumes of the registered role with hostile fields.
    const records = fc.sample(fc.oneof({ arbitrary: envelopeArb, weight: 3 }, { arbitrary: vendorArb, weight: 1 }), {
      numRuns: RUNS,
      seed: SEED + 1,
    });
    const outcomes: Record<string, number> = {};
    const crashes: string[] = [];
    let findings = 0;
    const externalIds = new Set<string>();
    const tokens = new Set<string>();
    for (const r of records) {
      const detail = (r as { detail?: unknown } | null)?.detail ?? r;
      const params = (detail as { requestParameters?: { externalId?: unknown } } | null)?.requestParameters;
      // Only the vendor events' IDs and tokens are distinctive (a mutated seed reuses one hostile value in many fields).
      if (typeof params?.externalId === 'string' && params.externalId.startsWith('XID'))
        externalIds.add(params.externalId);
      const token = (detail as { responseElements?: { credentials?: { sessionToken?: unknown } } } | null)
        ?.responseElements?.credentials?.sessionToken;
      if (typeof token === 'string' && token.includes('SECRETTOKEN')) tokens.add(token);
    }
    const started = Date.now();
    // 16 at a time, as the replay runs them.
    for (let i = 0; i < records.length; i += 16) {
      await Promise.all(
        records.slice(i, i + 16).map(async (record) => {
          let outcome: HandlerResult;
          try {
            outcome = await handleCloudTrailEvent(record, deps);
          } catch (error) {
            crashes.push(`${(error as Error).name}: ${(error as Error).message}`.slice(0, 300));
            return;
          }
          outcomes[outcome.status] = (outcomes[outcome.status] ?? 0) + 1;
          findings += outcome.findings ?? 0;
          if (!STATUSES.has(outcome.status)) crashes.push(`unknown status ${outcome.status}`);
          if (outcome.status === 'rejected' && !(typeof outcome.reason === 'string' && outcome.reason.length > 0))
            crashes.push('rejected without a reason');
        }),
      );
    }
    const seconds = (Date.now() - started) / 1000;
    await new Promise((r) => setTimeout(r, 50));
    const alerts = slack.received.map((r) => r.body);
    const everything = [...lines, ...alerts].join('\n');
    const leakedIds = [...externalIds].filter((id) => everything.includes(id));
    const leakedTokens = [...tokens].filter((t) => everything.includes(t));
    process.stdout.write(
      `fuzz (capture handler and pipeline): ${RUNS} mutated EventBridge events in ${seconds.toFixed(1)} s: ${JSON.stringify(outcomes)}; findings ${findings}; alerts ${alerts.length}; log lines ${lines.length}; ` +
        `crashes ${crashes.length}; unhandled rejections ${unhandled.length}; external IDs checked ${externalIds.size}, leaked ${leakedIds.length}; tokens checked ${tokens.size}, leaked ${leakedTokens.length}\n`,
    );
    const where = (secret: string) =>
      everything
        .split('\n')
        .filter((l) => l.includes(secret))
        .slice(0, 2)
        .map((l) => l.slice(0, 400));
    if (leakedIds.length || leakedTokens.length)
      process.stdout.write(
        `LEAKS ${JSON.stringify([...leakedIds, ...leakedTokens].slice(0, 6).map(where), null, 1)}\n`,
      );
    expect(crashes).toEqual([]);
    expect(unhandled).toEqual([]);
    expect(Object.values(outcomes).reduce((a, b) => a + b, 0)).toBe(RUNS);
    expect(leakedIds).toEqual([]);
    expect(leakedTokens).toEqual([]);
    expect(everything).not.toContain('fuzz-secret-webhook-path');
    expect(everything).not.toContain(slack.url);
    // Slack mrkdwn from events never reaches an alert as markup: no broadcast mention survives escaping.
    for (const body of alerts) expect(body).not.toMatch(/<!(channel|here|everyone)|<https:\/\/evil/);
  }, 600_000);
});
