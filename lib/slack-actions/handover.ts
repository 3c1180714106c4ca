import type { Logger } from '@aws-lambda-powertools/logger';
import type { DecisionStore } from './decisions.js';
import { BadSlackPayload, parseSlackClick } from './payload.js';
import type { SlackActionRequest, SlackHandover } from './types.js';
import { checkSlackSignature, SlackRequestRejected } from './verify.js';

/** What the action function needs to trust a handover. */
export interface HandoverDeps {
  /** The Slack app's signing secret (the receiver's, from the same SSM parameter). */
  signingSecret: () => Promise<string>;
  decisions: Pick<DecisionStore, 'requestTaken'>;
  /** Whether a response_url may be posted to (Slack's own origin only); checked before anything is done. */
  responseUrlAllowed: (url: string) => boolean;
  logger: Pick<Logger, 'error'>;
  now: () => Date;
}

/** Read the event the receiver handed over; anything of another shape is not from the receiver, and is thrown. */
export function parseHandover(event: unknown): SlackHandover {
  const e = (event ?? {}) as Record<string, unknown>;
  const text = (name: string) => (typeof e[name] === 'string' ? (e[name] as string) : '');
  const handover = {
    body: text('body'),
    timestamp: text('timestamp'),
    signature: text('signature'),
    receivedAt: text('receivedAt'),
  };
  if (Object.values(handover).some((v) => !v)) throw new Error('not a Slack action request');
  return handover;
}

/**
 * Trust a handover only as far as Slack signed it: the `v0` signature over the body is verified again with the
 * signing secret, the receiver's nonce for that signature must exist (the receiver took this very request), and the
 * click (who, which button, which finding, where to answer) is read from the verified body. A response_url outside
 * Slack is refused here, before anything is done. Returns null, and logs why, for anything else: whoever may
 * invoke the function cannot act in an approver's name.
 */
export async function acceptHandover(handover: SlackHandover, deps: HandoverDeps): Promise<SlackActionRequest | null> {
  const refuse = (reason: string) => {
    deps.logger.error('Slack action request refused: not a request the receiver took from Slack', {
      reason,
      timestamp: handover.timestamp,
      receivedAt: handover.receivedAt,
      bytes: handover.body.length,
    });
    return null;
  };
  let click: ReturnType<typeof parseSlackClick>;
  try {
    const signature = checkSlackSignature(
      handover.timestamp,
      handover.signature,
      handover.body,
      await deps.signingSecret(),
    );
    if (!(await deps.decisions.requestTaken(signature, deps.now()))) throw new SlackRequestRejected('not-received');
    click = parseSlackClick(handover.body);
  } catch (error) {
    if (error instanceof SlackRequestRejected) return refuse(error.reason);
    if (error instanceof BadSlackPayload) return refuse(`bad-payload: ${error.message}`);
    throw error;
  }
  if (!deps.responseUrlAllowed(click.responseUrl)) return refuse('response_url is not a Slack URL');
  return { ...click, receivedAt: handover.receivedAt };
}
