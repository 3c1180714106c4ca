import { randomBytes } from 'node:crypto';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { Deps } from '../deps.js';
import { type CoverageCell, canaryDecision } from './coverage.js';
import { alertGap } from './coverage-alert.js';
import type { CoverageConfig } from './coverage-config.js';
import { canarySessionName, spokeRoleArn } from './coverage-finding.js';
import { createCoverageStore } from './coverage-store.js';

/** Assume a role through one Region's STS endpoint; throws what STS answered. */
export type RegionalAssume = (region: string, roleArn: string, sessionName: string) => Promise<void>;

/**
 * The canary's assume: through the Region's own STS endpoint (the SDK's default for a client of that Region), so that
 * the event is logged in that Region, for the shortest session STS issues; the credentials are not used.
 */
export function stsRegionalAssume(client: (region: string) => STSClient = cachedClients()): RegionalAssume {
  return async (region, roleArn, sessionName) => {
    await client(region).send(
      new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: sessionName, DurationSeconds: 900 }),
    );
  };
}

function cachedClients(): (region: string) => STSClient {
  const clients = new Map<string, STSClient>();
  return (region) => {
    const client = clients.get(region) ?? new STSClient({ region, maxAttempts: 3 });
    clients.set(region, client);
    return client;
  };
}

/** A fresh canary id (hex, in the session name). */
export const newCanaryId = () => randomBytes(5).toString('hex');

/** What one canary run did. */
export interface CanaryResult {
  cells: number;
  sent: number;
  waiting: number;
  timedOut: number;
  failed: number;
  alerted: number;
}

/** How many assumes the canary has in flight at once. */
const CONCURRENCY = 8;

/**
 * The scheduled canary. For each covered account × Region (expected by the last sync, spokes deployed): a canary
 * still out past `canaryTimeoutMinutes` opens a `coverage-gap`; then, unless one is still within its time, a new one
 * is recorded and sent: an assume of the account's spoke role through that Region's STS endpoint, session name
 * `roleguard-canary-<id>`. Its owner's copy, back on the hub, marks it arrived and closes the gap (lib/pipeline.ts).
 * STS refusing the assume (AccessDenied: the spoke is missing, or an SCP) is a gap at once, with STS's reason.
 * The canary is recorded before the assume, so that its event cannot arrive before roleguard knows its id.
 */
export async function runCanary(
  deps: Deps,
  coverage: CoverageConfig,
  assume: RegionalAssume,
  now: Date,
  newId: () => string = newCanaryId,
): Promise<CanaryResult> {
  const store = createCoverageStore(deps.clients.dynamo, deps.config.registryTable);
  // Without an organization, the hub's home Region is watched by the hub's own rule on its default bus: no spoke
  // role to assume there (a single-account hub deploys none), so no canary.
  const ownRule = (c: CoverageCell) =>
    !coverage.orgId && c.account === coverage.hubAccountId && c.region === coverage.homeRegion;
  const cells = (await store.list()).filter((c) => c.expected && !c.gaps.deploy && !ownRule(c));
  const result: CanaryResult = { cells: cells.length, sent: 0, waiting: 0, timedOut: 0, failed: 0, alerted: 0 };
  const at = now.toISOString();
  const gap = async (cell: CoverageCell, reason: string) => {
    const opened = await store.openGap(cell.account, cell.region, 'canary', reason, at);
    if ((await alertGap(cell, 'canary', opened, deps, coverage.spokeRoleName, now)) === 'new') result.alerted++;
  };
  const one = async (cell: CoverageCell) => {
    const decision = canaryDecision(cell, now, coverage.canaryTimeoutMinutes);
    if (decision.timedOut) {
      result.timedOut++;
      await gap(cell, decision.timedOut);
    }
    if (!decision.send) {
      result.waiting++;
      return;
    }
    const id = newId();
    const roleArn = spokeRoleArn(cell.account, cell.region, coverage.spokeRoleName);
    await store.canarySent(cell, id, at, null);
    try {
      await assume(cell.region, roleArn, canarySessionName(id));
      result.sent++;
    } catch (error) {
      const e = error as Error;
      // An STS answer (AccessDenied, RegionDisabledException…) is the gap's reason; anything else fails the run.
      if (!(e as { $metadata?: unknown }).$metadata) throw error;
      const reason = `STS refused the canary's assume of ${roleArn} in ${cell.region}: ${e.name}: ${e.message}`;
      result.failed++;
      await store.canarySent(cell, id, at, reason);
      await gap(cell, reason);
    }
  };
  const queue = [...cells];
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, queue.length) }, async () => {
      for (let cell = queue.shift(); cell; cell = queue.shift()) await one(cell);
    }),
  );
  return result;
}
