/**
 * A value, or how to build it on first use. A function's cold start builds only the clients every invocation needs
 * (DynamoDB); SNS, IAM and STS are built when an alert, a revocation or a spoke account first needs them.
 */
export type Lazy<T extends object> = T | (() => T);

/** Build once, on the first call; every later call returns the same value. */
export function once<T extends object>(build: () => T): () => T {
  let value: T | undefined;
  return () => {
    value ??= build();
    return value;
  };
}

/** The value itself (an SDK client is an object, never a function), or the one its builder returns. */
export function built<T extends object>(value: Lazy<T>): T {
  return typeof value === 'function' ? (value as () => T)() : value;
}
