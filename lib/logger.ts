import { Logger } from '@aws-lambda-powertools/logger';

/** The one structured logger of a process. */
export function createLogger(options: { level?: string } = {}): Logger {
  return new Logger({
    serviceName: 'roleguard',
    logLevel: (options.level ?? process.env.POWERTOOLS_LOG_LEVEL ?? 'INFO') as 'INFO',
  });
}
