import { roleKey } from '../lib/registry/diff.js';
import type { RevocationIntent } from '../lib/revoke/store.js';
import type { SessionView } from '../lib/sessions/index.js';
import type { LocalStore } from './local-store.js';
import { scanByPrefix } from './scan.js';

/** The revocation that covers a session, as the sessions list shows it. */
export interface SessionRevocationMark {
  state: 'applied' | 'pending' | 'dry-run';
  /** Tokens issued before this time are denied. */
  decidedAt: string;
  intentId: string;
}

/** Every revocation intent the store holds, newest first. */
export async function loadIntents(store: LocalStore): Promise<RevocationIntent[]> {
  const items = await scanByPrefix(store.dynamo, store.tables.revocations, 'intent#');
  return items
    .map((i) => i.intent as RevocationIntent)
    .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt));
}

const RANK = { applied: 0, pending: 1, 'dry-run': 2 } as const;

/**
 * The revocation that denies a session: one of its role's intents, applied, pending or decided in a dry run, whose
 * whole-role time or whose statement for the session's assumed-role id is later than the session's issue time
 * (the policy denies tokens issued before it). Applied wins over pending, pending over a dry run.
 */
export function revocationOf(session: SessionView, intents: RevocationIntent[]): SessionRevocationMark | null {
  if (session.outcome !== 'success') return null;
  const issued = Date.parse(session.issuedAt);
  let best: SessionRevocationMark | null = null;
  for (const intent of intents) {
    if (!(intent.state in RANK) || roleKey(intent.roleArn) !== roleKey(session.roleArn)) continue;
    const times = [
      ...(intent.addition.role ? [intent.addition.role.decidedAt] : []),
      ...intent.addition.sessions
        .filter((s) => intent.fellBack || (session.assumedRoleId !== null && s.assumedRoleId === session.assumedRoleId))
        .map((s) => s.decidedAt),
    ].filter((t) => issued < Date.parse(t));
    if (times.length === 0) continue;
    const mark = {
      state: intent.state as SessionRevocationMark['state'],
      decidedAt: times[0]!,
      intentId: intent.intentId,
    };
    if (!best || RANK[mark.state] < RANK[best.state]) best = mark;
  }
  return best;
}
