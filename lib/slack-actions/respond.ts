import type { SlackReply } from './message.js';

/** Slack's response_url is on this origin; nothing else is ever posted to. */
export const SLACK_RESPONSE_ORIGIN = 'https://hooks.slack.com/';

/** Whether a response_url is Slack's (the only origin ever posted to). */
export function isSlackResponseUrl(url: string): boolean {
  return url.startsWith(SLACK_RESPONSE_ORIGIN);
}

/**
 * Post to a click's response_url (Slack takes up to five posts within 30 minutes). Only URLs the `allowed` test
 * accepts are posted to; a 5xx, a 429 or a network error is retried a few times. Throws when it cannot deliver.
 */
export function slackResponder(
  options: { allowed?: (url: string) => boolean; attempts?: number; timeoutMs?: number } = {},
): (responseUrl: string, message: SlackReply) => Promise<void> {
  const allowed = options.allowed ?? isSlackResponseUrl;
  const attempts = options.attempts ?? 3;
  return async (responseUrl, message) => {
    if (!allowed(responseUrl)) throw new Error('the response_url is not a Slack URL; nothing was posted');
    for (let attempt = 1; ; attempt++) {
      let status: number | null = null;
      try {
        const res = await fetch(responseUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(message),
          signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
        });
        status = res.status;
        await res.arrayBuffer();
        if (res.ok) return;
      } catch (error) {
        if (attempt >= attempts) throw new Error(`cannot post to Slack's response_url: ${(error as Error).message}`);
      }
      // The URL is a capability: errors carry the status, never the URL.
      if (status !== null && ((status < 500 && status !== 429) || attempt >= attempts))
        throw new Error(`Slack's response_url answered HTTP ${status}`);
      await new Promise((r) => setTimeout(r, 200 * 2 ** (attempt - 1)));
    }
  };
}
