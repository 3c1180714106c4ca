import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Deps } from './deps.js';
import { handleCloudTrailEvent } from './handle-event.js';

/** The Lambda handler for CloudTrail events from EventBridge (STS assumes, trust-policy changes). */
export function cloudTrailEventHandler(deps: Deps) {
  return middy((event: unknown) => handleCloudTrailEvent(event, deps))
    .use(injectLambdaContext(deps.logger, { resetKeys: true }))
    .onError(async (request) => {
      deps.logger.error('event failed; Lambda will retry it, then dead-letter it', { error: request.error as Error });
    });
}

/** A scheduled handler: runs the job once per invocation, logs its result, and fails loudly so Lambda retries. */
export function scheduledHandler<T>(deps: Deps, name: string, job: (now: Date) => Promise<T>) {
  return middy(async () => {
    const result = await job(new Date());
    deps.logger.info(`${name} done`, { result: result as Record<string, unknown> });
    return result;
  })
    .use(injectLambdaContext(deps.logger, { resetKeys: true }))
    .onError(async (request) => {
      deps.logger.error(`${name} failed; Lambda will retry it`, { error: request.error as Error });
    });
}
