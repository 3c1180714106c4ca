/** Configuration is missing or invalid; lists every problem at once so one fix cycle is enough. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
  }
}

/** Local tooling (Java, DynamoDB Local) could not start. */
export class LocalEnvironmentError extends Error {
  override name = 'LocalEnvironmentError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
