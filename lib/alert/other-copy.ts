import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { AssumeEvent } from '../cloudtrail/types.js';
import type { Deps } from '../deps.js';
import type { Finding } from '../detect/types.js';
import { sharedSessionKey } from '../sessions/item.js';
import { addCallerArnToFinding } from './outbox.js';

/**
 * The other copy of a cross-account assume decides nothing, but when it names the caller (the caller's copy, after
 * the role owner's decided) its ARN is added to the alert of each finding the deciding copy raised: the same kinds,
 * since both copies carry the same request. Nothing to do for a copy without an ARN, or one that raised no finding.
 */
export async function addCallerToDecidedFindings(
  event: AssumeEvent,
  decided: Pick<AssumeEvent, 'recipientAccountId' | 'eventId'>,
  findings: Finding[],
  deps: Pick<Deps, 'clients' | 'config' | 'logger'>,
  dryRun: boolean,
): Promise<void> {
  if (!event.callerArn || findings.length === 0) return;
  for (const kind of new Set(findings.map((f) => f.kind)))
    if (
      await addCallerArnToFinding(
        deps.clients.dynamo,
        deps.config.alertsTable,
        { ...decided, kind },
        event.callerArn,
        dryRun,
      )
    )
      deps.logger.info("caller's ARN added to the finding from the other account's copy", {
        eventId: decided.eventId,
        kind,
        otherCopyEventId: event.eventId,
      });
}

/**
 * The deciding copy's half of the same hand-over: the other copy adds the caller's ARN to the session item first and
 * then looks for the decided alert, which may not be admitted yet (the deciding copy still at work, e.g. waiting for
 * the role's lock). So the deciding copy, once its alerts are admitted, reads the session item (consistently): one
 * of the two always sees the other's write. Only where the other copy can come at all: a hub of an organization, a
 * copy without the caller's ARN (the role owner's) that raised findings. Outside an organization no call is made.
 */
export async function catchUpCallerArn(
  event: AssumeEvent,
  findings: Finding[],
  deps: Pick<Deps, 'clients' | 'config' | 'logger'>,
  dryRun: boolean,
): Promise<void> {
  if (dryRun || !deps.config.orgId || event.callerArn || !event.sharedEventId || findings.length === 0) return;
  const item = (
    await deps.clients.dynamo.send(
      new GetCommand({
        TableName: deps.config.sessionsTable,
        Key: { pk: sharedSessionKey(event.sharedEventId) },
        ConsistentRead: true,
      }),
    )
  ).Item;
  if (!item || item.recipientAccountId !== event.recipientAccountId || item.eventId !== event.eventId) return;
  if (typeof item.callerArn !== 'string' || !item.callerArn) return;
  await addCallerToDecidedFindings({ ...event, callerArn: item.callerArn }, event, findings, deps, false);
}
