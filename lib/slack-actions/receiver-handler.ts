import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { type ReceiverDeps, receiveSlackAction, type SlackHttpResponse } from './receive.js';

/** The API Gateway HTTP API (payload 2.0) handler of `POST /slack/actions`. */
export function slackActionsHttpHandler(deps: ReceiverDeps & { logger: Logger }) {
  return middy(
    async (event: Pick<APIGatewayProxyEventV2, 'headers' | 'body' | 'isBase64Encoded'>): Promise<SlackHttpResponse> => {
      // API Gateway hands form posts over base64-encoded; the signature is over the bytes Slack sent.
      const body = event.isBase64Encoded
        ? Buffer.from(event.body ?? '', 'base64').toString('utf8')
        : (event.body ?? '');
      return receiveSlackAction({ headers: event.headers ?? {}, body }, deps);
    },
  )
    .use(injectLambdaContext(deps.logger, { resetKeys: true }))
    .onError(async (request) => {
      deps.logger.error('Slack request failed', { error: request.error as Error });
    });
}
