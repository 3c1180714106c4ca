import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { IAMClient } from '@aws-sdk/client-iam';
import { createDeps, type Deps } from '../lib/deps.js';
import { loadConfig } from '../lib/config.js';
import { createLogger } from '../lib/logger.js';
import { processRecord } from '../lib/pipeline.js';
import { parseRegistryText } from '../lib/registry/text.js';
import { runReplay } from '../lib/replay/run-replay.js';
import { fitToBudget, mergeRevocations, EMPTY_STATE, policySize, renderRevocationPolicy, ROLE_INLINE_POLICY_BUDGET } from '../lib/revoke/policy.js';
import { liveRevoker } from '../lib/revoke/service.js';
import { createRevocationStore } from '../lib/revoke/store.js';
import { sessionRevocation, type Revoker } from '../lib/revoke/respond.js';
import { assume } from './corpus.js';

const run = promisify(execFile);
export const REGISTRY = `roles:
  - roleArn: arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit
    vendor: Example Corp
    trustedAccounts: ["999988887777"]
    externalIds: { current: "ec-7Hq2vN9xK4pL8mR3" }
    response: revoke
`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Deps on the given tables of a DynamoDB Local, with a fixed registry; nothing is sent anywhere. */
export function benchDeps(dynamo: DynamoDBDocumentClient, prefix: string, revoker?: Revoker, now?: () => Date): Deps {
  const config = loadConfig({ SESSIONS_TABLE: `${prefix}-sessions`, REGISTRY_TABLE: `${prefix}-registry`, ALERTS_TABLE: `${prefix}-alerts`, REVOCATIONS_TABLE: `${prefix}-revocations` });
  return createDeps(config, { dynamo, logger: createLogger({ level: 'ERROR' }), registry: parseRegistryText(REGISTRY, 'bench'), ...(revoker ? { revoker } : {}), ...(now ? { now } : {}) });
}

/** Replay throughput against the floor of gunzip + JSON.parse of the same files, side by side, alternating. */
export async function measureReplay(dir: string, deps: () => Deps, rounds: number): Promise<{ records: number; recordsPerSecond: number; parseFloorPerSecond: number; ratioToParseFloor: number; peakRssMB: number }> {
  const files = readdirSync(dir).map((f) => join(dir, f));
  let records = 0;
  const floor: number[] = [];
  const replay: number[] = [];
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  try {
    for (let round = 0; round < rounds; round++) {
      let t = performance.now();
      records = 0;
      for (const file of files) records += (JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')) as { Records: unknown[] }).Records.length;
      floor.push(records / ((performance.now() - t) / 1000));
      t = performance.now();
      const report = await runReplay(deps(), { paths: [dir], concurrency: 16 });
      replay.push(report.summary.eventsRead / ((performance.now() - t) / 1000));
    }
  } finally {
    clearInterval(sampler);
  }
  const recordsPerSecond = median(replay);
  const parseFloorPerSecond = median(floor);
  return { records, recordsPerSecond: Math.round(recordsPerSecond), parseFloorPerSecond: Math.round(parseFloorPerSecond), ratioToParseFloor: round2(recordsPerSecond / parseFloorPerSecond), peakRssMB: Math.round(peak / 1048576) };
}

/** The capture handler's path (record, detect) on benign assumes, against raw PutItem of same-size items. */
export async function measureHandler(dynamo: DynamoDBDocumentClient, deps: Deps, events: number): Promise<{ events: number; eventsPerSecond: number; rawPutItemPerSecond: number; ratioToRawPutItem: number }> {
  const at = (i: number) => new Date(Date.parse('2026-11-01T00:00:00Z') + i * 1000).toISOString().replace('.000Z', 'Z');
  // Benign assumes as a trail has them: one in five of a guarded role (with its current ID), the rest of other roles.
  const records = Array.from({ length: events }, (_, i) => assume(1_000_000 + i, at(i), () => 0.5, { guarded: i % 5 === 0, wrong: false }));
  // A recorded item, as the raw writes' template: the same size.
  await processRecord(assume(999_999, at(0), () => 0.5, { guarded: true, wrong: false }), deps);
  const template = (await dynamo.send(new GetCommand({ TableName: deps.config.sessionsTable, Key: { pk: '111122223333#assume-999999' } }))).Item!;
  const pool = async (n: number, work: (i: number) => Promise<unknown>) => {
    let next = 0;
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (next < n) await work(next++);
    }));
  };
  const handler: number[] = [];
  const raw: number[] = [];
  const block = Math.ceil(events / 4);
  for (let b = 0; b < 4; b++) {
    const slice = records.slice(b * block, (b + 1) * block);
    let t = performance.now();
    await pool(slice.length, (i) => processRecord(slice[i], deps));
    handler.push(slice.length / ((performance.now() - t) / 1000));
    t = performance.now();
    await pool(slice.length, (i) => dynamo.send(new PutCommand({ TableName: deps.config.sessionsTable, Item: { ...template, pk: `raw#${b}#${i}` } })));
    raw.push(slice.length / ((performance.now() - t) / 1000));
  }
  const eventsPerSecond = median(handler);
  const rawPutItemPerSecond = median(raw);
  return { events, eventsPerSecond: Math.round(eventsPerSecond), rawPutItemPerSecond: Math.round(rawPutItemPerSecond), ratioToRawPutItem: round2(eventsPerSecond / rawPutItemPerSecond) };
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/** Bundle like serverless.yml's custom.esbuild does. */
async function bundle(entry: string, outfile: string, contents?: string): Promise<void> {
  await build({
    ...(contents ? { stdin: { contents, resolveDir: process.cwd(), loader: 'ts' } } : { entryPoints: [entry] }),
    outfile, bundle: true, minify: true, platform: 'node', format: 'esm', target: 'node20', mainFields: ['module', 'main'], logLevel: 'silent',
    banner: { js: "import { createRequire as __roleguardCreateRequire } from 'node:module'; const require = __roleguardCreateRequire(import.meta.url);" },
  });
}

const BARE = `import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { IAMClient } from '@aws-sdk/client-iam';
import { SNSClient } from '@aws-sdk/client-sns';
import { getParameter } from '@aws-lambda-powertools/parameters/ssm';
import { Logger } from '@aws-lambda-powertools/logger';
import middy from '@middy/core';
const clients = [DynamoDBDocumentClient.from(new DynamoDBClient({})), new IAMClient({}), new SNSClient({}), new Logger(), getParameter];
export const handler = middy(async () => clients.length);
`;

/** Each function's bundle, and a bare one with the same SDK clients and middy: a fresh Node process imports it. */
export async function measureColdStart(dir: string, env: Record<string, string>, repeats: number): Promise<{ initMs: Record<string, number>; baselineInitMs: number; ratioToBaseline: Record<string, number>; bundleKB: Record<string, number> }> {
  mkdirSync(dir, { recursive: true });
  const functions = readdirSync('functions').filter((f) => f.endsWith('.ts')).map((f) => f.replace(/\.ts$/, ''));
  const bundles: Record<string, string> = {};
  for (const fn of functions) {
    bundles[fn] = join(dir, `${fn}.mjs`);
    await bundle(join('functions', `${fn}.ts`), bundles[fn]!);
  }
  const bare = join(dir, 'bare.mjs');
  await bundle('', bare, BARE);
  // The bundles resolve nothing outside themselves; node_modules is not on their path.
  const probe = join(dir, 'probe.mjs');
  writeFileSync(probe, "const t = performance.now(); const m = await import(process.argv[2]); if (typeof m.handler !== 'function') throw new Error('no handler'); process.stdout.write(String(performance.now() - t));\n");
  const time = async (file: string) => Number((await run(process.execPath, [probe, `file://${file}`], { env: { ...process.env, ...env } })).stdout);
  const samples: Record<string, number[]> = { bare: [] };
  for (let r = 0; r < repeats; r++) {
    samples.bare!.push(await time(bare));
    for (const fn of functions) (samples[fn] ??= []).push(await time(bundles[fn]!));
  }
  const baselineInitMs = median(samples.bare!);
  const initMs: Record<string, number> = {};
  const ratioToBaseline: Record<string, number> = {};
  const bundleKB: Record<string, number> = { bare: Math.round(statSync(bare).size / 1024) };
  for (const fn of functions) {
    initMs[fn] = round2(median(samples[fn]!));
    ratioToBaseline[fn] = round2(initMs[fn]! / baselineInitMs);
    bundleKB[fn] = Math.round(statSync(bundles[fn]!).size / 1024);
  }
  return { initMs, baselineInitMs: round2(baselineInitMs), ratioToBaseline, bundleKB };
}

/** How many distinct sessions, revoked at one decision time, fit one role's 10,240-character inline budget. */
export function measureRevocationCapacity(): { sessionsPerRoleBudget: number; policyChars: number } {
  const decidedAt = '2026-11-02T10:05:03Z';
  let state = EMPTY_STATE;
  let fitting = 0;
  let chars = 0;
  for (let n = 1; n <= 2000; n++) {
    // Realistic ids: a 21-character role id and a vendor's typical session name.
    const next = mergeRevocations(state, sessionRevocation({ assumedRoleId: `AROA3XFRBF23EXAMPLE1:ExampleCorp-scan-${1730591251 + n}`, issuedAt: '2026-11-02T10:05:00Z', expiresAt: '2026-11-02T11:05:00Z', now: new Date(decidedAt) }));
    if (fitToBudget(next, 0, ROLE_INLINE_POLICY_BUDGET).fellBack) break;
    state = next;
    fitting = n;
    chars = policySize(renderRevocationPolicy(state));
  }
  return { sessionsPerRoleBudget: fitting, policyChars: chars };
}

/** AWS calls per event, counted at the SDK clients: a benign assume, and the revocation of one session. */
export async function measureAwsCalls(dynamo: DynamoDBDocumentClient, prefix: string): Promise<{ benignEvent: number; revokedSession: number; byCommand: Record<string, Record<string, number>> }> {
  const calls: string[] = [];
  dynamo.middlewareStack.add((next, context) => async (args) => {
    calls.push(`dynamodb:${String(context.commandName).replace(/Command$/, '')}`);
    return next(args);
  }, { step: 'initialize', name: 'benchCountCalls' });
  // IAM: a mock that records the calls and keeps the inline policies (it bypasses the middleware stack).
  const require = createRequire(import.meta.url);
  const { mockClient } = require('aws-sdk-client-mock') as typeof import('aws-sdk-client-mock');
  const iamSdk = require('@aws-sdk/client-iam') as typeof import('@aws-sdk/client-iam');
  const mock = mockClient(iamSdk.IAMClient);
  const policies = new Map<string, string>();
  mock.on(iamSdk.GetRolePolicyCommand).callsFake(async (input: { RoleName: string; PolicyName: string }) => {
    calls.push('iam:GetRolePolicy');
    const doc = policies.get(`${input.RoleName}/${input.PolicyName}`);
    if (!doc) throw new iamSdk.NoSuchEntityException({ message: 'none', $metadata: {} });
    return { PolicyDocument: encodeURIComponent(doc) };
  });
  mock.on(iamSdk.ListRolePoliciesCommand).callsFake(async () => (calls.push('iam:ListRolePolicies'), { PolicyNames: [] }));
  mock.on(iamSdk.PutRolePolicyCommand).callsFake(async (input: { RoleName: string; PolicyName: string; PolicyDocument: string }) => (calls.push('iam:PutRolePolicy'), policies.set(`${input.RoleName}/${input.PolicyName}`, input.PolicyDocument), {}));
  try {
    const revokerDeps = { iam: new IAMClient({ region: 'us-east-1' }), dynamo, store: createRevocationStore(dynamo, `${prefix}-revocations`), logger: createLogger({ level: 'ERROR' }) };
    const live = liveRevoker(revokerDeps);
    let revocationCalls: string[] = [];
    const counting: Revoker = {
      async revokeSession(session) {
        const before = calls.length;
        const out = await live.revokeSession(session);
        revocationCalls = calls.slice(before);
        return out;
      },
    };
    const now = new Date();
    const deps = benchDeps(dynamo, prefix, counting, () => now);
    const at = new Date(Math.floor(now.getTime() / 1000) * 1000 - 5000).toISOString().replace('.000Z', 'Z');
    // Warm: the registry (and its rotations) is read once per cache period, not per event.
    await processRecord(assume(5_000_000, at, () => 0.5, { guarded: false }), deps);
    calls.length = 0;
    await processRecord(assume(5_000_001, at, () => 0.5, { guarded: true, wrong: false }), deps);
    const benign = [...calls];
    calls.length = 0;
    await processRecord(assume(5_000_002, at, () => 0.5, { guarded: true, wrong: true }), deps);
    const offending = [...calls];
    const tally = (xs: string[]) => xs.reduce<Record<string, number>>((m, c) => ((m[c] = (m[c] ?? 0) + 1), m), {});
    return { benignEvent: benign.length, revokedSession: revocationCalls.length, byCommand: { benignEvent: tally(benign), revokedSession: tally(revocationCalls), offendingEventInAll: tally(offending) } };
  } finally {
    mock.restore();
  }
}
