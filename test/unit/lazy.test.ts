import { describe, expect, it } from '@jest/globals';
import { built, type Lazy, once } from '../../lib/lazy.js';

describe('once and built: a client built at its first use, and only then', () => {
  it('builds on the first call only, and every caller gets the same value', () => {
    let builds = 0;
    const client = once(() => ({ n: ++builds }));
    expect(builds).toBe(0);
    const lazy: Lazy<{ n: number }> = client;
    expect(built(lazy)).toBe(built(lazy));
    expect(client()).toBe(built(lazy));
    expect(builds).toBe(1);
  });

  it('passes a value through as it is', () => {
    const value = { n: 1 };
    expect(built(value)).toBe(value);
  });

  it('takes no plain builder, which would build a new client on every call (a compile-time check)', () => {
    // @ts-expect-error: only a builder made by once() is a Lazy.
    const plain: Lazy<{ n: number }> = () => ({ n: 1 });
    expect(built(plain)).not.toBe(built(plain));
  });
});
