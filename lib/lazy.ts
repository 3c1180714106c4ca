declare const builtOnce: unique symbol;

/** A builder made by `once`: it builds on the first call and returns that same value on every later call. */
export type Once<T extends object> = (() => T) & { readonly [builtOnce]: true };

/**
 * A value, or how to build it on first use. A function's cold start builds only the clients every invocation needs
 * (DynamoDB); SNS, IAM and STS are built when an alert, a revocation or a spoke account first needs them. Only a
 * builder made by `once` is accepted (checked at compile time): a plain one would build a new client per call, with
 * no connection reuse and no credential cache.
 */
export type Lazy<T extends object> = T | Once<T>;

/** Build once, on the first call; every later call returns the same value. */
export function once<T extends object>(build: () => T): Once<T> {
  let value: T | undefined;
  const get = () => {
    value ??= build();
    return value;
  };
  return get as Once<T>;
}

/** The value itself (an SDK client is an object, never a function), or the one its builder returns. */
export function built<T extends object>(value: Lazy<T>): T {
  return typeof value === 'function' ? (value as () => T)() : value;
}
