import type { AssumeEvent, RoleChangeEvent } from '../cloudtrail/types.js';
import type { RegisteredRole, RegistryIndex } from '../registry/index.js';
import type { RoleIdSighting } from '../registry/role-ids.js';
import { REVOCATION_POLICY_NAME } from '../revoke/policy.js';
import { analyzeTrustPolicy } from '../trust/analyze.js';
import { finding } from './rules.js';
import type { Finding, FindingContext, FindingKind, Severity } from './types.js';

function roleFinding(
  kind: FindingKind,
  severity: Severity,
  e: RoleChangeEvent,
  role: RegisteredRole,
  message: string,
): Finding {
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
  return {
    kind,
    severity,
    roleArn: role.roleArn,
    eventId: e.eventId,
    assumedRoleId: null,
    callerAccountId: e.callerAccountId,
    message,
    context,
  };
}

const who = (e: RoleChangeEvent) => e.callerArn ?? e.callerType;
const seen = (s: RoleIdSighting | null) => (s ? `RoleId ${s.roleId}, last seen ${s.seenAt}` : 'no RoleId on record');

/**
 * `PutRolePolicy` or `DeleteRolePolicy` of roleguard's revocation policy on a registered role, by anyone but roleguard
 * (its `serviceRoleArns` and own roles): the denies it held may be gone, so revoked sessions work again. A denied
 * attempt changed nothing: medium.
 */
export function revocationTampered(e: RoleChangeEvent, role: RegisteredRole, index: RegistryIndex): Finding[] {
  if (
    e.policyName !== REVOCATION_POLICY_NAME ||
    (e.eventName !== 'PutRolePolicy' && e.eventName !== 'DeleteRolePolicy')
  )
    return [];
  if (index.isServicePrincipal(e.callerArn, e.callerIssuerArn)) return [];
  const did = e.eventName === 'PutRolePolicy' ? 'rewrote' : 'deleted';
  if (e.outcome === 'denied')
    return [
      roleFinding(
        'revocation-tampered',
        'medium',
        e,
        role,
        `${who(e)} tried to ${did === 'rewrote' ? 'rewrite' : 'delete'} roleguard's ${REVOCATION_POLICY_NAME} policy on ${role.vendor}'s role and was denied (${e.errorCode})`,
      ),
    ];
  return [
    roleFinding(
      'revocation-tampered',
      'critical',
      e,
      role,
      `${who(e)} ${did} roleguard's ${REVOCATION_POLICY_NAME} policy on ${role.vendor}'s role outside roleguard: sessions roleguard revoked may work again`,
    ),
  ];
}

/**
 * `DeleteRole` or `CreateRole` of a registered role, whoever ran it: a role created again under the name has a new
 * RoleId, so roleguard's denies (which name the old one) no longer match its sessions, and a new trust policy. A
 * denied attempt changed nothing: medium.
 */
export function roleRecreated(e: RoleChangeEvent, role: RegisteredRole, earlier: RoleIdSighting | null): Finding[] {
  if (e.eventName !== 'DeleteRole' && e.eventName !== 'CreateRole') return [];
  const verb = e.eventName === 'DeleteRole' ? 'delete' : 'create';
  if (e.outcome === 'denied')
    return [
      roleFinding(
        'role-recreated',
        'medium',
        e,
        role,
        `${who(e)} tried to ${verb} ${role.vendor}'s role and was denied (${e.errorCode})`,
      ),
    ];
  if (e.eventName === 'DeleteRole')
    return [
      roleFinding(
        'role-recreated',
        'critical',
        e,
        role,
        `${who(e)} deleted ${role.vendor}'s role (${seen(earlier)}): a role created again under its name gets a new RoleId and trust policy, and roleguard's revocations do not carry over`,
      ),
    ];
  const problems = e.trustPolicy ? analyzeTrustPolicy(e.trustPolicy, role.roleArn, role).problems : [];
  const verdict = problems.length
    ? `; its trust policy has ${problems.length} ${problems.length === 1 ? 'problem' : 'problems'}, e.g. ${problems[0]!.message}`
    : e.trustPolicy
      ? '; its trust policy matches the registry'
      : '';
  const id = e.roleId ? `RoleId ${e.roleId}` : 'a new RoleId';
  return [
    roleFinding(
      'role-recreated',
      'critical',
      e,
      role,
      `${who(e)} created ${role.vendor}'s role again with ${id} (${seen(earlier)}): roleguard's earlier denies no longer match its sessions${verdict}`,
    ),
  ];
}

/** Sessions of a registered role carry another RoleId than the one on record: the role was deleted and created again. */
export function roleIdChanged(
  e: AssumeEvent,
  role: RegisteredRole,
  roleId: string,
  earlier: RoleIdSighting,
): Finding[] {
  return [
    finding(
      'role-recreated',
      'critical',
      e,
      role,
      `sessions of ${role.vendor}'s role now carry RoleId ${roleId}, not ${earlier.roleId} (last seen ${earlier.seenAt}): the role was deleted and created again, so roleguard's earlier denies no longer match it and its trust policy is new`,
    ),
  ];
}
