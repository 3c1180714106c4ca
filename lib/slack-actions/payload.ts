import { SLACK_ACTIONS, type SlackActionKind } from './types.js';

/** A form post that is signed but is not a button click roleguard knows. */
export class BadSlackPayload extends Error {
  override name = 'BadSlackPayload';
}

/** What a click says: who clicked which button, with which value, and where to answer. */
export interface SlackClick {
  userId: string;
  userName: string | null;
  action: SlackActionKind;
  /** The button's value: an alert id, nothing else. */
  alertId: string;
  responseUrl: string;
}

const ALERT_ID = /^[0-9a-f]{20}$/;
const USER_ID = /^[UW][A-Z0-9]{2,20}$/;

/** Read a `block_actions` interaction (a form post whose `payload` field is JSON). Pure; throws BadSlackPayload. */
export function parseSlackClick(body: string): SlackClick {
  const raw = new URLSearchParams(body).get('payload');
  if (raw === null) throw new BadSlackPayload('no payload field');
  let payload: {
    type?: unknown;
    user?: { id?: unknown; username?: unknown; name?: unknown };
    actions?: { action_id?: unknown; value?: unknown }[];
    response_url?: unknown;
  };
  try {
    payload = JSON.parse(raw);
  } catch {
    throw new BadSlackPayload('the payload is not JSON');
  }
  if (payload?.type !== 'block_actions') throw new BadSlackPayload(`unsupported interaction type`);
  const userId = payload.user?.id;
  if (typeof userId !== 'string' || !USER_ID.test(userId)) throw new BadSlackPayload('no valid user id');
  const [first] = Array.isArray(payload.actions) ? payload.actions : [];
  const action = first?.action_id;
  if (typeof action !== 'string' || !(SLACK_ACTIONS as readonly string[]).includes(action))
    throw new BadSlackPayload('unknown action');
  const value = first?.value;
  if (typeof value !== 'string' || !ALERT_ID.test(value))
    throw new BadSlackPayload('the button value is not a finding id');
  const responseUrl = payload.response_url;
  if (typeof responseUrl !== 'string' || !/^https?:\/\/\S+$/.test(responseUrl))
    throw new BadSlackPayload('no response_url');
  const name = payload.user?.username ?? payload.user?.name;
  return {
    userId,
    userName: typeof name === 'string' ? name.slice(0, 80) : null,
    action: action as SlackActionKind,
    alertId: value,
    responseUrl,
  };
}
