import type { Finding } from '../detect/types.js';
import type { RegisteredRole } from '../registry/types.js';
import { nextStepFor } from './advice.js';
import { type DeliveryDeps, deliverAlert } from './deliver.js';
import type { Alert, Channel } from './types.js';

/** An action in the replay report (contract §2). */
export interface Action {
  kind: 'revoke-session' | 'revoke-role' | 'alert';
  roleArn: string;
  eventId: string;
  at: string;
  policyName: string | null;
  policyDocument: unknown;
  applied: boolean;
}

/** How findings are answered. */
export interface AlertResponseOptions {
  now: Date;
  windowSeconds: number;
  channels: Channel[];
  /** Record the alert but send nothing (replay without --apply, or a global dry run). */
  dryRun: boolean;
}

/** What roleguard did about a finding, in words, for the alert. */
export function actionText(role: RegisteredRole, dryRun: boolean): string {
  const base =
    role.response === 'revoke'
      ? 'Alerted only: this role revokes sessions on critical findings about a successful assume, and this is not one.'
      : "Alerted only: this role's response is alert.";
  return dryRun ? `Dry run: nothing was sent or changed. ${base}` : base;
}

/**
 * Store each finding's alert in the outbox before sending it, then deliver the new ones. A redelivered event and
 * a repeat within the merge window create no new alert. Delivery failures stay in the outbox for the sweep. A dry
 * run records its alerts apart from live ones, with no channel to send them on: neither it nor the sweep sends them.
 */
export async function respondToFindings(
  findings: { finding: Finding; role: RegisteredRole; action?: string; policy?: Alert['policy'] }[],
  deps: DeliveryDeps,
  options: AlertResponseOptions,
): Promise<{ actions: Action[]; duplicates: Set<Finding> }> {
  const actions: Action[] = [];
  const duplicates = new Set<Finding>();
  for (const { finding, role, action, policy } of findings) {
    const admission = await deps.outbox.admit(
      finding,
      {
        action: action ?? actionText(role, options.dryRun),
        nextStep: nextStepFor(finding),
        ...(policy ? { policy } : {}),
      },
      { now: options.now, windowSeconds: options.windowSeconds, channels: options.channels, dryRun: options.dryRun },
    );
    if (admission.status === 'duplicate') duplicates.add(finding);
    if (admission.status !== 'new') continue;
    const { delivered } = options.dryRun
      ? { delivered: false }
      : await deliverAlert(admission.alert, deps, options.now);
    actions.push({
      kind: 'alert',
      roleArn: finding.roleArn,
      eventId: finding.eventId,
      at: options.now.toISOString(),
      policyName: null,
      policyDocument: null,
      applied: delivered,
    });
  }
  return { actions, duplicates };
}
