import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { createDeps } from '../lib/deps.js';
import { createLogger } from '../lib/logger.js';
import { processRecord } from '../lib/pipeline.js';
import { createRegistryStore } from '../lib/registry/index.js';
import { sessionKey } from '../lib/sessions/item.js';
import { prng } from '../test/helpers/prng.js';
import { ACCOUNT, assumeRecord, type CtRecord } from './records.js';
import { median, pool, round2, say, timed } from './stats.js';
import { type BenchStore, benchConfig } from './store.js';

interface Rates {
  eventsPerSecond: number;
  rawPutItemPerSecond: number;
  ratioToRawPutItem: number;
  conditionalPutItemPerSecond: number;
  ratioToConditionalPutItem: number;
}

/** The handler figure of contract §3, and the rate of each kind of benign assume on its own. */
export interface HandlerFigure {
  events: number;
  eventsPerSecond: number;
  rawPutItemPerSecond: number;
  ratioToRawPutItem: number;
  concurrency: number;
  conditionalPutItemPerSecond: number;
  ratioToConditionalPutItem: number;
  byKind: Record<'unregisteredRole' | 'registeredRole', Rates>;
}

const CONCURRENCY = 16;

/**
 * The capture path of the deployed onAssumeRole function (`processRecord` with `createDeps`, the registry read from
 * its table and cached, the revocations table configured) on benign assumes, against plain `PutItem`s of the very
 * items it wrote (new keys) to a sessions table of the same design, 16 at a time each, in blocks of rotating order.
 * The same PutItems with the recorder's condition are timed too, to tell DynamoDB Local's cost of the condition apart.
 */
export async function measureHandler(store: BenchStore, perBlock: number, blocks: number): Promise<HandlerFigure> {
  const tables = await store.freshTables();
  const raw = await store.freshTables();
  await createRegistryStore(store.dynamo, tables.registry).replace(store.registry);
  const deps = createDeps(benchConfig(tables), { dynamo: store.dynamo, logger: createLogger({ level: 'WARN' }) });
  const random = prng(7);
  const at = new Date(Date.now() - 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  let n = 0;
  // One in eight is the vendor's assume of the registered role with its current ID, as in the replay corpus.
  const next = (kind: 'app' | 'vendor'): CtRecord => assumeRecord(random, at, kind, 5_000_000 + n++);
  let items: Record<string, unknown>[] = [];
  let rawBlock = 0;
  const handlerBlock = async (kind: 'app' | 'vendor' | 'mix') => {
    const records = Array.from({ length: perBlock }, (_, i) =>
      next(kind === 'mix' ? (i % 8 === 0 ? 'vendor' : 'app') : kind),
    );
    const { seconds } = await timed(() =>
      pool(perBlock, CONCURRENCY, async (i) => {
        const outcome = await processRecord(records[i], deps);
        if (outcome.status !== 'recorded' || outcome.findings.length)
          throw new Error(`not a benign recorded assume: ${outcome.status}`);
      }),
    );
    // The items just written, as they are in the table, for the raw writes.
    items = await Promise.all(
      records
        .slice(0, 64)
        .map(
          async (r) =>
            (
              await store.dynamo.send(
                new GetCommand({ TableName: tables.sessions, Key: { pk: sessionKey(ACCOUNT, r.eventID as string) } }),
              )
            ).Item!,
        ),
    );
    return perBlock / seconds;
  };
  // Plain PutItem; and, to tell the condition's cost apart, the recorder's own conditional PutItem.
  const rawPutBlock = async (conditional: boolean) => {
    const block = rawBlock++;
    const condition = conditional
      ? { ConditionExpression: 'attribute_not_exists(pk)', ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const }
      : {};
    const { seconds } = await timed(() =>
      pool(perBlock, CONCURRENCY, (i) =>
        store.dynamo.send(
          new PutCommand({
            TableName: raw.sessions,
            Item: { ...items[i % items.length], pk: `raw#${block}#${i}` },
            ...condition,
          }),
        ),
      ),
    );
    return perBlock / seconds;
  };
  // The three in a rotating order; the raw writes put the items of the latest handler block of the same kind.
  const run = async (kind: 'app' | 'vendor' | 'mix', b: number) => {
    const rates = { handler: 0, raw: 0, conditional: 0 };
    const jobs = {
      handler: () => handlerBlock(kind),
      raw: () => rawPutBlock(false),
      conditional: () => rawPutBlock(true),
    };
    const order = (['handler', 'raw', 'conditional'] as const).map((_, k, all) => all[(k + b) % all.length]!);
    for (const what of order) rates[what] = await jobs[what]();
    return rates;
  };
  await run('mix', 0); // warm: the registry read, connections, JIT
  const figure = async (kind: 'app' | 'vendor' | 'mix', count: number) => {
    const samples = [];
    await handlerBlock(kind); // the raw writes' items are of this kind
    for (let b = 0; b < count; b++) samples.push(await run(kind, b));
    const eventsPerSecond = median(samples.map((s) => s.handler));
    const rawPutItemPerSecond = median(samples.map((s) => s.raw));
    const conditional = median(samples.map((s) => s.conditional));
    return {
      eventsPerSecond: Math.round(eventsPerSecond),
      rawPutItemPerSecond: Math.round(rawPutItemPerSecond),
      ratioToRawPutItem: round2(eventsPerSecond / rawPutItemPerSecond),
      conditionalPutItemPerSecond: Math.round(conditional),
      ratioToConditionalPutItem: round2(eventsPerSecond / conditional),
    };
  };
  const mix = await figure('mix', blocks);
  say(`handler: ${mix.eventsPerSecond} events/s vs ${mix.rawPutItemPerSecond} PutItem/s`);
  const unregisteredRole = await figure('app', Math.max(1, Math.ceil(blocks / 2)));
  const registeredRole = await figure('vendor', Math.max(1, Math.ceil(blocks / 2)));
  return { events: perBlock * blocks, ...mix, concurrency: CONCURRENCY, byKind: { unregisteredRole, registeredRole } };
}
