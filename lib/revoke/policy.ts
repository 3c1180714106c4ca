/**
 * The revocation policy: the one inline policy roleguard owns on a role. Pure: state in, policy document out, and
 * back. It denies everything to tokens issued before a decision time, either for chosen sessions (`aws:userid` =
 * the assumed-role id, which is `RoleId:sessionName`) or for the whole role (the console's mechanism); a session
 * whose name is or may be shared is denied only within a window around its own token issue time (see window.ts).
 */
import { coarsenUsedOnce, deniedUntil, mergeOneId, USED_ONCE_COARSER_BUCKETS_SECONDS } from './window.js';

/** The inline policy roleguard owns on a guarded role; it never edits any other policy. */
export const REVOCATION_POLICY_NAME = 'roleguard-revocations';

/** IAM's limit on the total size of a role's inline policies, whitespace not counted. */
export const ROLE_INLINE_POLICY_BUDGET = 10_240;

/** The longest a role session can last (MaxSessionDuration is at most 12 h). */
export const MAX_SESSION_SECONDS = 12 * 3600;

/**
 * One revoked session: its tokens issued before `decidedAt` are denied until it has surely expired (`pruneAfter`).
 * With `issuedWindow`, only its tokens issued in `[from, until)` are: the name is or may be shared by other sessions.
 */
export interface SessionRevocation {
  assumedRoleId: string;
  decidedAt: string;
  pruneAfter: string;
  issuedWindow?: { from: string; until: string };
}

/** The whole role revoked: every token issued before `decidedAt` is denied until `pruneAfter`. */
export interface RoleRevocation {
  decidedAt: string;
  pruneAfter: string;
}

/** What the revocation policy of a role says. */
export interface RevocationState {
  role: RoleRevocation | null;
  sessions: SessionRevocation[];
}

/** An IAM policy document. */
export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: PolicyStatement[];
}

/** A statement of the revocation policy. */
export interface PolicyStatement {
  Sid: string;
  Effect: 'Deny';
  Action: '*';
  Resource: '*';
  Condition: Record<string, Record<string, string | string[]>>;
}

export const EMPTY_STATE: RevocationState = { role: null, sessions: [] };

// `RoleId:sessionName`: role ids are AROA + 16-128 upper-case letters and digits; session names 2-64 of [\w+=,.@-].
const ASSUMED_ROLE_ID = /^AROA[A-Z0-9]{12,124}:[\w+=,.@-]{2,64}$/;
const ISO_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/** An assumed-role id fit to put in a policy; anything else from an event is refused. */
export function isAssumedRoleId(value: string): boolean {
  return ASSUMED_ROLE_ID.test(value);
}

/** A time as the policy writes it: UTC, whole seconds (IAM compares dates to the second). */
export function policyTime(at: Date | string): string {
  const date = typeof at === 'string' ? new Date(at) : at;
  if (Number.isNaN(date.getTime())) throw new Error(`not a time: ${String(at)}`);
  return `${date.toISOString().slice(0, 19)}Z`;
}

const later = (a: string, b: string) => (Date.parse(a) >= Date.parse(b) ? a : b);
// Sids are alphanumeric: times written without separators.
const compact = (iso: string) => iso.replace(/[-:]/g, '');
const uncompact = (s: string) =>
  `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}T${s.slice(9, 11)}:${s.slice(11, 13)}:${s.slice(13, 15)}Z`;
const ROLE_SID = /^RoleguardRoleUntil(\d{8}T\d{6}Z)$/;
const SESSIONS_SID = /^RoleguardSessions(\d{8}T\d{6}Z)Until(\d{8}T\d{6}Z)$/;
const WINDOW_SID = /^RoleguardWindow(\d{8}T\d{6}Z)To(\d{8}T\d{6}Z)Until(\d{8}T\d{6}Z)$/;

/**
 * Merge revocations monotonically: per session and for the role, the latest decision time wins and the longest
 * prune time wins; windows of one session name that overlap merge into one. Re-applying, retrying or merging out of
 * order never moves a revocation time backwards.
 */
export function mergeRevocations(current: RevocationState, ...additions: RevocationState[]): RevocationState {
  let role = current.role;
  const byId = new Map<string, SessionRevocation[]>();
  for (const s of [current, ...additions].flatMap((x) => x.sessions))
    byId.set(s.assumedRoleId, [...(byId.get(s.assumedRoleId) ?? []), s]);
  for (const add of additions)
    if (add.role)
      role = role
        ? {
            decidedAt: later(role.decidedAt, add.role.decidedAt),
            pruneAfter: later(role.pruneAfter, add.role.pruneAfter),
          }
        : add.role;
  return { role, sessions: [...byId.values()].flatMap(mergeOneId) };
}

/**
 * Drop what can no longer matter at `now`: revocations whose sessions have all expired, and session revocations
 * that the whole-role revocation already covers (it denies every token issued before a later or equal time); the
 * role's revocation then lasts at least as long as each session it took over.
 */
export function pruneRevocations(state: RevocationState, now: Date): RevocationState {
  const alive = (pruneAfter: string) => Date.parse(pruneAfter) > now.getTime();
  let role = state.role && alive(state.role.pruneAfter) ? state.role : null;
  const sessions: SessionRevocation[] = [];
  for (const s of state.sessions) {
    if (!alive(s.pruneAfter)) continue;
    // Covered by the whole-role revocation: folded into it, which then stays as long as the session could live.
    if (role && Date.parse(deniedUntil(s)) <= Date.parse(role.decidedAt))
      role = { ...role, pruneAfter: later(role.pruneAfter, s.pruneAfter) };
    else sessions.push(s);
  }
  return { role, sessions };
}

/** The policy document for a state; null when nothing is revoked (the policy can be deleted). Deterministic. */
export function renderRevocationPolicy(state: RevocationState): PolicyDocument | null {
  const statements: PolicyStatement[] = [];
  if (state.role) {
    statements.push({
      Sid: `RoleguardRoleUntil${compact(state.role.pruneAfter)}`,
      Effect: 'Deny',
      Action: '*',
      Resource: '*',
      Condition: { DateLessThan: { 'aws:TokenIssueTime': state.role.decidedAt } },
    });
  }
  // Sessions revoked at the same time share one statement, kept until the last of them has expired.
  const groups = new Map<string, SessionRevocation[]>();
  const windows = new Map<string, SessionRevocation[]>();
  for (const s of state.sessions)
    if (s.issuedWindow) {
      const key = `${s.issuedWindow.from}/${s.issuedWindow.until}`;
      windows.set(key, [...(windows.get(key) ?? []), s]);
    } else groups.set(s.decidedAt, [...(groups.get(s.decidedAt) ?? []), s]);
  for (const decidedAt of [...groups.keys()].sort()) {
    const members = groups.get(decidedAt)!;
    const ids = members.map((m) => m.assumedRoleId).sort();
    const pruneAfter = members.map((m) => m.pruneAfter).reduce(later);
    statements.push({
      Sid: `RoleguardSessions${compact(decidedAt)}Until${compact(pruneAfter)}`,
      Effect: 'Deny',
      Action: '*',
      Resource: '*',
      Condition: {
        StringEquals: { 'aws:userid': ids.length === 1 ? ids[0]! : ids },
        DateLessThan: { 'aws:TokenIssueTime': decidedAt },
      },
    });
  }
  // Sessions whose names are shared: denied only for tokens issued within their window; equal windows share one.
  for (const key of [...windows.keys()].sort()) {
    const members = windows.get(key)!;
    const { from, until } = members[0]!.issuedWindow!;
    const ids = members.map((m) => m.assumedRoleId).sort();
    const pruneAfter = members.map((m) => m.pruneAfter).reduce(later);
    statements.push({
      Sid: `RoleguardWindow${compact(from)}To${compact(until)}Until${compact(pruneAfter)}`,
      Effect: 'Deny',
      Action: '*',
      Resource: '*',
      Condition: {
        StringEquals: { 'aws:userid': ids.length === 1 ? ids[0]! : ids },
        DateGreaterThanEquals: { 'aws:TokenIssueTime': from },
        DateLessThan: { 'aws:TokenIssueTime': until },
      },
    });
  }
  return statements.length ? { Version: '2012-10-17', Statement: statements } : null;
}

/**
 * Read roleguard's own policy back into state. Only statements of its own Sid scheme and shape (Deny, Action and
 * Resource `*`, its conditions) are read; anything else is returned in `foreignStatements`, to be
 * dropped from the policy and reported, never kept.
 */
export function parseRevocationPolicy(document: unknown): {
  state: RevocationState;
  foreign: number;
  foreignStatements: unknown[];
} {
  let doc = document;
  if (typeof doc === 'string') doc = JSON.parse(doc.trim().startsWith('{') ? doc : decodeURIComponent(doc));
  const statements = Array.isArray((doc as { Statement?: unknown })?.Statement)
    ? (doc as { Statement: unknown[] }).Statement
    : [];
  const state: RevocationState = { role: null, sessions: [] };
  const foreignStatements: unknown[] = [];
  for (const raw of statements) {
    const s = raw as Partial<PolicyStatement>;
    const before = s.Condition?.DateLessThan?.['aws:TokenIssueTime'];
    const role = typeof s.Sid === 'string' ? ROLE_SID.exec(s.Sid) : null;
    const group = typeof s.Sid === 'string' ? SESSIONS_SID.exec(s.Sid) : null;
    const window = typeof s.Sid === 'string' ? WINDOW_SID.exec(s.Sid) : null;
    const from = s.Condition?.DateGreaterThanEquals?.['aws:TokenIssueTime'];
    const badWindow = window && (typeof from !== 'string' || !ISO_SECONDS.test(from));
    const ids = [s.Condition?.StringEquals?.['aws:userid'] ?? []].flat();
    const badIds = !role && (ids.length === 0 || !ids.every((id) => typeof id === 'string' && id.length > 0));
    if (
      s.Effect !== 'Deny' ||
      s.Action !== '*' ||
      s.Resource !== '*' ||
      badIds ||
      typeof before !== 'string' ||
      !ISO_SECONDS.test(before) ||
      (!role && !group && !window) ||
      badWindow
    ) {
      foreignStatements.push(raw);
      continue;
    }
    if (role) {
      state.role = mergeRevocations(state, {
        role: { decidedAt: before, pruneAfter: uncompact(role[1]!) },
        sessions: [],
      }).role;
      continue;
    }
    const pruneAfter = uncompact((group ?? window)![group ? 2 : 3]!);
    // The decision time of a window is not in the policy; its end stands in for it (only the window is rendered).
    const issuedWindow = window ? { issuedWindow: { from: from as string, until: before } } : {};
    state.sessions = mergeRevocations(state, {
      role: null,
      sessions: ids.map((assumedRoleId) => ({ assumedRoleId, decidedAt: before, pruneAfter, ...issuedWindow })),
    }).sessions;
  }
  return { state, foreign: foreignStatements.length, foreignStatements };
}

/** A policy's size as IAM counts it against the inline budget: its JSON without whitespace. */
export function policySize(document: unknown): number {
  if (document === null || document === undefined) return 0;
  const text = typeof document === 'string' ? document : JSON.stringify(document);
  return text.replace(/\s+/g, '').length;
}

/**
 * The state to write, within the role's inline budget (other inline policies count too). When the targeted
 * revocations do not fit, first coarsen the used-once denies' ends step by step (5 min, 15 min, 1 h: each only moves
 * an end later, merging names with the same end into one statement; `coarsenedSeconds` says to which); when even
 * that does not fit, revoke the whole role as of the latest decision instead: it covers every session the
 * targeted ones did (and others of the role, which the alert must say). `fits` is false when even that does not fit
 * (the role's other inline policies leave no room): nothing can be written, and retrying will not change it.
 */
export function fitToBudget(
  state: RevocationState,
  otherInlineChars: number,
  budget = ROLE_INLINE_POLICY_BUDGET,
): { state: RevocationState; fellBack: boolean; fits: boolean; coarsenedSeconds?: number } {
  const inBudget = (s: RevocationState) => {
    const size = policySize(renderRevocationPolicy(s));
    return size === 0 || size + otherInlineChars <= budget;
  };
  if (inBudget(state)) return { state, fellBack: false, fits: true };
  for (const bucketSeconds of USED_ONCE_COARSER_BUCKETS_SECONDS) {
    const coarse = coarsenUsedOnce(state, bucketSeconds);
    if (inBudget(coarse)) return { state: coarse, fellBack: false, fits: true, coarsenedSeconds: bucketSeconds };
  }
  // Everything issued before the latest decision, and at least each session's last denied issue time: a window may
  // end after its decision (a replay decides at the event's own time).
  const times = state.sessions
    .flatMap((s) => [s.decidedAt, deniedUntil(s)])
    .concat(state.role ? [state.role.decidedAt] : []);
  const prunes = state.sessions.map((s) => s.pruneAfter).concat(state.role ? [state.role.pruneAfter] : []);
  const role = { decidedAt: times.reduce(later), pruneAfter: prunes.reduce(later) };
  const fallback = { role, sessions: [] };
  const fits = policySize(renderRevocationPolicy(fallback)) + otherInlineChars <= budget;
  return { state: fallback, fellBack: true, fits };
}

/** Why a revocation cannot be written when even the whole role does not fit (for the alert and the intent). */
export function doesNotFitReason(roleName: string, otherInlineChars: number): string {
  return `even revoking the whole role does not fit ${roleName}'s 10,240-character inline policy budget: its other inline policies already use ${otherInlineChars} characters. Nothing was written; make room on the role (or attach a deny policy by hand) and revoke again`;
}

/** When a revocation can be dropped: the session's recorded expiry, else its issue time plus the role's maximum session length (at most 12 h). */
export function pruneTime(issuedAt: string, expiresAt: string | null, maxSessionSeconds = MAX_SESSION_SECONDS): string {
  if (expiresAt && !Number.isNaN(Date.parse(expiresAt)))
    return policyTime(new Date(Math.ceil(Date.parse(expiresAt) / 1000) * 1000));
  return policyTime(new Date(Date.parse(issuedAt) + Math.min(maxSessionSeconds, MAX_SESSION_SECONDS) * 1000));
}
