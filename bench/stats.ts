/** Small numeric helpers shared by the figures. */

/** The median of some samples (the upper one of the middle two). */
export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Round to two decimals (ratios, milliseconds). */
export const round2 = (x: number): number => Math.round(x * 100) / 100;

/** Progress and diagnostics: stderr only, so that stdout holds the one JSON document. */
export const say = (text: string): void => void process.stderr.write(`bench: ${text}\n`);

/** Run `work(0 … n-1)` with `concurrency` in flight at once. */
export async function pool(n: number, concurrency: number, work: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (next < n) await work(next++);
    }),
  );
}

/** Seconds a promise-returning job took, and its result. */
export async function timed<T>(job: () => Promise<T>): Promise<{ seconds: number; result: T }> {
  const start = performance.now();
  const result = await job();
  return { seconds: (performance.now() - start) / 1000, result };
}

/** Count things by name. */
export const tally = (names: string[]): Record<string, number> =>
  names.reduce<Record<string, number>>((m, c) => {
    m[c] = (m[c] ?? 0) + 1;
    return m;
  }, {});
