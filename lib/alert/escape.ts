/**
 * Make event-supplied text inert in Slack mrkdwn: no mentions (`<!channel>`), links or formatting, no control
 * characters, bounded length. Slack asks for &, < and > to be escaped; the rest is neutralised by zero-width joins.
 */
export function escapeMrkdwn(text: string | null | undefined, max = 200): string {
  if (text === null || text === undefined || text === '') return '–';
  // Also bidirectional overrides and isolates, which can make a name read backwards (U+202A–202E, U+2066–2069).
  // eslint-disable-next-line no-control-regex -- strip terminal and Slack-breaking control characters from event data
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, ' ');
  const short = clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
  return short
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([*_~`|])/g, '\u200b$1\u200b');
}
