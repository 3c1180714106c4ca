import { deliverAlert, nextStepFor } from '../alert/index.js';
import type { Deps } from '../deps.js';
import type { Gap, GapSource } from './coverage.js';
import { gapFinding } from './coverage-finding.js';

/** What the sync or the canary did about a gap, in words, for the alert. */
const ACTION: Record<GapSource, string> = {
  deploy: 'Alerted only: the account sync found the spokes of this account and Region missing or failed.',
  canary:
    'Alerted only: the canary keeps assuming the spoke role here every run; the gap closes when its event arrives.',
};

/**
 * Alert a gap through the outbox, as findings are: stored before it is sent, once per gap (the finding's event id
 * names the gap and when it opened), merged with repeats in the alert window, retried by the sweep. Returns what the
 * outbox made of it.
 */
export async function alertGap(
  cell: { account: string; region: string },
  source: GapSource,
  gap: Gap,
  deps: Deps,
  spokeRoleName: string,
  now: Date,
): Promise<'new' | 'merged' | 'duplicate'> {
  const finding = gapFinding(cell, source, gap, spokeRoleName);
  const admission = await deps.alerts.outbox.admit(
    finding,
    { action: ACTION[source], nextStep: nextStepFor(finding) },
    { now, windowSeconds: deps.config.alertWindowSeconds, channels: deps.alerts.channels },
  );
  if (admission.status === 'new') await deliverAlert(admission.alert, deps.alerts, now);
  return admission.status;
}
