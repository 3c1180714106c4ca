import type { Logger } from '@aws-lambda-powertools/logger';
import type { DecisionStore } from './decisions.js';
import { BadSlackPayload, parseSlackClick } from './payload.js';
import type { SlackHandover } from './types.js';
import { SlackRequestRejected, verifySlackRequest } from './verify.js';

/** An HTTP request as the receiver sees it: lower-case header names and the raw body, decoded. */
export interface SlackHttpRequest {
  headers: Record<string, string | undefined>;
  body: string;
}

/** The HTTP answer. Slack wants a 200 within 3 seconds; the message is updated later through its response_url. */
export interface SlackHttpResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** What the receiver needs. */
export interface ReceiverDeps {
  /** The stage's `slackActions` param: when off, the route answers 404 to everything and reads nothing. */
  enabled: boolean;
  /** The app's signing secret (from an SSM SecureString, cached). */
  signingSecret: () => Promise<string>;
  decisions: Pick<DecisionStore, 'takeRequest'>;
  /** Hand the signed request to the action function, without waiting for it (an asynchronous invoke). */
  enqueue: (handover: SlackHandover) => Promise<void>;
  logger: Pick<Logger, 'info' | 'warn'>;
  now: () => Date;
}

const answer = (statusCode: number, body = ''): SlackHttpResponse => ({
  statusCode,
  headers: { 'content-type': 'text/plain; charset=utf-8' },
  body,
});

/**
 * Take a click from Slack: verify its signature and timestamp, refuse a request seen before, read the click and
 * hand it to the action function, then answer at once. Anything not signed by Slack gets a 401, logged with the
 * reason and never the body. A signed request that is not a click roleguard knows gets a 400. With Slack actions
 * turned off, everything gets a 404.
 */
export async function receiveSlackAction(request: SlackHttpRequest, deps: ReceiverDeps): Promise<SlackHttpResponse> {
  const now = deps.now();
  if (!deps.enabled) {
    deps.logger.warn('Slack request refused: Slack actions are turned off (the slackActions param)', {
      bytes: request.body.length,
    });
    return answer(404, 'not found');
  }
  const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), v]));
  let click: ReturnType<typeof parseSlackClick>;
  let signature: string;
  try {
    signature = verifySlackRequest(headers, request.body, await deps.signingSecret(), now);
    if (!(await deps.decisions.takeRequest(signature, now))) throw new SlackRequestRejected('replayed');
    click = parseSlackClick(request.body);
  } catch (error) {
    if (error instanceof SlackRequestRejected) {
      deps.logger.warn('Slack request rejected', {
        reason: error.reason,
        timestamp: headers['x-slack-request-timestamp'] ?? null,
        bytes: request.body.length,
      });
      return answer(401, 'unauthorized');
    }
    if (error instanceof BadSlackPayload) {
      deps.logger.warn('Slack request not understood', { reason: error.message });
      return answer(400, 'bad request');
    }
    throw error;
  }
  // The action function trusts none of this as given: it verifies the signature again and reads the click itself.
  await deps.enqueue({
    body: request.body,
    timestamp: headers['x-slack-request-timestamp']!,
    signature,
    receivedAt: now.toISOString(),
  });
  deps.logger.info('Slack action taken', { alertId: click.alertId, action: click.action, userId: click.userId });
  return answer(200);
}
