import type { AssumeEvent, TrustPolicyChangeEvent } from '../cloudtrail/types.js';
import { maskExternalId } from '../redact.js';
import type { RegisteredRole, RegistryIndex } from '../registry/index.js';
import { analyzeTrustPolicy } from '../trust/analyze.js';
import type { Finding, FindingContext, FindingKind, Severity } from './types.js';

/** A detection rule for assume events: the event and its role's registry entry in, findings out. Pure. */
export type AssumeRule = (event: AssumeEvent, role: RegisteredRole) => Finding[];

export function finding(
  kind: FindingKind,
  severity: Severity,
  event: AssumeEvent,
  role: RegisteredRole,
  message: string,
): Finding {
  const context: FindingContext = {
    recipientAccountId: event.recipientAccountId,
    vendor: role.vendor,
    at: event.issuedAt,
    callerArn: event.callerArn,
    callerType: event.callerType,
    sourceIpAddress: event.sourceIpAddress,
    roleSessionName: event.roleSessionName,
    externalId: maskExternalId(event.externalId),
    userAgent: event.userAgent,
  };
  return {
    kind,
    severity,
    roleArn: role.roleArn,
    eventId: event.eventId,
    assumedRoleId: event.assumedRoleId,
    callerAccountId: event.callerAccountId,
    message,
    context,
  };
}

const caller = (e: AssumeEvent) => e.callerAccountId ?? e.callerType;
const roleAccount = (e: AssumeEvent) => e.roleAccountId;
const crossAccount = (e: AssumeEvent) => e.callerAccountId !== null && e.callerAccountId !== roleAccount(e);
const succeeded = (e: AssumeEvent) => e.outcome === 'success';

/** A successful assume with an external ID that is neither current, pending nor retired: the confused deputy. */
export const unexpectedExternalId: AssumeRule = (e, role) => {
  const { current, pending, retired } = role.externalIds;
  // Watch mode: the policy checks no ID, so any ID given is unchecked: missingExternalId reports it.
  if (
    !succeeded(e) ||
    e.externalId === null ||
    role.noExternalId ||
    [current, pending, ...retired].includes(e.externalId)
  )
    return [];
  return [
    finding(
      'unexpected-external-id',
      'critical',
      e,
      role,
      `${caller(e)} assumed ${role.vendor}'s role with an unknown external ID ${maskExternalId(e.externalId)}: the trust policy did not enforce the registered ID`,
    ),
  ];
};

/** A successful assume with an external ID that was rotated out. */
export const retiredExternalId: AssumeRule = (e, role) => {
  if (!succeeded(e) || e.externalId === null || !role.externalIds.retired.includes(e.externalId)) return [];
  return [
    finding(
      'retired-external-id',
      'critical',
      e,
      role,
      `${caller(e)} assumed ${role.vendor}'s role with a retired external ID ${maskExternalId(e.externalId)}: the old ID is still accepted`,
    ),
  ];
};

/**
 * A successful cross-account AssumeRole with no external ID, or any from another account to a role in watch mode
 * (`externalIds: none`). Same-account, SAML and web-identity assumes carry none.
 */
export const missingExternalId: AssumeRule = (e, role) => {
  const watch = role.noExternalId === true;
  if (!succeeded(e) || e.eventName !== 'AssumeRole' || (e.externalId !== null && !watch) || !crossAccount(e)) return [];
  if (watch)
    return [
      finding(
        'missing-external-id',
        'critical',
        e,
        role,
        `${caller(e)} assumed ${role.vendor}'s role from another account${e.externalId === null ? '' : ` with external ID ${maskExternalId(e.externalId)}`}; the role is in watch mode (externalIds: none): its trust policy requires no external ID`,
      ),
    ];
  return [
    finding(
      'missing-external-id',
      'critical',
      e,
      role,
      `${caller(e)} assumed ${role.vendor}'s role from another account without an external ID: the trust policy does not require one`,
    ),
  ];
};

/** A successful assume by an account that is neither trusted for this role nor the role's own. */
export const untrustedAccount: AssumeRule = (e, role) => {
  if (!succeeded(e) || !crossAccount(e) || role.trustedAccounts.includes(e.callerAccountId!)) return [];
  return [
    finding(
      'untrusted-account',
      'critical',
      e,
      role,
      `account ${e.callerAccountId} assumed ${role.vendor}'s role but is not among its trusted accounts (${role.trustedAccounts.join(', ')})`,
    ),
  ];
};

/** The vendor itself: an account of `trustedAccounts` (not the role's own) presenting the current or pending ID. */
export function isVendorAssume(e: AssumeEvent, role: RegisteredRole, pendingId: string | null = null): boolean {
  const accepted = [role.externalIds.current, role.externalIds.pending, pendingId].filter((id) => id !== null);
  return (
    crossAccount(e) &&
    role.trustedAccounts.includes(e.callerAccountId!) &&
    e.externalId !== null &&
    accepted.includes(e.externalId)
  );
}

/**
 * A successful assume by a caller whose session on this role roleguard revoked at `revokedAt`, issued after that
 * revocation: revocation does not stop a new assume, so the caller is back (not a rule of the registry alone: the
 * pipeline supplies the revocation it remembers). Cross-account, the caller is known only by the vendor's principal,
 * which an attacker using the vendor's platform shares: the vendor's own assume (a trusted account with the current
 * or pending ID) is not a finding. A same-account user or role, an untrusted account, or any caller with a wrong,
 * retired or no ID is.
 */
export function assumedAfterRevocation(e: AssumeEvent, role: RegisteredRole, revokedAt: string): Finding[] {
  if (!succeeded(e) || Date.parse(e.issuedAt) < Date.parse(revokedAt) || isVendorAssume(e, role)) return [];
  const id =
    e.externalId === null
      ? 'no external ID'
      : [role.externalIds.current, role.externalIds.pending].includes(e.externalId)
        ? 'the registered external ID'
        : `external ID ${maskExternalId(e.externalId)}`;
  return [
    finding(
      'assumed-after-revocation',
      'high',
      e,
      role,
      `${e.callerArn ?? caller(e)} assumed ${role.vendor}'s role again, with ${id}, after roleguard revoked its session at ${revokedAt}: revocation does not stop a new assume`,
    ),
  ];
}

/** A failed assume of a registered role (visible in the role's account only for same-account callers). */
export const deniedAssume: AssumeRule = (e, role) => {
  if (e.outcome !== 'denied') return [];
  return [
    finding(
      'denied-assume',
      'medium',
      e,
      role,
      `${e.callerArn ?? caller(e)} was denied ${e.eventName} on ${role.vendor}'s role (${e.errorCode})`,
    ),
  ];
};

/** Every assume rule, in the order their findings are reported. */
export const ASSUME_RULES: AssumeRule[] = [
  unexpectedExternalId,
  retiredExternalId,
  missingExternalId,
  untrustedAccount,
  deniedAssume,
];

/** A change to a registered role's trust policy by anyone but the service itself. */
export function trustPolicyChanged(e: TrustPolicyChangeEvent, role: RegisteredRole, index: RegistryIndex): Finding[] {
  if (index.isServicePrincipal(e.callerArn, e.callerIssuerArn)) return [];
  const who = e.callerArn ?? e.callerType;
  const denied = e.outcome === 'denied';
  // Read the new policy as the audit does, so the alert says whether the change opened the door.
  const problems = !denied && e.policyDocument ? analyzeTrustPolicy(e.policyDocument, role.roleArn, role).problems : [];
  const worst = problems.find((p) => p.severity === 'critical') ?? problems[0];
  const verdict = problems.length
    ? `; the new policy has ${problems.length} ${problems.length === 1 ? 'problem' : 'problems'}, e.g. ${worst!.message}`
    : !denied && e.policyDocument
      ? '; the new policy matches the registry'
      : '';
  const context: FindingContext = {
    recipientAccountId: e.recipientAccountId,
    vendor: role.vendor,
    at: e.eventTime,
    callerArn: e.callerArn,
    callerType: e.callerType,
    sourceIpAddress: e.sourceIpAddress,
    roleSessionName: null,
    externalId: null,
    userAgent: e.userAgent,
  };
  return [
    {
      kind: 'trust-policy-changed',
      severity: denied ? 'medium' : problems.some((p) => p.severity === 'critical') ? 'critical' : 'high',
      roleArn: role.roleArn,
      eventId: e.eventId,
      assumedRoleId: null,
      callerAccountId: e.callerAccountId,
      message: denied
        ? `${who} tried to change the trust policy of ${role.vendor}'s role outside roleguard and was denied (${e.errorCode})`
        : `${who} changed the trust policy of ${role.vendor}'s role outside roleguard${verdict}`,
      context,
    },
  ];
}
