import { Logger } from '@aws-lambda-powertools/logger';

/** A logger that keeps its lines in memory, so tests can assert what was logged (and what was not). */
export function memoryLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = {
    info: (l: string) => lines.push(l),
    warn: (l: string) => lines.push(l),
    error: (l: string) => lines.push(l),
    debug: (l: string) => lines.push(l),
    log: (l: string) => lines.push(l),
    trace: (l: string) => lines.push(l),
  };
  const logger = new Logger({ serviceName: 'roleguard-test', logLevel: 'DEBUG', customConfigService: undefined });
  // Powertools writes through its console; point it at the buffer.
  (logger as unknown as { console: typeof sink }).console = sink;
  return { logger, lines };
}
