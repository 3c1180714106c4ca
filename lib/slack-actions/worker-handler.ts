import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { type ActionDeps, performSlackAction } from './act.js';
import { acceptHandover, type HandoverDeps, parseHandover } from './handover.js';

/**
 * The handler of the action function, invoked asynchronously by the receiver; a failure is retried by Lambda. A
 * handover that is not a request the receiver took from Slack is refused and logged, and nothing is done.
 */
export function slackActionHandler(deps: ActionDeps & HandoverDeps & { logger: Logger }) {
  return middy(async (event: unknown) => {
    const request = await acceptHandover(parseHandover(event), deps);
    if (!request) return { decisionId: null, status: 'refused' };
    const decision = await performSlackAction(request, deps);
    return { decisionId: decision.decisionId, status: decision.status };
  })
    .use(injectLambdaContext(deps.logger, { resetKeys: true }))
    .onError(async (request) => {
      deps.logger.error('Slack action failed; Lambda will retry it, then dead-letter it', {
        error: request.error as Error,
      });
    });
}
