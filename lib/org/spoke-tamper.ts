/**
 * The spoke's own roles in a member account (the spoke role `roleguard-<stage>-spoke` and the forwarder roles
 * `roleguard-<stage>-forwarder-<region>`) are written only by their StackSet. Any other IAM write on them is a
 * finding: an account admin who edits the spoke role's trust, or deletes and creates it again, could otherwise
 * assume it with a `roleguard-*` session name and have their IAM writes taken for roleguard's own; one who edits a
 * forwarder role could stop the account's events reaching the hub. The alert goes through the outbox, as coverage
 * gaps do (the role is no registered vendor role).
 */
import { deliverAlert, nextStepFor } from '../alert/index.js';
import type { RoleChangeEvent, TrustPolicyChangeEvent } from '../cloudtrail/types.js';
import type { Deps } from '../deps.js';
import type { Finding } from '../detect/types.js';
import { partitionOf } from './coverage-finding.js';

type IamWrite = TrustPolicyChangeEvent | RoleChangeEvent;

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** True for the spoke role, its read role or a forwarder role of the stage whose spoke role is `spokeRoleName`. */
export function isSpokeInfraRole(roleName: string, spokeRoleName: string): boolean {
  if (roleName === spokeRoleName || roleName === `${spokeRoleName}-read`) return true;
  const stage = spokeRoleName.replace(/-spoke$/, '');
  return new RegExp(`^${escapeRegExp(stage)}-forwarder-[a-z0-9-]+$`).test(roleName);
}

/**
 * True when the write was made by a StackSets execution role (service-managed `stacksets-exec-<hash>`, or the
 * self-managed `AWSCloudFormationStackSetExecutionRole`): only StackSets can assume those. A plain CloudFormation
 * stack is not enough: an account admin can run one, import the spoke role into it and change its trust.
 */
export function isStackSetsWrite(e: IamWrite): boolean {
  const issuerRole = e.callerIssuerArn?.split('/').at(-1) ?? '';
  return /^stacksets-exec-[0-9a-f]+$/.test(issuerRole) || issuerRole === 'AWSCloudFormationStackSetExecutionRole';
}

const eventNameOf = (e: IamWrite) => (e.kind === 'trust-policy-change' ? 'UpdateAssumeRolePolicy' : e.eventName);

/** The finding of an IAM write on a spoke role by anyone but StackSets, or null. */
export function spokeTamperFinding(e: IamWrite, spokeRoleName: string): Finding | null {
  if (!isSpokeInfraRole(e.roleName, spokeRoleName) || isStackSetsWrite(e)) return null;
  const who = e.callerArn ?? e.callerType;
  const name = eventNameOf(e);
  const what = e.roleName.startsWith(spokeRoleName) ? 'spoke role' : 'forwarder role';
  const via = e.sourceIpAddress === 'cloudformation.amazonaws.com' ? ' (through CloudFormation)' : '';
  const message =
    e.outcome === 'denied'
      ? `${who} tried ${name} on roleguard's ${what} ${e.roleName} in account ${e.recipientAccountId} and was denied (${e.errorCode})`
      : `${who} ran ${name} on roleguard's ${what} ${e.roleName} in account ${e.recipientAccountId} outside its StackSet${via}: ${
          what === 'spoke role'
            ? "whoever can assume it now may pass for roleguard's own principals there; check its trust policy and policies and update the StackSet instance"
            : "the account's events may no longer reach the hub; update the StackSet instance"
        } (a deployment of the management account's spoke stacks, roleguard org bootstrap-management, also shows here)`;
  return {
    kind: 'trust-policy-changed',
    severity: e.outcome === 'denied' ? 'medium' : 'high',
    roleArn: `arn:${partitionOf(e.awsRegion ?? 'us-east-1')}:iam::${e.recipientAccountId}:role/${e.roleName}`,
    eventId: e.eventId,
    assumedRoleId: null,
    callerAccountId: e.callerAccountId,
    message,
    context: {
      recipientAccountId: e.recipientAccountId,
      vendor: 'roleguard',
      at: e.eventTime,
      callerArn: e.callerArn,
      callerType: e.callerType,
      sourceIpAddress: e.sourceIpAddress,
      roleSessionName: null,
      externalId: null,
      userAgent: e.userAgent,
    },
  };
}

/**
 * Alert an IAM write on a spoke role (stored in the outbox before it is sent, once per event). In a dry run
 * (replay) nothing is sent: the finding is logged. Returns the finding, or null when the write is not one.
 */
export async function spokeTamperStep(e: IamWrite, deps: Deps, options: { dryRun?: boolean } = {}) {
  const spokeRoleName = deps.config.spokeRoleName;
  const finding = spokeRoleName ? spokeTamperFinding(e, spokeRoleName) : null;
  if (!finding) return null;
  deps.logger.warn('IAM write on a roleguard spoke role outside its StackSet', {
    roleArn: finding.roleArn,
    eventId: finding.eventId,
    caller: finding.context.callerArn,
  });
  if (options.dryRun) return finding;
  const now = deps.now();
  const admission = await deps.alerts.outbox.admit(
    finding,
    { action: 'Alerted only: roleguard never writes its own roles.', nextStep: nextStepFor(finding) },
    { now, windowSeconds: deps.config.alertWindowSeconds, channels: deps.alerts.channels },
  );
  if (admission.status === 'new') await deliverAlert(admission.alert, deps.alerts, now);
  return finding;
}
