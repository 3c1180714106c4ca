import { createHmac, timingSafeEqual } from 'node:crypto';

/** How far a request's timestamp may be from now (Slack's recommendation). */
export const MAX_SKEW_SECONDS = 300;

/** Why a request was not accepted as Slack's. Logged with the reason, never the body. */
export class SlackRequestRejected extends Error {
  override name = 'SlackRequestRejected';
  constructor(readonly reason: 'missing-header' | 'stale-timestamp' | 'bad-signature' | 'replayed' | 'not-received') {
    super(`not a valid Slack request: ${reason}`);
  }
}

/** The `v0` signature Slack sends: HMAC-SHA256 of `v0:timestamp:body` with the signing secret, hex. Pure. */
export function slackSignature(secret: string, timestamp: string, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

/**
 * Verify a request as Slack specifies: both headers present, the timestamp within 5 minutes of now, and the
 * signature over the raw body equal (in constant time) to the one computed with the signing secret. Throws
 * SlackRequestRejected; returns the signature (the request's nonce) when it is valid.
 */
export function verifySlackRequest(
  headers: Record<string, string | undefined>,
  body: string,
  secret: string,
  now: Date,
): string {
  const timestamp = headers['x-slack-request-timestamp'];
  const signature = headers['x-slack-signature'];
  if (!timestamp || !signature) throw new SlackRequestRejected('missing-header');
  if (!/^\d{1,12}$/.test(timestamp) || Math.abs(now.getTime() / 1000 - Number(timestamp)) > MAX_SKEW_SECONDS)
    throw new SlackRequestRejected('stale-timestamp');
  return checkSlackSignature(timestamp, signature, body, secret);
}

/**
 * The signature check alone, without the freshness check: the action function re-verifies what the receiver handed
 * over (the receiver checked the timestamp when Slack sent it). Throws SlackRequestRejected; returns the signature.
 */
export function checkSlackSignature(timestamp: string, signature: string, body: string, secret: string): string {
  if (!/^\d{1,12}$/.test(timestamp)) throw new SlackRequestRejected('stale-timestamp');
  const expected = Buffer.from(slackSignature(secret, timestamp, body));
  const given = Buffer.from(signature);
  // The length of a valid signature is public; only equal lengths are compared, in constant time.
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    throw new SlackRequestRejected('bad-signature');
  return signature;
}
