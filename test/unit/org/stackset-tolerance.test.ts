import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { ROOT } from '../../helpers/fixtures.js';

// serverless/org.cjs: the spoke StackSets' failure tolerance (a count) and their concurrency, from the stage params.
const org = createRequire(import.meta.url)(join(ROOT, 'serverless', 'org.cjs'));
const resolving = (value: string | null) => ({
  resolveVariable: async (name: string) => {
    if (name !== "param:spokeFailureToleranceCount, ''") throw new Error(`unexpected variable ${name}`);
    return value;
  },
});

describe('the spoke StackSets’ failure tolerance (param spokeFailureToleranceCount)', () => {
  it('is a count of accounts per Region, and the concurrency is that plus one', async () => {
    for (const [value, tolerance] of [
      ['0', 0],
      ['3', 3],
      ['10', 10],
      [' 100 ', 100],
    ] as const) {
      expect(await org.spokeFailureToleranceCount(resolving(value))).toBe(tolerance);
      expect(await org.spokeMaxConcurrentCount(resolving(value))).toBe(tolerance + 1);
    }
  });

  it('refuses anything else, naming the value', async () => {
    for (const value of ['', 'ten', '-1', '2.5', '101', '10%', null])
      await expect(org.spokeFailureToleranceCount(resolving(value))).rejects.toThrow(
        /^spokeFailureToleranceCount must be a whole number of accounts per Region, 0 to 100, got /,
      );
  });
});
