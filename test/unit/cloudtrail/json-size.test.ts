import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { jsonBytesWithin } from '../../../lib/cloudtrail/json-size.js';
import type { Deps } from '../../../lib/deps.js';
import { MAX_RECORD_BYTES, processRecord } from '../../../lib/pipeline.js';
import { assumeRecord } from '../../helpers/fixtures.js';

const exact = (value: unknown): number | null => {
  try {
    return Buffer.byteLength(JSON.stringify(value));
  } catch {
    return null;
  }
};

// Strings with what JSON.stringify escapes or widens: control characters, quotes, backslashes, non-ASCII, emoji and
// lone surrogates.
const awkward = fc.string({
  unit: fc.constantFrom('a', '"', '\\', '\n', '\u0001', '\u001f', 'é', '€', '😀', '\ud800', '\udfff', '/'),
  maxLength: 40,
});
const json = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    awkward,
    fc.double(),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(awkward, tie('value'), { maxKeys: 5 }),
  ),
})).value;

describe('jsonBytesWithin: the serialised size, bounded cheaply where it cannot matter', () => {
  it('is over the limit exactly when JSON.stringify would be, and exact whenever it is', () => {
    fc.assert(
      fc.property(json, fc.nat({ max: 4000 }), (value, limit) => {
        const size = jsonBytesWithin(value, limit);
        const real = exact(value);
        expect(size === null).toBe(real === null);
        if (size === null || real === null) return;
        expect(size > limit).toBe(real > limit);
        if (size > limit) expect(size).toBe(real);
        else expect(size).toBeGreaterThanOrEqual(real);
      }),
      { numRuns: 3000 },
    );
  });

  it('bounds the longest numbers JSON.stringify writes, so that many of them are not under-counted', () => {
    for (const n of [-0.0000012345678901234567, -1.2345678901234567e-308, -1.2345678901234568e21, -1e-7]) {
      const value = { eventName: 'AssumeRole', requestParameters: { n: Array(1000).fill(n) } };
      const real = exact(value)!;
      expect(jsonBytesWithin(value, real - 1)).toBe(real);
      expect(jsonBytesWithin(value, real)).toBeGreaterThanOrEqual(real);
    }
  });

  it('measures exactly what the walk does not bound: toJSON, undefined members, class instances, deep nesting', () => {
    const cases: unknown[] = [
      { at: new Date(0) },
      { toJSON: () => 'x'.repeat(50) },
      { a: undefined, b: 1 },
      [undefined, () => 1],
      new Map([[1, 2]]),
      Object.create(null),
    ];
    let deep: unknown = 'leaf';
    for (let i = 0; i < 200; i++) deep = { d: deep };
    cases.push(deep);
    for (const value of cases) expect(jsonBytesWithin(value, 0)).toBe(exact(value));
    for (const value of cases) expect(jsonBytesWithin(value, 1 << 20)).toBeGreaterThanOrEqual(exact(value)!);
  });

  it('is null for what cannot be serialised: a cycle, a BigInt, nesting deeper than V8 writes', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(jsonBytesWithin(cyclic, 1 << 20)).toBeNull();
    expect(jsonBytesWithin({ n: 1n }, 1 << 20)).toBeNull();
    let deep: unknown = 1;
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(jsonBytesWithin(deep, 1 << 20)).toBeNull();
  });
});

describe('processRecord: the record size limit', () => {
  // Rejected before any store call: nothing else of deps is read.
  const deps = { config: { recordAwsServiceAssumes: false } } as unknown as Deps;

  it('rejects an assume over the limit with its exact size', async () => {
    // Parsed here, as a handler parses its event: the fixture's structuredClone makes objects of another realm.
    const record = JSON.parse(
      JSON.stringify(assumeRecord({ additionalEventData: { note: `é${'x'.repeat(MAX_RECORD_BYTES)}` } })),
    );
    const outcome = await processRecord(record, deps);
    expect(outcome).toEqual({
      status: 'rejected',
      reason: `record is ${exact(record)} bytes, over the ${MAX_RECORD_BYTES}-byte record limit`,
    });
  });

  it('rejects an assume that cannot be serialised', async () => {
    const record = JSON.parse(JSON.stringify(assumeRecord()));
    (record.requestParameters as Record<string, unknown>).loop = record;
    expect(await processRecord(record, deps)).toEqual({
      status: 'rejected',
      reason: 'record cannot be serialised (nested too deeply or cyclic)',
    });
  });
});
