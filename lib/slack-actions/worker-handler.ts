import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { type ActionDeps, performSlackAction } from './act.js';
import { SLACK_ACTIONS, type SlackActionRequest } from './types.js';

/** Read the click the receiver handed over; anything else is refused (only the receiver may invoke the function). */
export function parseActionRequest(event: unknown): SlackActionRequest {
  const e = (event ?? {}) as Record<string, unknown>;
  const text = (name: string) => (typeof e[name] === 'string' ? (e[name] as string) : null);
  const action = text('action');
  const request = {
    alertId: text('alertId'),
    action,
    userId: text('userId'),
    userName: text('userName'),
    responseUrl: text('responseUrl'),
    receivedAt: text('receivedAt'),
  };
  if (
    !request.alertId ||
    !request.userId ||
    !request.responseUrl ||
    !request.receivedAt ||
    !(SLACK_ACTIONS as readonly (string | null)[]).includes(action)
  )
    throw new Error('not a Slack action request');
  return request as SlackActionRequest;
}

/** The handler of the action function, invoked asynchronously by the receiver; a failure is retried by Lambda. */
export function slackActionHandler(deps: ActionDeps & { logger: Logger }) {
  return middy(async (event: unknown) => {
    const decision = await performSlackAction(parseActionRequest(event), deps);
    return { decisionId: decision.decisionId, status: decision.status };
  })
    .use(injectLambdaContext(deps.logger, { resetKeys: true }))
    .onError(async (request) => {
      deps.logger.error('Slack action failed; Lambda will retry it, then dead-letter it', {
        error: request.error as Error,
      });
    });
}
