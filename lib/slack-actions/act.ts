import type { Logger } from '@aws-lambda-powertools/logger';
import type { Outbox, StoredAlert } from '../alert/outbox.js';
import type { RegisteredRole, Registry, RegistryIndex } from '../registry/index.js';
import type { ManualOutcome, ManualRevocation } from '../revoke/manual.js';
import { protectedReason, type Revoker } from '../revoke/respond.js';
import type { RotationResult } from '../rotate/machine.js';
import type { SessionStore } from '../sessions/index.js';
import { actionLabel, actionsFor } from './buttons.js';
import { DECISION_LEASE_MS, type DecisionStore } from './decisions.js';
import { ephemeralNote, type SlackReply, updatedAlertMessage } from './message.js';
import { carryOut } from './perform.js';
import type { Decision, SlackActionRequest } from './types.js';

/** What the action function needs; built once per cold start. */
export interface ActionDeps {
  outbox: Pick<Outbox, 'get' | 'acknowledge'>;
  registry: () => Promise<RegistryIndex>;
  decisions: DecisionStore;
  /** Manual revocation (lib/revoke/manual.ts): the same intents, lock and policy code as automatic revocation. */
  revoke: (request: ManualRevocation) => Promise<ManualOutcome>;
  /** Revoke one recorded session: the automatic path's revoker (lib/revoke/service.ts liveRevoker). */
  revokeSession: Revoker['revokeSession'];
  sessions: Pick<SessionStore, 'byRole'>;
  /** Start an external-ID rotation (lib/rotate: the same state machine as the schedule). */
  rotate: (role: RegisteredRole, registry: Registry, requestedBy: string, now: Date) => Promise<RotationResult>;
  /** Post to the click's response_url. */
  reply: (responseUrl: string, message: SlackReply) => Promise<void>;
  config: { dryRun: boolean; ownRoleArns: string[] };
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  now: () => Date;
}

/** A click whose action is claimed by a run still `started`: thrown so that Lambda retries the invoke later. */
export class DecisionInProgress extends Error {
  override name = 'DecisionInProgress';
  constructor(
    readonly decision: Decision,
    leaseMs: number,
  ) {
    super(
      `${decision.decisionId} is still started (since ${decision.at}); retried later, taken back after ${leaseMs / 1000} s`,
    );
  }
}

/** Who may act on a role's findings: the registry's global approvers, and the role's own. */
export function isApprover(userId: string, registry: Registry, role: RegisteredRole): boolean {
  return (registry.approvers ?? []).includes(userId) || (role.approvers ?? []).includes(userId);
}

/**
 * Carry out a click. The action is rebuilt from the stored finding: the clicker must be an approver of its role,
 * the finding must call for the action, the role must not be protected. The decision is claimed once per finding
 * and action, so a double click or a retry acts once. The outcome is recorded, then the message is updated (a
 * failure to update it is logged, not thrown: the decision stands).
 */
export async function performSlackAction(request: SlackActionRequest, deps: ActionDeps): Promise<Decision> {
  const now = deps.now();
  const alert = await deps.outbox.get(request.alertId);
  const finding = alert?.finding ?? null;
  const base = {
    alertId: request.alertId,
    action: request.action,
    userId: request.userId,
    userName: request.userName,
    at: now.toISOString(),
    roleArn: finding?.roleArn ?? null,
    findingKind: finding?.kind ?? null,
    eventId: finding?.eventId ?? null,
  };
  // Once the decision is recorded, a reply Slack does not take is logged, not thrown: a retry would change nothing.
  const reply = async (message: SlackReply, decision: Decision) => {
    try {
      await deps.reply(request.responseUrl, message);
    } catch (error) {
      deps.logger.warn('Cannot update the Slack message; the decision is recorded', {
        ...base,
        decisionId: decision.decisionId,
        status: decision.status,
        error: error as Error,
      });
    }
  };
  const refuse = async (why: string): Promise<Decision> => {
    const decision = await deps.decisions.refuse({ ...base, outcome: why });
    deps.logger.warn('Slack action refused', { ...base, reason: why });
    await reply(ephemeralNote(`:no_entry: ${actionLabel(request.action)}: ${why}`), decision);
    return decision;
  };
  // A dry run's alert was never sent: a click on it can only be forged.
  if (!alert || alert.dryRun) return refuse(`roleguard has no finding ${request.alertId}.`);
  const index = await deps.registry();
  const role = index.roleFor(alert.finding.roleArn);
  if (!role) return refuse(`${alert.finding.roleArn} is not in the registry any more.`);
  if (!isApprover(request.userId, index.registry, role))
    return refuse(`you are not an approver for ${role.roleArn}; ask one, or add your Slack user ID to the registry.`);
  if (!actionsFor(alert).includes(request.action))
    return refuse(`this ${alert.finding.kind} finding does not call for it.`);
  const refused = protectedReason(role.roleArn, index.registry, deps.config.ownRoleArns);
  if (refused && request.action !== 'acknowledge')
    return refuse(`${role.roleArn} is protected (${refused}); roleguard never acts on it.`);

  const claimed = await deps.decisions.claim(base, now);
  if ('taken' in claimed) {
    const taken = claimed.taken;
    // Still being carried out, or left `started` by a crash: thrown, so that Lambda tries again later; once the
    // lease has run out the claim is taken back (lib/slack-actions/decisions.ts), and the action done.
    if (taken.status === 'started') throw new DecisionInProgress(taken, DECISION_LEASE_MS);
    deps.logger.info('Slack action already decided', { ...base, decisionId: taken.decisionId, status: taken.status });
    await reply(
      ephemeralNote(`Already decided by <@${taken.userId}> at ${taken.at} (${taken.status}): ${taken.outcome}`),
      taken,
    );
    return taken;
  }
  let decision: Decision;
  try {
    decision = await deps.decisions.settle(claimed, await carryOut(request, alert as StoredAlert, role, index, deps));
  } catch (error) {
    // An AWS failure: recorded as failed (a new click may try again), and thrown so that Lambda retries the invoke.
    const failed = await deps.decisions.settle(claimed, {
      status: 'failed',
      outcome: `failed: ${(error as Error).message}`,
    });
    deps.logger.error('Slack action failed', { ...base, error: error as Error });
    await reply(updatedAlertMessage(alert, failed, await decided(alert, deps)), failed);
    throw error;
  }
  deps.logger.info('Slack action decided', { ...base, status: decision.status, outcome: decision.outcome });
  await reply(updatedAlertMessage(alert, decision, await decided(alert, deps)), decision);
  return decision;
}

/** The actions already decided on the alert, for the buttons to redraw; when it cannot be read, none (logged). */
async function decided(alert: StoredAlert, deps: Pick<ActionDeps, 'decisions' | 'logger'>) {
  try {
    return await deps.decisions.decided(alert.alertId);
  } catch (error) {
    deps.logger.warn('Cannot read the decisions of the alert; its buttons are redrawn as they were', {
      alertId: alert.alertId,
      error: error as Error,
    });
    return [];
  }
}
