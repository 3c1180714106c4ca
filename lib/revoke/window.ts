/**
 * Issue-time windows: how a revocation spares the vendor's other sessions that share the offending session's name.
 * `aws:userid` is `RoleId:sessionName`, so a deny on it alone (or with only an upper time bound) also cuts off every
 * earlier session of the same name. When the name is or may be shared, the deny is bounded on both sides around the
 * offending session's own token issue time. Pure.
 */
import type { RevocationState, SessionRevocation } from './policy.js';

/**
 * Seconds each side of a session's issue time that its deny covers. CloudTrail's `eventTime` is when STS issued the
 * credentials to within about a second and is written to the second, while `aws:TokenIssueTime` carries milliseconds
 * and its precision is not documented; AWS hosts' clocks may differ by a fraction of a second. 5 s covers the
 * truncation (1 s), the gap between the event and the token (about 1 s) and the skew, with room to spare, and still
 * spares a vendor's session of the same name issued more than 5 s before or after the offending one.
 */
export const ISSUE_MARGIN_SECONDS = 5;

/**
 * A name used once is denied for every token issued before the end of the bucket holding its issue time + margin:
 * the next whole minute. Sessions of that name issued after it (the vendor's next one, possibly issued during
 * CloudTrail's delivery delay and not yet recorded when the name was checked) stay allowed, and revocations of
 * names issued in the same minute share one statement (so many of them fit one role's inline budget).
 */
export const USED_ONCE_BUCKET_SECONDS = 60;

/**
 * Coarser ends for used-once denies, tried in turn when the revocation policy does not fit the role's inline budget,
 * before revoking the whole role. Each is a multiple of the one before, so an end already coarsened (and written)
 * is on every coarser step's boundary too: coarsening again never moves it, merging never shrinks it.
 */
export const USED_ONCE_COARSER_BUCKETS_SECONDS: readonly number[] = [5 * 60, 15 * 60, 3600];

/** `expiration − durationSeconds` confirms the issue time only when it is this close to the event time. */
const AGREEMENT_MS = 60_000;

/** The issue time, as one session's event tells it. */
export interface IssueEvidence {
  issuedAt: string;
  expiresAt?: string | null;
  durationSeconds?: number | null;
}

/**
 * The window `[from, until)` of token issue times that a deny of this session covers, whole seconds; null when the
 * issue time is unknown (then only the "everything issued before the decision" form is safe). The event time is
 * the evidence; `expiration − durationSeconds` widens the window when it agrees with it (real events sometimes
 * disagree by far more, and are then not taken as evidence).
 */
export function issueWindow(evidence: IssueEvidence): { from: string; until: string } | null {
  const times = issueTimes(evidence);
  if (!times) return null;
  const margin = ISSUE_MARGIN_SECONDS * 1000;
  const from = Math.floor((Math.min(...times) - margin) / 1000) * 1000;
  const until = Math.ceil((Math.max(...times) + margin) / 1000) * 1000;
  return { from: seconds(from), until: seconds(until) };
}

/**
 * For a name used once: the end (exclusive) of the token issue times its deny covers, the session's issue time plus
 * the margin rounded up to the next whole minute (USED_ONCE_BUCKET_SECONDS); null when the issue time is unknown.
 */
export function usedOnceUntil(evidence: IssueEvidence): string | null {
  const times = issueTimes(evidence);
  if (!times) return null;
  const bucket = USED_ONCE_BUCKET_SECONDS * 1000;
  return seconds(Math.ceil((Math.max(...times) + ISSUE_MARGIN_SECONDS * 1000) / bucket) * bucket);
}

// The event time, and `expiration − durationSeconds` when it agrees with it; null when the event time is unknown.
function issueTimes(evidence: IssueEvidence): number[] | null {
  const issued = Date.parse(evidence.issuedAt);
  if (Number.isNaN(issued)) return null;
  const times = [issued];
  const expires = evidence.expiresAt ? Date.parse(evidence.expiresAt) : Number.NaN;
  if (!Number.isNaN(expires) && typeof evidence.durationSeconds === 'number' && evidence.durationSeconds > 0) {
    const derived = expires - evidence.durationSeconds * 1000;
    if (Math.abs(derived - issued) <= AGREEMENT_MS) times.push(derived);
  }
  return times;
}

/**
 * The state with every used-once deny's end moved LATER, to the end of its `bucketSeconds` bucket (never earlier: it
 * still covers its session), so ends in one bucket share a statement. A used-once deny is a session revocation with
 * no window whose end is on a whole minute (USED_ONCE_BUCKET_SECONDS), as `usedOnceUntil` and earlier coarsening
 * write it; windows (shared names) and other open denies are left as they are. The trade-off: a later session of
 * that name issued before the coarser end is denied too.
 */
export function coarsenUsedOnce(state: RevocationState, bucketSeconds: number): RevocationState {
  const bucket = bucketSeconds * 1000;
  const sessions = state.sessions.map((s) => {
    const end = Date.parse(s.decidedAt);
    if (s.issuedWindow || end % (USED_ONCE_BUCKET_SECONDS * 1000) !== 0) return s;
    return { ...s, decidedAt: seconds(Math.ceil(end / bucket) * bucket) };
  });
  // Re-merged per name: an open deny may now cover that name's windows before it.
  const merged = new Map<string, SessionRevocation[]>();
  for (const s of sessions) merged.set(s.assumedRoleId, [...(merged.get(s.assumedRoleId) ?? []), s]);
  return { role: state.role, sessions: [...merged.values()].flatMap(mergeOneId) };
}

/**
 * Until when the written `state` denies the one session of `addition` (exclusive): its own time, or later when a
 * used-once end was coarsened to fit the budget (what the outcome and the alert report). Any other addition: null.
 */
export function appliedUntil(state: RevocationState, addition: RevocationState): string | null {
  const [own, ...rest] = addition.sessions;
  if (!own || rest.length || addition.role || own.issuedWindow) return null;
  const open = state.sessions.find((s) => s.assumedRoleId === own.assumedRoleId && !s.issuedWindow);
  return open && Date.parse(open.decidedAt) > Date.parse(own.decidedAt) ? open.decidedAt : own.decidedAt;
}

const seconds = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}Z`;

/**
 * Merge the revocations of one assumed-role id: the open ones ("everything before the decision") into one, the
 * windows that overlap or touch into one, and windows the open one already covers into it. Nothing denied before is
 * allowed after: every merge only widens, and the longest prune time wins.
 */
export function mergeOneId(entries: SessionRevocation[]): SessionRevocation[] {
  const later = (a: string, b: string) => (Date.parse(a) >= Date.parse(b) ? a : b);
  let open: SessionRevocation | null = null;
  for (const e of entries.filter((x) => !x.issuedWindow))
    open = open
      ? {
          assumedRoleId: e.assumedRoleId,
          decidedAt: later(open.decidedAt, e.decidedAt),
          pruneAfter: later(open.pruneAfter, e.pruneAfter),
        }
      : { assumedRoleId: e.assumedRoleId, decidedAt: e.decidedAt, pruneAfter: e.pruneAfter };
  const windows = entries
    .filter((x) => x.issuedWindow)
    .sort((a, b) => Date.parse(a.issuedWindow!.from) - Date.parse(b.issuedWindow!.from));
  const merged: SessionRevocation[] = [];
  for (const w of windows) {
    const last = merged.at(-1);
    if (last && Date.parse(w.issuedWindow!.from) <= Date.parse(last.issuedWindow!.until))
      merged[merged.length - 1] = {
        assumedRoleId: w.assumedRoleId,
        decidedAt: later(last.decidedAt, w.decidedAt),
        pruneAfter: later(last.pruneAfter, w.pruneAfter),
        issuedWindow: { from: last.issuedWindow!.from, until: later(last.issuedWindow!.until, w.issuedWindow!.until) },
      };
    else merged.push({ ...w, issuedWindow: { ...w.issuedWindow! } });
  }
  if (!open) return merged;
  const kept: SessionRevocation[] = [];
  for (const w of merged) {
    // Every token the window denies was issued before the open revocation's time: the open one covers it.
    if (Date.parse(w.issuedWindow!.until) <= Date.parse(open.decidedAt))
      open = { ...open, pruneAfter: later(open.pruneAfter, w.pruneAfter) };
    else kept.push(w);
  }
  return [open, ...kept];
}

/** The latest token issue time a revocation denies (exclusive): its window's end, else its decision time. */
export function deniedUntil(s: SessionRevocation): string {
  return s.issuedWindow ? s.issuedWindow.until : s.decidedAt;
}
