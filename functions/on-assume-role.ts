import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { loadConfig } from '../lib/config.js';
import { createDeps } from '../lib/deps.js';
import { handleCloudTrailEvent } from '../lib/handle-event.js';

// Built once per cold start; a bad configuration fails here, loudly, before any event is taken.
const deps = createDeps(loadConfig(process.env));

/** EventBridge → STS assume events → session store. */
export const handler = middy((event: unknown) => handleCloudTrailEvent(event, deps))
  .use(injectLambdaContext(deps.logger, { resetKeys: true }))
  .onError(async (request) => {
    deps.logger.error('event failed; Lambda will retry it, then dead-letter it', { error: request.error as Error });
  });
