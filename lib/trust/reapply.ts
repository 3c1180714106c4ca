import { type NativeAttributeValue, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { parseRoleArn } from '../cloudtrail/arn.js';
import { type AppliedRevocation, applyRevocations } from '../revoke/apply.js';
import type { PolicyDocument, RevocationState } from '../revoke/policy.js';
import type { RevocationDeps } from '../revoke/service.js';
import { type RevocationIntent, untilOf } from '../revoke/store.js';

/** What re-applying a role's revocation policy did (or would do, in a dry run). */
export interface ReapplyOutcome {
  /** The role's revocation policy after it; null when roleguard keeps nothing that still matters for the role. */
  policyDocument: PolicyDocument | null;
  /** IAM was written (false in a dry run, or when IAM already held every kept revocation). */
  written: boolean;
  /** How many revocations (sessions, and the whole role) the policy holds after it. */
  revocations: number;
}

/** Re-applies the revocation policy roleguard keeps for a role (after someone else rewrote or deleted it). */
export type Reapplier = (roleArn: string, now: Date, options: { dryRun: boolean }) => Promise<ReapplyOutcome>;

/** The deployed re-applier: IAM and the revocations table, under the role's lock. */
export function liveReapplier(deps: RevocationDeps): Reapplier {
  return async (roleArn, now, { dryRun }) => {
    // One call, with the signature of lib/revoke's `reapplyRevocationPolicy` (kept state in `policy#<roleArn>`),
    // which replaces it once that is merged.
    const applied = await reapplyKeptIntents(deps, roleArn, now, { dryRun });
    if (!applied) return { policyDocument: null, written: false, revocations: 0 };
    const revocations = applied.state.sessions.length + (applied.state.role ? 1 : 0);
    return { policyDocument: applied.policyDocument, written: applied.written, revocations };
  };
}

/**
 * Re-apply the revocations roleguard keeps for a role: every intent recorded for it (applied, or pending) whose
 * sessions may still live is merged into the role's policy again, under the role's lock, as the sweep applies them.
 * The merge only adds, so whatever the policy holds now, every kept deny is in it afterwards. Null when nothing kept
 * still matters. The intents are found by a filtered scan of the revocations table: tampering is rare, and the table
 * holds little besides intents (finished ones expire after 30 days).
 */
export async function reapplyKeptIntents(
  deps: RevocationDeps,
  roleArn: string,
  now: Date,
  options: { dryRun?: boolean } = {},
): Promise<AppliedRevocation | null> {
  const roleName = parseRoleArn(roleArn)?.roleName;
  if (!roleName) throw new Error(`not a role ARN: ${roleArn}`);
  const additions = (await keptIntents(deps, roleArn))
    .map((i) => i.addition)
    .filter((a) => Date.parse(untilOf(a)) > now.getTime());
  if (additions.length === 0) return null;
  return applyRevocations(
    { iam: deps.iam, dynamo: deps.dynamo, lockTable: deps.store.tableName, lock: deps.lock ?? DEFAULT_LOCK },
    roleName,
    additions,
    now,
    {
      dryRun: options.dryRun ?? false,
      whileLocked: (a) => deps.store.trackPolicy(roleArn, roleName, nextPrune(a.state)),
    },
  );
}

const DEFAULT_LOCK = { leaseMs: 60_000, waitMs: 20_000 };

async function keptIntents(deps: RevocationDeps, roleArn: string): Promise<RevocationIntent[]> {
  const intents: RevocationIntent[] = [];
  let start: Record<string, NativeAttributeValue> | undefined;
  do {
    const page = await deps.dynamo.send(
      new ScanCommand({
        TableName: deps.store.tableName,
        FilterExpression:
          'begins_with(pk, :intent) AND intent.roleArn = :role AND intent.#state IN (:applied, :pending)',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: {
          ':intent': 'intent#',
          ':role': roleArn,
          ':applied': 'applied',
          ':pending': 'pending',
        },
        ExclusiveStartKey: start,
      }),
    );
    for (const item of page.Items ?? []) intents.push(item.intent as RevocationIntent);
    start = page.LastEvaluatedKey;
  } while (start);
  return intents;
}

function nextPrune(state: RevocationState): string | null {
  const times = [...state.sessions.map((s) => s.pruneAfter), ...(state.role ? [state.role.pruneAfter] : [])];
  return times.length ? times.reduce((a, b) => (Date.parse(a) <= Date.parse(b) ? a : b)) : null;
}
