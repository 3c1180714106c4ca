import type { AssumeEvent } from '../cloudtrail/types.js';
import type { Deps } from '../deps.js';
import type { Finding } from '../detect/types.js';
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
