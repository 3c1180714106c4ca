import { randomUUID } from 'node:crypto';
import { GetRoleCommand, type IAMClient } from '@aws-sdk/client-iam';
import { parseRoleArn } from '../cloudtrail/arn.js';
import type { Registry } from '../registry/index.js';
import type { SessionStore, SessionView } from '../sessions/index.js';
import { RevocationRefused, withIamRetry } from './apply.js';
import { isAssumedRoleId, MAX_SESSION_SECONDS, policyTime, pruneTime, type RevocationState } from './policy.js';
import { decisionTime, protectedReason, type RevocationOutcome, sessionNameShared } from './respond.js';
import { callerKey, iamForRole, otherAccountReason, type RevocationDeps, revoke } from './service.js';
import { intentIdFor, type RevocationIntent } from './store.js';
import { issueWindow } from './window.js';

/** What to revoke by hand: one session (by assumed-role id, session name or access key), or the whole role. */
export type ManualTarget =
  | { all: true }
  | { assumedRoleId: string }
  | { sessionName: string }
  | { accessKeyId: string };

/** A revocation asked for by a person (CLI) or a system (the revoke function). */
export interface ManualRevocation {
  roleArn: string;
  target: ManualTarget;
  dryRun: boolean;
  requestedBy?: string | null;
  reason?: string | null;
  /** An idempotency key: the same request id is carried out once. Default: a new one. */
  requestId?: string;
}

export { RevocationRefused };

/** What a manual revocation did. */
export interface ManualOutcome extends RevocationOutcome {
  roleArn: string;
  intentId: string;
  /** The assumed-role id revoked, or null for the whole role. */
  revoked: string | null;
  /** The recorded sessions it covers (from the session store), when it was looked up there. */
  sessions: SessionView[];
}

const ACCESS_KEY = /^ASIA[A-Z0-9]{12,124}$/;
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;

/** The role id (AROA…) IAM gave a role, for a session that is not in the session store. */
async function roleIdOf(iam: IAMClient, roleName: string): Promise<string> {
  const role = (await withIamRetry(() => iam.send(new GetRoleCommand({ RoleName: roleName })))).Role;
  if (!role?.RoleId) throw new RevocationRefused(`IAM returned no role id for ${roleName}`);
  return role.RoleId;
}

/**
 * Work out the revocation a request asks for, checking it first: the role must be a valid, unprotected role, and a
 * session given by access key must belong to it. Sessions are looked up in the session store, so their expiry (for
 * pruning) and caller (to see them come back) are known.
 */
export async function planManualRevocation(
  request: ManualRevocation,
  registry: Pick<Registry, 'protectedRoleArns' | 'serviceRoleArns'> & { ownRoleArns?: string[] },
  sessions: SessionStore,
  iam: IAMClient,
  now: Date,
): Promise<{ addition: RevocationState; revoked: string | null; caller: string | null; sessions: SessionView[] }> {
  const parts = parseRoleArn(request.roleArn);
  if (!parts) throw new RevocationRefused(`not a role ARN: ${request.roleArn}`);
  const refused = protectedReason(request.roleArn, registry, registry.ownRoleArns ?? []);
  if (refused)
    throw new RevocationRefused(`refused: ${request.roleArn}: ${refused}; roleguard never changes such a role`);
  const target = request.target;
  if ('all' in target) {
    const decidedAt = policyTime(now);
    return {
      addition: {
        role: { decidedAt, pruneAfter: policyTime(new Date(now.getTime() + MAX_SESSION_SECONDS * 1000)) },
        sessions: [],
      },
      revoked: null,
      caller: null,
      sessions: [],
    };
  }
  let found: SessionView[];
  let assumedRoleId: string;
  if ('accessKeyId' in target) {
    if (!ACCESS_KEY.test(target.accessKeyId))
      throw new RevocationRefused(`not a session access key id (ASIA…): ${target.accessKeyId}`);
    found = (await sessions.byAccessKey(target.accessKeyId)).filter((s) => s.outcome === 'success' && s.assumedRoleId);
    if (found.length === 0)
      throw new RevocationRefused(`no recorded session has access key ${target.accessKeyId}; give --session instead`);
    const other = found.find((s) => s.roleArn !== request.roleArn);
    if (other)
      throw new RevocationRefused(
        `access key ${target.accessKeyId} belongs to a session of ${other.roleArn}, not ${request.roleArn}`,
      );
    assumedRoleId = found[0]!.assumedRoleId!;
  } else if ('assumedRoleId' in target) {
    if (!isAssumedRoleId(target.assumedRoleId))
      throw new RevocationRefused(`not an assumed-role id (AROA…:sessionName): ${target.assumedRoleId}`);
    assumedRoleId = target.assumedRoleId;
    found = (await sessions.byRole(request.roleArn)).filter((s) => s.assumedRoleId === assumedRoleId);
  } else {
    if (!SESSION_NAME.test(target.sessionName))
      throw new RevocationRefused(`not a role session name (2–64 of [\\w+=,.@-]): ${target.sessionName}`);
    found = (await sessions.byRole(request.roleArn)).filter(
      (s) => s.roleSessionName === target.sessionName && s.assumedRoleId,
    );
    // Every session of one role with one name has the same assumed-role id: RoleId:sessionName.
    assumedRoleId = found[0]?.assumedRoleId ?? `${await roleIdOf(iam, parts.roleName)}:${target.sessionName}`;
  }
  if (!isAssumedRoleId(assumedRoleId)) throw new RevocationRefused(`not an assumed-role id: ${assumedRoleId}`);
  // Deny what was issued up to now (and at least the latest recorded issue of that id), until the last one expires.
  const latestIssue = found
    .map((s) => s.issuedAt)
    .reduce((a, b) => (Date.parse(a) >= Date.parse(b) ? a : b), policyTime(new Date(now.getTime() - 1000)));
  const decidedAt = decisionTime(latestIssue, now);
  // An access key names one session, whose expiry is known. A name (or RoleId:name) names every session issued with
  // it so far, and CloudTrail delivers minutes late: one not recorded yet may last up to 12 h from now.
  const pruneAfter =
    'accessKeyId' in target
      ? found.map((s) => pruneTime(s.issuedAt, s.expiresAt)).reduce((a, b) => (Date.parse(a) >= Date.parse(b) ? a : b))
      : policyTime(new Date(now.getTime() + MAX_SESSION_SECONDS * 1000));
  if (Date.parse(pruneAfter) <= now.getTime())
    throw new RevocationRefused(
      `nothing to revoke: every recorded session of ${assumedRoleId} on ${request.roleArn} expired by ${pruneAfter}`,
    );
  const latest = found.at(-1);
  // An access key names one session, whose issue time is known: when its name is shared, only it is denied.
  const one = 'accessKeyId' in target ? found[0]! : null;
  const window =
    one && (await sessionNameShared(sessions, { ...one, assumedRoleId, accessKeyId: one.accessKeyId }, now))
      ? issueWindow(one)
      : null;
  return {
    addition: {
      role: null,
      sessions: [{ assumedRoleId, decidedAt, pruneAfter, ...(window ? { issuedWindow: window } : {}) }],
    },
    revoked: assumedRoleId,
    caller: latest
      ? callerKey({
          callerAccountId: latest.callerAccountId,
          callerPrincipalId: latest.callerPrincipalId,
          callerArn: latest.callerArn,
        })
      : null,
    sessions: found,
  };
}

/** Revoke by hand: plan, record the intent, apply it (or, in a dry run, decide it). Throws RevocationRefused. */
export async function revokeByHand(
  deps: RevocationDeps & { sessions: SessionStore },
  registry: Pick<Registry, 'protectedRoleArns' | 'serviceRoleArns'> & { ownRoleArns?: string[] },
  request: ManualRevocation,
  now: Date,
): Promise<ManualOutcome & { intent: RevocationIntent }> {
  const otherAccount = otherAccountReason(deps, request.roleArn);
  if (otherAccount) throw new RevocationRefused(`refused: ${request.roleArn}: ${otherAccount}`);
  // GetRole (a session given by name only) reads the role's own account.
  const plan = await planManualRevocation(
    request,
    registry,
    deps.sessions,
    await iamForRole(deps, request.roleArn),
    now,
  );
  const intentId = intentIdFor('manual', request.requestId ?? randomUUID());
  const outcome = await revoke(
    deps,
    {
      intentId,
      roleArn: request.roleArn,
      addition: plan.addition,
      source: { kind: 'manual', requestedBy: request.requestedBy ?? null, reason: request.reason ?? null },
      caller: plan.caller,
      dryRun: request.dryRun,
    },
    now,
  );
  return { ...outcome, roleArn: request.roleArn, intentId, revoked: plan.revoked, sessions: plan.sessions };
}
